"""The routes document: ``{"routes": [...]}``, as the core writes it and egress reads it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .model import Route, RouteProblem
from .schema import parse_route, route_to_json
from .wording import describe, unknown_key_message

__all__ = [
    "duplicate_hosts",
    "load_routes",
    "parse_routes",
    "read_routes",
    "routes_digest",
    "routes_document",
]


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


def parse_routes(data: object) -> tuple[tuple[Route, ...], list[RouteProblem]]:
    """A routes document ``{"routes": [...]}``: the routes, or every problem found."""
    problems: list[RouteProblem] = []
    if not isinstance(data, dict):
        return (), [RouteProblem((), "the top level must be a mapping with a 'routes' list")]
    for key in data:
        if key != "routes":
            problems.append(RouteProblem((str(key),), unknown_key_message(key, ("routes",))))
    items = data.get("routes")
    if not isinstance(items, list):
        problems.append(
            RouteProblem(("routes",), f"'routes' must be a list, got {describe(items)}")
        )
        return (), problems
    routes: list[Route | None] = []
    for i, item in enumerate(items):
        route, found = parse_route(item)
        problems += [RouteProblem(("routes", i, *p.at), p.message) for p in found]
        routes.append(route)
    if problems:
        # How routes relate is checked once each is valid, as config check does.
        return (), problems
    valid = tuple(r for r in routes if r is not None)
    for i, first in duplicate_hosts([r.host for r in valid]):
        problems.append(
            RouteProblem(
                ("routes", i, "host"),
                f"duplicate host {valid[i].host!r}: already routed by routes[{first}]; merge"
                " the two routes",
            )
        )
    return ((), problems) if problems else (valid, [])


def routes_document(routes: Iterable[Route]) -> dict[str, object]:
    return {"routes": [route_to_json(r) for r in routes]}


def routes_digest(data: bytes) -> str:
    """The identity of one version of a routes file (egress reports the one it serves)."""
    return hashlib.sha256(data).hexdigest()


def read_routes(path: str | os.PathLike[str]) -> tuple[tuple[Route, ...], str]:
    """Read and check a routes file: its routes and :func:`routes_digest` of the bytes read.

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
    routes, problems = parse_routes(data)
    if problems:
        raise ValueError("; ".join(f"{p}: {pr.where()}: {pr.message}" for pr in problems))
    return routes, routes_digest(raw)


def load_routes(path: str | os.PathLike[str]) -> tuple[Route, ...]:
    """Read and check a routes file. ``ValueError`` names the file and every problem."""
    return read_routes(path)[0]
