"""Running bottles and leftovers, from one ``machine ls --json`` and the port leases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.hookspecs import Progress
from bot_bottle_core.plan import ActiveBottle, CleanupItem, CleanupOutcome

from . import names
from .leases import Leases
from .smolvm_cli import Machine, Smolvm, SmolvmError

KIND_MACHINE = "machine"
KIND_LEASE = "port lease"


def active_bottles(machines: Iterable[Machine]) -> list[ActiveBottle]:
    """One entry per live machine of this backend (running, or up but not answering),
    sorted by slug."""
    active = []
    for m in machines:
        slug = m.labels.get(names.LABEL_SLUG)
        if not (names.is_mine(m.labels) and slug and m.live):
            continue
        active.append(
            ActiveBottle(
                backend=names.BACKEND,
                slug=slug,
                agent=m.labels.get(names.LABEL_AGENT, "?"),
                label=m.labels.get(names.LABEL_LABEL),
                started_at=m.labels.get(names.LABEL_STARTED),
            )
        )
    return sorted(active, key=lambda b: b.slug)


def leftovers(
    machines: Iterable[Machine],
    leases: Leases,
    live: frozenset[str],
    preserved: frozenset[str],
    home: str | None,
) -> list[CleanupItem]:
    """This backend's machines of ``home`` neither live nor kept for ``resume`` (a
    machine's disk holds its workspace); port leases of ``home`` held by no live or kept
    bottle whose start is not still under way."""
    items = []
    keep = live | preserved
    for m in machines:
        slug = m.labels.get(names.LABEL_SLUG)
        if names.is_mine(m.labels) and slug not in keep and names.of_home(m.labels, home):
            items.append(CleanupItem(names.BACKEND, KIND_MACHINE, m.name, slug or None))
    for lease in leases.held():
        # A start under way holds its lease before any machine exists: leave it be.
        if lease.slug in keep or not names.of_home(lease.labels, home):
            continue
        if lease.starter is None or lease.crashed:
            items.append(CleanupItem(names.BACKEND, KIND_LEASE, str(lease.slot), lease.slug))
    return items


def remove(
    cli: Smolvm, leases: Leases, items: Sequence[CleanupItem], progress: Progress
) -> list[CleanupOutcome]:
    """Machines first: a lease is given back only once its machine is gone, so a
    machine that could not be deleted keeps its ports from the next bottle."""
    outcomes = []
    undeleted: set[str | None] = set()
    for item in sorted(items, key=lambda i: i.kind != KIND_MACHINE):
        progress(f"removing smolvm {item.kind} {item.name}")
        try:
            if item.kind == KIND_MACHINE:
                try:
                    cli.delete(item.name)  # already gone counts as removed
                except BotBottleError:
                    undeleted.add(item.slug)
                    raise
            elif item.kind == KIND_LEASE and item.slug is not None and item.name.isdigit():
                if item.slug in undeleted:
                    raise SmolvmError(f"kept: the machine of {item.slug} is still there")
                leases.release_leftover(int(item.name), item.slug)
            else:
                raise SmolvmError(f"unknown kind of leftover: {item.kind} {item.name}")
        except BotBottleError as exc:
            outcomes.append(CleanupOutcome(item, False, str(exc)))
            continue
        outcomes.append(CleanupOutcome(item, True))
    return outcomes
