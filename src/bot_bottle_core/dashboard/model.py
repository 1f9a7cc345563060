"""What one refresh of the dashboard knows: proposals, bottles, problems.

Plain frozen records, so a refresh that found nothing new compares equal to
the one before and the UI leaves its tables alone.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ..proposal_view import one_line
from ..supervision import Pending


@attrs.frozen
class Denial:
    """One request egress refused (from the bottle's decision log)."""

    time: str
    host: str | None
    method: str | None
    path: str | None
    reason: str

    def line(self) -> str:
        what = " ".join(x for x in (self.method, f"{self.host or '?'}{self.path or ''}") if x)
        # The path is the agent's: nothing in it may act on the terminal.
        return one_line(f"{local_clock(self.time)} {what}: {self.reason}")


@attrs.frozen
class AgentRow:
    """One bottle: as its backend lists it, with what this home knows of its launch."""

    backend: str
    slug: str
    agent: str
    label: str | None = None
    started_at: str | None = None
    services: tuple[str, ...] = ()
    # launch_record's status: attached, detached, starting, incomplete (None: no state here).
    status: str | None = None
    last_denial: Denial | None = None
    # False for a launch under way that its backend does not list yet.
    listed: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.label} ({self.agent})" if self.label else self.agent

    @property
    def sidecars(self) -> tuple[str, ...]:
        # The agent container is always there; what differs is what runs beside it.
        return tuple(s for s in self.services if s != "agent")

    @property
    def incomplete(self) -> bool:
        return self.status == "incomplete"


@attrs.frozen
class ProposalGroup:
    """Identical requests (the same route, so the same proposal id) of one or more bottles."""

    items: tuple[Pending, ...]

    @property
    def first(self) -> Pending:
        return self.items[0]

    @property
    def id(self) -> str:
        return self.first.proposal.id

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(i.slug for i in self.items)

    def asks_for(self) -> str:
        p = self.first.proposal
        if p.route is None:
            lines = (p.dockerfile or "").strip().splitlines()
            return f"an image: {len(lines)}-line Dockerfile"
        r = p.route
        paths = " ".join(r.path_allowlist) if r.path_allowlist else "/ (whole host)"
        ports = f" ports {','.join(map(str, r.ports))}" if r.ports else ""
        auth = f" [auth:{r.auth.shown}]" if r.auth else ""
        return f"{r.host} {paths}{ports}{auth}"


def group_pending(items: list[Pending]) -> tuple[ProposalGroup, ...]:
    """One group per proposal id, in the order their first request arrived.

    A proposal's id is a digest of what it asks, so the same route asked by
    several bottles has one id: one answer fits all of them.
    """
    by_id: dict[str, list[Pending]] = {}
    for item in items:  # oldest first (Supervision.listing)
        by_id.setdefault(item.proposal.id, []).append(item)
    return tuple(ProposalGroup(tuple(g)) for g in by_id.values())


@attrs.frozen
class Snapshot:
    groups: tuple[ProposalGroup, ...] = ()
    agents: tuple[AgentRow, ...] = ()
    # Backends that could be asked for their bottles (the [tags] the agents pane shows).
    backends: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def pending_count(self) -> int:
        return sum(g.count for g in self.groups)

    def pending_keys(self) -> frozenset[tuple[str, str]]:
        """(slug, proposal id) of every pending request: what is new is told by these."""
        return frozenset((i.slug, i.proposal.id) for g in self.groups for i in g.items)


def local_clock(iso: str | None) -> str:
    """HH:MM:SS in this machine's time zone of an ISO time, or the text as it came."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso  # another backend's format: shown as it came
