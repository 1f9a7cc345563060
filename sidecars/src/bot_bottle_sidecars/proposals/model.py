"""What an agent asks for (a :class:`Proposal`) and what the operator answers (an :class:`Answer`).

Both travel as JSON files between the supervise sidecar and the operator's side
(:mod:`.store`), so each reads back only what it wrote: :meth:`Proposal.from_json`
and :meth:`Answer.from_json` raise ``ValueError`` for anything else.

A proposal's id is a digest of what is asked (kind and route, or Dockerfile), not of
the justification: the agent asking the same thing again finds the same proposal,
pending or answered, instead of making a second one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot_bottle_sidecars.routes import Route, parse_route, parse_time, route_to_json

__all__ = [
    "APPROVED",
    "MODIFIED",
    "REJECTED",
    "Answer",
    "Kind",
    "Proposal",
    "Status",
    "now_iso",
    "proposal_id",
]

Kind = Literal["egress", "capability"]
Status = Literal["approved", "modified", "rejected"]
APPROVED: Status = "approved"
MODIFIED: Status = "modified"
REJECTED: Status = "rejected"
KINDS: tuple[Kind, ...] = ("egress", "capability")
STATUSES: tuple[Status, ...] = (APPROVED, MODIFIED, REJECTED)
ID_LEN = 10
MAX_TEXT = 64 * 1024  # a justification, a note or a Dockerfile


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def proposal_id(kind: Kind, asked: object) -> str:
    """The id of asking for ``asked`` (a route's JSON form, or a Dockerfile's text)."""
    canonical = json.dumps([kind, asked], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:ID_LEN]


def _text(data: dict, key: str, *, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"'{key}' must be a string of at most {MAX_TEXT} characters")
    return value


def _route(data: dict, key: str) -> Route | None:
    value = data.get(key)
    if value is None:
        return None
    route, problems = parse_route(value)
    if route is None:
        raise ValueError(f"'{key}': " + "; ".join(f"{p.where(key)}: {p.message}" for p in problems))
    return route


def _expiry(data: dict) -> str | None:
    value = _text(data, "expires_at", optional=True)
    if value is not None:
        try:
            parse_time(value)
        except ValueError:
            raise ValueError("'expires_at' must be an ISO time with its zone") from None
    return value


def _object(data: object) -> dict:
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


@dataclass(frozen=True)
class Proposal:
    id: str
    kind: Kind
    justification: str
    created_at: str
    route: Route | None = None  # egress: the route asked for
    dockerfile: str | None = None  # capability: the image asked for

    @classmethod
    def egress(cls, route: Route, justification: str) -> Proposal:
        return cls(
            id=proposal_id("egress", route_to_json(route)),
            kind="egress",
            justification=justification,
            created_at=now_iso(),
            route=route,
        )

    @classmethod
    def capability(cls, dockerfile: str, justification: str) -> Proposal:
        return cls(
            id=proposal_id("capability", dockerfile),
            kind="capability",
            justification=justification,
            created_at=now_iso(),
            dockerfile=dockerfile,
        )

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "kind": self.kind,
            "justification": self.justification,
            "created_at": self.created_at,
        }
        if self.route is not None:
            out["route"] = route_to_json(self.route)
        if self.dockerfile is not None:
            out["dockerfile"] = self.dockerfile
        return out

    @classmethod
    def from_json(cls, data: object) -> Proposal:
        d = _object(data)
        kind = d.get("kind")
        if kind not in KINDS:
            raise ValueError(f"'kind' must be one of {', '.join(KINDS)}")
        route = _route(d, "route")
        dockerfile = _text(d, "dockerfile", optional=True)
        if kind == "egress" and (route is None or dockerfile is not None):
            raise ValueError("an egress proposal carries a route and no dockerfile")
        if kind == "capability" and (dockerfile is None or route is not None):
            raise ValueError("a capability proposal carries a dockerfile and no route")
        asked = route_to_json(route) if route is not None else dockerfile
        pid = _text(d, "id")
        if pid != proposal_id(kind, asked):
            raise ValueError("'id' does not match what is asked")
        return cls(
            id=pid,
            kind=kind,
            justification=_text(d, "justification") or "",
            created_at=_text(d, "created_at") or "",
            route=route,
            dockerfile=dockerfile,
        )


@dataclass(frozen=True)
class Answer:
    """The operator's decision on one proposal.

    ``applied_at`` is set once the decision has taken effect (the route merged
    and egress told to reload; at once for a rejection): only then does the
    agent hear of it. ``routes_sha256`` is the digest of the routes file the
    approval wrote, which egress reports once it serves it. ``expires_at`` (ISO
    time) limits a granted route in time: it lapses then by itself.
    """

    id: str
    status: Status
    notes: str
    answered_at: str
    route: Route | None = None  # egress approvals: the route granted (the operator's when modified)
    applied_at: str | None = None
    routes_sha256: str | None = None
    expires_at: str | None = None

    @property
    def granted(self) -> bool:
        return self.status != REJECTED

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "status": self.status,
            "notes": self.notes,
            "answered_at": self.answered_at,
            "applied_at": self.applied_at,
        }
        if self.route is not None:
            out["route"] = route_to_json(self.route)
        if self.routes_sha256 is not None:
            out["routes_sha256"] = self.routes_sha256
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at
        return out

    @classmethod
    def from_json(cls, data: object) -> Answer:
        d = _object(data)
        status = d.get("status")
        if status not in STATUSES:
            raise ValueError(f"'status' must be one of {', '.join(STATUSES)}")
        return cls(
            id=_text(d, "id") or "",
            status=status,
            notes=_text(d, "notes") or "",
            answered_at=_text(d, "answered_at") or "",
            route=_route(d, "route"),
            applied_at=_text(d, "applied_at", optional=True),
            routes_sha256=_text(d, "routes_sha256", optional=True),
            expires_at=_expiry(d),
        )
