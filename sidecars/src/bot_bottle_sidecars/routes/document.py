"""The routes document: ``{"routes": [...], "leases": [...]}``, as the core writes it and
egress reads it. ``leases`` (time-limited grants, :mod:`.leases`) may be left out."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .leases import Lease, RoutesFile, parse_lease
from .model import Route, RouteProblem
from .schema import parse_route, route_to_json
from .wording import describe, unknown_key_message

__all__ = [
    "duplicate_hosts",
    "load_routes",
    "parse_document",
    "parse_routes",
    "read_document",
    "read_routes",
    "routes_digest",
    "routes_document",
]

KEYS = ("routes", "leases")


def duplicate_hosts(hosts: Sequence[str | None]) -> list[tuple[int, int]]:
    """(index, index of the first route with the same host) for every repeat."""
    seen: dict[str, int] = {}
    out = []
    for i, host in enumerate(hosts):
        if host is None:
            continue
        if host in seen:
            out.append((i, seen[host]))
        else:
            seen[host] = i
    return out


def parse_document(data: object) -> tuple[RoutesFile | None, list[RouteProblem]]:
    """A routes document: its routes and leases, or every problem found."""
    problems: list[RouteProblem] = []
    if not isinstance(data, dict):
        return None, [RouteProblem((), "the top level must be a mapping with a 'routes' list")]
    for key in data:
        if key not in KEYS:
            problems.append(RouteProblem((str(key),), unknown_key_message(key, KEYS)))
    items = data.get("routes")
    if not isinstance(items, list):
        problems.append(
            RouteProblem(("routes",), f"'routes' must be a list, got {describe(items)}")
        )
        return None, problems
    routes: list[Route | None] = []
    for i, item in enumerate(items):
        route, found = parse_route(item)
        problems += [RouteProblem(("routes", i, *p.at), p.message) for p in found]
        routes.append(route)
    leases: list[Lease] = []
    raw_leases = data.get("leases", [])
    if not isinstance(raw_leases, list):
        problems.append(
            RouteProblem(("leases",), f"'leases' must be a list, got {describe(raw_leases)}")
        )
        raw_leases = []
    for i, item in enumerate(raw_leases):
        lease, found = parse_lease(item)
        problems += [RouteProblem(("leases", i, *p.at), p.message) for p in found]
        if lease is not None:
            leases.append(lease)
    if problems:
        # How routes relate is checked once each is valid, as config check does.
        return None, problems
    valid = tuple(r for r in routes if r is not None)
    for i, first in duplicate_hosts([r.host for r in valid]):
        problems.append(
            RouteProblem(
                ("routes", i, "host"),
                f"duplicate host {valid[i].host!r}: already routed by routes[{first}]; merge"
                " the two routes",
            )
        )
    return (None, problems) if problems else (RoutesFile(valid, tuple(leases)), [])


def parse_routes(data: object) -> tuple[tuple[Route, ...], list[RouteProblem]]:
    """A routes document's own routes (leases aside), or every problem found."""
    doc, problems = parse_document(data)
    return (doc.routes, []) if doc is not None else ((), problems)


def routes_document(routes: Iterable[Route], leases: Iterable[Lease] = ()) -> dict[str, object]:
    out: dict[str, object] = {"routes": [route_to_json(r) for r in routes]}
    leases = list(leases)
    if leases:
        out["leases"] = [lease.to_json() for lease in leases]
    return out


def routes_digest(data: bytes) -> str:
    """The identity of one version of a routes file (egress reports the one it serves)."""
    return hashlib.sha256(data).hexdigest()


def read_document(path: str | os.PathLike[str]) -> tuple[RoutesFile, str]:
    """Read and check a routes file: what it holds and :func:`routes_digest` of the bytes read.

    ``ValueError`` names the file and every problem.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{p}: routes file not found") from None
    except OSError as exc:
        raise ValueError(f"{p}: cannot read routes file: {exc}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: cannot read routes file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON: {exc}") from None
    doc, problems = parse_document(data)
    if doc is None:
        raise ValueError("; ".join(f"{p}: {pr.where()}: {pr.message}" for pr in problems))
    return doc, routes_digest(raw)


def read_routes(path: str | os.PathLike[str]) -> tuple[tuple[Route, ...], str]:
    """The routes a file grants now (leases that hold included) and the file's digest.

    ``ValueError`` names the file and every problem.
    """
    doc, digest = read_document(path)
    return doc.effective(), digest


def load_routes(path: str | os.PathLike[str]) -> tuple[Route, ...]:
    """The routes a file grants now. ``ValueError`` names the file and every problem."""
    return read_routes(path)[0]
