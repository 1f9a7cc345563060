"""Time-limited grants: a route that holds until a moment, then lapses by itself.

A lease sits in the routes file beside the routes (``"leases": [{"route": {...},
"until": "<ISO time with zone>", "proposal": "<id>"}]``), never merged into them,
so its lapse takes back exactly what it gave: a lease on a routed host widens that
host (as :func:`~.merge.merge_route` grants) only while it holds.

Egress serves :meth:`RoutesFile.effective` and wakes at :meth:`RoutesFile.next_lapse`,
so a lease lapses on time with no operator process running; the operator's side
later removes lapsed leases from the file and audits each lapse. Restarting egress
(or resuming the bottle) is safe: a lapsed lease in the file grants nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .merge import merge_route
from .model import Route, RouteProblem
from .schema import parse_route, route_to_json
from .wording import describe, unknown_key_message

__all__ = ["Lease", "RoutesFile", "parse_lease", "parse_time"]

LEASE_KEYS = ("route", "until", "proposal")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with its zone; ``ValueError`` otherwise."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return when


@dataclass(frozen=True)
class Lease:
    route: Route
    until: str  # ISO 8601 with zone, as written
    proposal: str | None = None

    @property
    def until_time(self) -> datetime:
        return parse_time(self.until)

    def holds(self, now: datetime) -> bool:
        return now < self.until_time

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"route": route_to_json(self.route), "until": self.until}
        if self.proposal is not None:
            out["proposal"] = self.proposal
        return out


def parse_lease(obj: object) -> tuple[Lease | None, list[RouteProblem]]:
    if not isinstance(obj, dict):
        return None, [RouteProblem((), f"a lease must be a mapping, got {describe(obj)}")]
    problems = [
        RouteProblem((str(k),), unknown_key_message(k, LEASE_KEYS))
        for k in obj
        if k not in LEASE_KEYS
    ]
    route, found = parse_route(obj.get("route"))
    problems += [RouteProblem(("route", *p.at), p.message) for p in found]
    until = obj.get("until")
    try:
        if not isinstance(until, str):
            raise ValueError
        parse_time(until)
    except ValueError:
        problems.append(
            RouteProblem(
                ("until",), f"'until' must be an ISO time with its zone, got {describe(until)}"
            )
        )
    proposal = obj.get("proposal")
    if proposal is not None and not isinstance(proposal, str):
        problems.append(
            RouteProblem(("proposal",), f"'proposal' must be a string, got {describe(proposal)}")
        )
    if problems or route is None:
        return None, problems
    assert isinstance(until, str)
    return Lease(route, until, proposal), []


@dataclass(frozen=True)
class RoutesFile:
    """What a routes file holds: the routes, and leases on top of them."""

    routes: tuple[Route, ...] = ()
    leases: tuple[Lease, ...] = ()

    def effective(self, now: datetime | None = None) -> tuple[Route, ...]:
        """The routes egress serves at ``now``: the routes, widened by every lease that holds."""
        now = now or datetime.now(UTC)
        routes: Sequence[Route] = self.routes
        for lease in self.leases:
            if lease.holds(now):
                routes = merge_route(routes, lease.route).routes
        return tuple(routes)

    def next_lapse(self, now: datetime | None = None) -> datetime | None:
        """When the next lease that still holds lapses."""
        now = now or datetime.now(UTC)
        times = [lease.until_time for lease in self.leases if lease.holds(now)]
        return min(times) if times else None

    def lapsed(self, now: datetime | None = None) -> tuple[Lease, ...]:
        now = now or datetime.now(UTC)
        return tuple(lease for lease in self.leases if not lease.holds(now))
