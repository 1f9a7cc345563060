"""Running bottles and leftovers: one ``machine ls --json``, the port leases and the
bundles' containers and networks on Docker, cross-referenced by slug."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.hookspecs import Progress
from bot_bottle_core.plan import ActiveBottle, CleanupItem, CleanupOutcome

from . import bundles_on_docker, names
from .bundles_on_docker import Resource
from .leases import Leases
from .smolvm_cli import Machine, Smolvm, SmolvmError

KIND_MACHINE = "machine"
KIND_LEASE = "port lease"
# Containers before the networks they are on; machines before their leases.
ORDER = {
    bundles_on_docker.CONTAINER: 0,
    KIND_MACHINE: 1,
    bundles_on_docker.NETWORK: 2,
    KIND_LEASE: 3,
}


def active_bottles(
    machines: Iterable[Machine], bundles: frozenset[str] = frozenset()
) -> list[ActiveBottle]:
    """One entry per live machine of this backend (running, or up but not answering),
    sorted by slug; ``bundles``: the slugs whose sidecar bundle runs."""
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
                services=("sidecars",) if slug in bundles else (),
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
    bundles: Iterable[Resource] = (),
) -> list[CleanupItem]:
    """This backend's machines of ``home`` neither live nor kept for ``resume`` (a
    machine's disk holds its workspace); port leases of ``home`` held by no live or kept
    bottle whose start is not still under way; bundle containers and networks of ``home``
    whose bottle is not live (a kept bottle's bundle went at its stop: it is remade at
    ``resume``)."""
    items = []
    keep = live | preserved
    for r in bundles:
        if r.slug not in live and names.of_home(r.labels, home):
            items.append(CleanupItem(names.BACKEND, r.kind, r.name, r.slug))
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
    """Bundle containers, then machines, networks and leases: a lease is given back only
    once its machine is gone, so a machine that could not be deleted keeps its ports
    from the next bottle."""
    outcomes = []
    undeleted: set[str | None] = set()
    for item in sorted(items, key=lambda i: ORDER.get(i.kind, len(ORDER))):
        progress(f"removing smolvm {item.kind} {item.name}")
        try:
            if item.kind == KIND_MACHINE:
                try:
                    cli.delete(item.name)  # already gone counts as removed
                except BotBottleError:
                    undeleted.add(item.slug)
                    raise
            elif item.kind in (bundles_on_docker.CONTAINER, bundles_on_docker.NETWORK):
                bundles_on_docker.remove(Resource(item.kind, item.name))
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
