"""Finding and removing leftover containers of this backend."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot_bottle_core.plan import CleanupItem, CleanupOutcome

from . import names
from .container_cli import ContainerCli, ContainerCliError

Progress = Callable[[str], None]
CONTAINER = "container"


def prepare_cleanup(
    cli: ContainerCli, live: frozenset[str], home: str | None = None
) -> list[CleanupItem]:
    """Every container of this backend whose slug is not live and that ``home`` may clean
    up (see :func:`names.of_home`). Containers hold no kept workspace, so a preserved
    bottle's are offered too, as the docker backend's are."""
    items = []
    for c in cli.containers(include_stopped=True):
        if not names.is_mine(c.labels):
            continue
        slug = c.labels.get(names.LABEL_SLUG)
        if slug in live or not names.of_home(c.labels, home):
            continue
        items.append(CleanupItem(names.BACKEND, CONTAINER, c.id, slug or None))
    return items


def cleanup(
    cli: ContainerCli, items: Iterable[CleanupItem], progress: Progress
) -> list[CleanupOutcome]:
    """Force-delete each item; one already gone counts as removed, and one failure is
    reported in its outcome while the rest go on."""
    outcomes = []
    for item in items:
        if item.kind != CONTAINER:
            error = f"the macos-container backend does not make {item.kind}s"
            outcomes.append(CleanupOutcome(item, ok=False, error=error))
            continue
        progress(f"removing container {item.name}")
        try:
            cli.delete(item.name)
        except ContainerCliError as exc:
            outcomes.append(CleanupOutcome(item, ok=False, error=str(exc)))
        else:
            outcomes.append(CleanupOutcome(item, ok=True))
    return outcomes
