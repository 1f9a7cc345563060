"""Egress routes: the one definition ``config check``, the preflight and the
egress sidecar share. Pure Python (no mitmproxy), importable anywhere.

* :mod:`.model`: :class:`Route`, :class:`RouteAuth`;
* :mod:`.schema`: :func:`parse_route` (every problem, each at its place);
* :mod:`.document`: the routes file (:func:`load_routes`, :func:`routes_document`);
* :mod:`.leases`: time-limited grants in that file (:class:`Lease`, :class:`RoutesFile`);
* :mod:`.hosts`, :mod:`.paths`, :mod:`.headers`: how hosts, paths and header
  names are compared;
* :mod:`.merge`: :func:`merge_route`, how a granted route joins the others;
* :mod:`.policy`: :class:`Policy`, the allow/deny decision egress asks for.
"""

from __future__ import annotations

from .document import (
    duplicate_hosts,
    load_routes,
    parse_document,
    parse_routes,
    read_document,
    read_routes,
    routes_digest,
    routes_document,
)
from .leases import Lease, RoutesFile, parse_time
from .merge import Merged, merge_route
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
    "Lease",
    "Merged",
    "Route",
    "RouteAuth",
    "RouteProblem",
    "RoutesFile",
    "check_route",
    "duplicate_hosts",
    "load_routes",
    "merge_route",
    "parse_document",
    "parse_route",
    "parse_routes",
    "parse_time",
    "read_document",
    "read_routes",
    "route_to_json",
    "routes_digest",
    "routes_document",
]
