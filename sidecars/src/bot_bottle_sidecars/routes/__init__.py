"""Egress routes: the one definition ``config check``, the preflight and the
egress sidecar share. Pure Python (no mitmproxy), importable anywhere.

* :mod:`.model`: :class:`Route`, :class:`RouteAuth`;
* :mod:`.schema`: :func:`parse_route` (every problem, each at its place);
* :mod:`.document`: the routes file (:func:`load_routes`, :func:`routes_document`);
* :mod:`.hosts`, :mod:`.paths`, :mod:`.headers`: how hosts, paths and header
  names are compared;
* :mod:`.policy`: :class:`Policy`, the allow/deny decision egress asks for.
"""

from __future__ import annotations

from .document import duplicate_hosts, load_routes, parse_routes, routes_document
from .model import (
    DEFAULT_HTTP_PORT,
    DEFAULT_HTTPS_PORT,
    METHODS,
    Route,
    RouteAuth,
    RouteProblem,
)
from .schema import check_route, parse_route, route_to_json

__all__ = [
    "DEFAULT_HTTPS_PORT",
    "DEFAULT_HTTP_PORT",
    "METHODS",
    "Route",
    "RouteAuth",
    "RouteProblem",
    "check_route",
    "duplicate_hosts",
    "load_routes",
    "parse_route",
    "parse_routes",
    "route_to_json",
    "routes_document",
]
