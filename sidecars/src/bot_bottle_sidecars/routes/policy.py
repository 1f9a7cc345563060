"""The allow/deny decision: which tunnels and requests a bottle may send out.

:class:`Policy` answers two questions, both on what the upstream server could
see rather than on a cleaned copy:

* :meth:`Policy.tunnel`: may a CONNECT to ``host:port`` carry anything (the
  host has a route and the port is one of the route's);
* :meth:`Policy.request`: may this request go out: host, port for the
  protocol, ``tls_passthrough`` (no request is ever allowed through such a
  route: only its TLS passes), method, every reading of the path
  (:mod:`.paths`), and a route with ``auth`` only over TLS, since the token
  must never cross the network in clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .headers import is_token
from .hosts import is_ip_literal, normalize_host
from .model import Route
from .paths import allowlist_problem, target_problem

__all__ = ["REFUSED_METHODS", "Decision", "Policy"]

# Never sent, whatever the route: TRACE and its cousins make a server echo the
# request back, injected token and all; a CONNECT inside a tunnel would open one
# egress cannot see into.
REFUSED_METHODS = {
    "TRACE": "echoes the request back, credentials included",
    "TRACK": "echoes the request back, credentials included",
    "DEBUG": "is a server debugging method",
    "CONNECT": "would open a tunnel egress cannot see into",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    route: Route | None = None
    # The refusal is something a route could fix, so the agent may ask for one;
    # False when only the operator (or a different request) can fix it.
    ask: bool = True


class Policy:
    """Routes indexed by host."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self._by_host: Mapping[str, Route] = {r.host: r for r in self.routes}

    def route_for(self, host: str) -> Route | None:
        try:
            return self._by_host.get(normalize_host(host))
        except ValueError:
            return None

    def _route(self, host: str) -> tuple[str, Route | None, Decision | None]:
        try:
            h = normalize_host(host)
        except ValueError as exc:
            return host, None, Decision(False, f"invalid host {host[:100]!r}: {exc}")
        route = self._by_host.get(h)
        if route is None:
            what = f"IP address {h} is not routed" if is_ip_literal(h) else f"no route for host {h}"
            return h, None, Decision(False, what)
        return h, route, None

    def tunnel(self, host: str, port: int) -> Decision:
        """A CONNECT to ``host:port``: path and method rules are left to the requests inside."""
        h, route, refused = self._route(host)
        if refused is not None:
            return refused
        assert route is not None
        if not route.allows_tunnel_port(port):
            return Decision(False, _port_reason(h, port, route), route)
        return Decision(True, f"host {h} is routed on port {port}", route)

    def request(self, host: str, port: int, *, tls: bool, method: str, target: str) -> Decision:
        """One request: ``target`` is the request target as sent (path and query)."""
        h, route, refused = self._route(host)
        if refused is not None:
            return refused
        assert route is not None
        if not route.allows_port(port, tls=tls):
            return Decision(False, _port_reason(h, port, route, tls), route)
        if route.tls_passthrough:
            return Decision(
                False,
                f"host {h} is routed for TLS passthrough only, so the proxy passes its TLS"
                " connections unopened and no request it can read",
                route,
                ask=False,
            )
        if not is_token(method):
            return Decision(False, f"method {method[:40]!r} is not a valid HTTP method", route)
        if method.upper() in REFUSED_METHODS:
            why = REFUSED_METHODS[method.upper()]
            return Decision(
                False, f"method {method.upper()} {why}; egress never sends it", route, ask=False
            )
        problem = target_problem(target)
        if problem is not None:
            return Decision(False, f"{problem} (host {h})", route, ask=False)
        if route.methods is not None and method.upper() not in route.methods:
            allowed = ", ".join(route.methods)
            return Decision(
                False,
                f"method {method.upper()} is not allowed for host {h} (allowed: {allowed})",
                route,
            )
        if route.prefixes is not None:
            problem = allowlist_problem(target, route.prefixes)
            if problem is not None:
                return Decision(False, f"{problem} (host {h})", route)
        if route.auth is not None and not tls:
            return Decision(
                False,
                f"the route for host {h} carries a credential, which egress only sends over"
                f" verified TLS; use https://{h}/ instead of plain http",
                route,
                ask=False,
            )
        return Decision(True, f"allowed by the route for host {h}", route)


def _port_reason(host: str, port: int, route: Route, tls: bool | None = None) -> str:
    proto = "" if tls is None else (" for HTTPS" if tls else " for plain HTTP")
    return f"port {port} is not routed{proto} for host {host} (its ports: {route.ports_shown})"
