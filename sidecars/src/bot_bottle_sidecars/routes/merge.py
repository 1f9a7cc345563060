"""Granting a route the agent asked for: how it joins the live routes (SPEC §7).

* a host not routed yet is appended as granted;
* a routed host (hosts compare case-insensitively: both sides are normalised
  by :func:`~.schema.parse_route`) keeps its route and gains what was asked:
  the union of path prefixes (absent on either side = the whole host) and of
  ports. Its ``auth``, ``methods`` and ``tls_passthrough`` stay as they are:
  the agent never controls how a credential travels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .hosts import normalize_host
from .model import DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, Route

__all__ = ["Merged", "merge_route"]


@dataclass(frozen=True)
class Merged:
    routes: tuple[Route, ...]
    route: Route  # the host's route after the merge
    added: bool  # the host was not routed before
    changed: bool  # the routes differ from before


def _union(old: tuple[str, ...] | None, new: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if old is None or new is None:
        return None  # one side already allows the whole host
    return tuple(dict.fromkeys((*old, *new)))


def _ports(old: tuple[int, ...] | None, new: tuple[int, ...] | None) -> tuple[int, ...] | None:
    if new is None:
        return old  # nothing asked beyond the usual ports, which the route already decides
    base = old if old is not None else (DEFAULT_HTTPS_PORT, DEFAULT_HTTP_PORT)
    return tuple(dict.fromkeys((*base, *new)))


def merge_route(routes: Sequence[Route], asked: Route) -> Merged:
    """``routes`` with ``asked`` granted (see the module docstring)."""
    host = normalize_host(asked.host)
    for i, old in enumerate(routes):
        if normalize_host(old.host) != host:
            continue
        if old.tls_passthrough:
            merged = old  # nothing inside a passed-through connection is looked at
        else:
            merged = replace(
                old,
                path_allowlist=_union(old.path_allowlist, asked.path_allowlist),
                ports=_ports(old.ports, asked.ports),
            )
        out = (*routes[:i], merged, *routes[i + 1 :])
        return Merged(tuple(out), merged, added=False, changed=merged != old)
    new = replace(asked, host=host)
    return Merged((*routes, new), new, added=True, changed=True)
