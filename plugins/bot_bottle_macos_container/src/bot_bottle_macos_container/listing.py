"""Running bottles of this backend, from one ``container list`` call."""

from __future__ import annotations

from collections.abc import Iterable

from bot_bottle_core.plan import ActiveBottle

from . import names
from .records import Container


def active_bottles(containers: Iterable[Container]) -> list[ActiveBottle]:
    """One entry per slug that has a live agent container of this backend, by slug."""
    by_slug: dict[str, list[Container]] = {}
    for c in containers:
        slug = c.labels.get(names.LABEL_SLUG)
        if c.live and names.is_mine(c.labels) and slug:
            by_slug.setdefault(slug, []).append(c)
    active = []
    for slug, group in sorted(by_slug.items()):
        agent = next((c for c in group if c.labels.get(names.LABEL_ROLE) == names.ROLE_AGENT), None)
        if agent is None:
            continue
        sidecars = any(c.labels.get(names.LABEL_ROLE) == names.ROLE_SIDECARS for c in group)
        active.append(
            ActiveBottle(
                backend=names.BACKEND,
                slug=slug,
                agent=agent.labels.get(names.LABEL_AGENT, "?"),
                label=agent.labels.get(names.LABEL_LABEL),
                services=("sidecars",) if sidecars else (),
                started_at=agent.labels.get(names.LABEL_STARTED) or agent.started_at,
            )
        )
    return active
