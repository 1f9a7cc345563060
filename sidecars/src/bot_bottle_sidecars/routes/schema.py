"""The one definition of an egress route: what ``config check``, the preflight
and the egress sidecar all accept.

A route, as YAML in the manifest or JSON in the sidecar's routes file::

    host: api.github.com                 # required: a bare name or canonical IP address
    path_allowlist: [/repos/acme/app]    # optional: absent = every path of the host
    methods: [GET, POST]                 # optional: absent = every method
    ports: [443]                         # optional: absent = 443 for HTTPS, 80 for plain HTTP
    auth:                                # optional: the proxy sets the header
      scheme: Bearer                     #   Authorization: Bearer <token>
      # header: x-api-key                #   or: x-api-key: <token>
      token_ref: GITHUB_TOKEN            #   host variable holding the token
    tls_passthrough: false               # optional: no interception (then no auth/paths/methods)

:func:`parse_route` reports every problem at once, each at its place inside the
route (``("auth", "token_ref")``), worded for a person. Optional keys may be
absent or null; unknown keys are errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .headers import RESERVED, is_routing_override, is_token
from .hosts import host_problem, normalize_host
from .model import METHODS, Route, RouteAuth, RouteProblem, Where
from .paths import prefix_problem
from .wording import describe, unknown_key_message

__all__ = ["check_route", "parse_route", "route_to_json"]

ROUTE_KEYS = ("host", "path_allowlist", "methods", "ports", "auth", "tls_passthrough")
AUTH_KEYS = ("scheme", "header", "token_ref")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


# --------------------------------------------------------------------------- parsing


class _Collect:
    def __init__(self) -> None:
        self.problems: list[RouteProblem] = []

    def add(self, at: Where, message: str) -> None:
        self.problems.append(RouteProblem(at, message))


def _str_list(value: object, at: Where, what: str, empty: str, out: _Collect) -> list[str] | None:
    """The strings of a non-empty list, or None (each problem added to ``out``).

    ``empty`` says what an empty list would mean and what to write instead.
    """
    if not isinstance(value, list):
        hint = f"; write it as a list: [{value}]" if isinstance(value, str) else ""
        out.add(at, f"{at[-1]} must be a list of {what}, got {describe(value)}{hint}")
        return None
    items = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            out.add((*at, i), f"expected a string, got {describe(item)}")
        else:
            items.append(item)
    if len(items) != len(value):
        return None
    if not items:
        out.add(at, empty)
        return None
    return items


def _host(obj: Mapping[str, object], out: _Collect) -> str | None:
    if "host" not in obj:
        out.add(("host",), "required key 'host' is missing")
        return None
    raw = obj["host"]
    if not isinstance(raw, str):
        out.add(("host",), f"expected a string, got {describe(raw)}")
        return None
    problem = host_problem(raw)
    if problem:
        out.add(("host",), problem)
        return None
    return normalize_host(raw)


def _paths(value: object, out: _Collect) -> tuple[str, ...] | None:
    at: Where = ("path_allowlist",)
    items = _str_list(
        value,
        at,
        "path prefixes",
        "path_allowlist is empty, which would block the whole host; omit path_allowlist"
        " to allow the whole host",
        out,
    )
    if items is None:
        return None
    ok = True
    for i, prefix in enumerate(items):
        problem = prefix_problem(prefix)
        if problem:
            out.add((*at, i), problem)
            ok = False
    return tuple(dict.fromkeys(items)) if ok else None


def _methods(value: object, out: _Collect) -> tuple[str, ...] | None:
    at: Where = ("methods",)
    items = _str_list(
        value,
        at,
        "HTTP methods",
        "methods is empty, which would block every request; omit methods to allow every method",
        out,
    )
    if items is None:
        return None
    ok = True
    for i, method in enumerate(items):
        if method.upper() not in METHODS:
            out.add(
                (*at, i), f"unknown HTTP method {method[:40]!r}; use one of {', '.join(METHODS)}"
            )
            ok = False
    return tuple(dict.fromkeys(m.upper() for m in items)) if ok else None


def _ports(value: object, out: _Collect) -> tuple[int, ...] | None:
    at: Where = ("ports",)
    if not isinstance(value, list):
        out.add(at, f"ports must be a list of port numbers, got {describe(value)}")
        return None
    if not value:
        out.add(
            at,
            "ports is empty, which would block every connection; omit ports for the defaults"
            " (443 for HTTPS, 80 for plain HTTP)",
        )
        return None
    ok = True
    for i, port in enumerate(value):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            out.add((*at, i), f"a port is a number from 1 to 65535, got {describe(port)}")
            ok = False
    return tuple(dict.fromkeys(value)) if ok else None


def _auth(value: object, out: _Collect) -> RouteAuth | None:
    at: Where = ("auth",)
    if not isinstance(value, dict):
        out.add(
            at,
            f"auth must be a mapping with token_ref and scheme (or header), got {describe(value)}",
        )
        return None
    ok = True
    for key in value:
        if key not in AUTH_KEYS:
            out.add((*at, str(key)), unknown_key_message(key, AUTH_KEYS))
            ok = False
    ref = value.get("token_ref")
    scheme, header = value.get("scheme"), value.get("header")
    if ref is None:
        out.add(
            (*at, "token_ref"),
            "required key 'token_ref' is missing: name the host variable that holds the token",
        )
        ok = False
    elif not isinstance(ref, str) or not _is_env_name(ref):
        out.add(
            (*at, "token_ref"),
            f"token_ref {str(ref)[:60]!r} is not a valid environment variable name (letters,"
            " digits and _, not starting with a digit); it names the host variable that holds"
            " the token",
        )
        ok = False
    if (scheme is None) == (header is None):
        out.add(
            at,
            "auth needs exactly one of scheme (sent as 'Authorization: <scheme> <token>') or"
            " header (sent as '<header>: <token>')",
        )
        ok = False
    elif scheme is not None and (not isinstance(scheme, str) or not is_token(scheme)):
        out.add(
            (*at, "scheme"),
            f"auth scheme must be one word like 'Bearer' or 'token', got {describe(scheme)}",
        )
        ok = False
    elif header is not None:
        if not isinstance(header, str) or not is_token(header):
            out.add(
                (*at, "header"),
                f"header must be a header name like 'x-api-key', got {describe(header)}",
            )
            ok = False
        elif header.lower() in RESERVED or is_routing_override(header):
            out.add(
                (*at, "header"),
                f"header {header!r} frames or routes the request; a token cannot travel in it",
            )
            ok = False
        elif header.lower() == "authorization":
            out.add(
                (*at, "header"),
                "for the Authorization header, give its scheme instead: scheme: Bearer",
            )
            ok = False
    if not ok:
        return None
    assert isinstance(ref, str)
    return RouteAuth(
        token_ref=ref,
        scheme=scheme if isinstance(scheme, str) else None,
        header=header.lower() if isinstance(header, str) else None,
    )


def _is_env_name(text: str) -> bool:
    return bool(_ENV_NAME.fullmatch(text))


def parse_route(obj: object) -> tuple[Route | None, list[RouteProblem]]:
    """A checked, normalised :class:`Route`, or None and every problem found."""
    out = _Collect()
    if not isinstance(obj, dict):
        out.add((), f"a route must be a mapping with at least a host, got {describe(obj)}")
        return None, out.problems
    for key in obj:
        if key not in ROUTE_KEYS:
            out.add((str(key),), unknown_key_message(key, ROUTE_KEYS))
    host = _host(obj, out)
    get = obj.get
    paths = _paths(get("path_allowlist"), out) if get("path_allowlist") is not None else None
    methods = _methods(get("methods"), out) if get("methods") is not None else None
    ports = _ports(get("ports"), out) if get("ports") is not None else None
    auth = _auth(get("auth"), out) if get("auth") is not None else None
    passthrough = get("tls_passthrough")
    if passthrough is None:
        passthrough = False
    if not isinstance(passthrough, bool):
        out.add(("tls_passthrough",), f"expected true or false, got {describe(passthrough)}")
    elif passthrough:
        clash = [k for k in ("auth", "path_allowlist", "methods") if get(k) is not None]
        if clash:
            out.add(
                ("tls_passthrough",),
                f"tls_passthrough cannot be combined with {' or '.join(clash)}: the proxy does"
                " not look inside a passed-through connection; remove "
                + ("it" if len(clash) == 1 else "them")
                + " or drop tls_passthrough",
            )
    if out.problems or host is None:
        return None, out.problems
    route = Route(
        host=host,
        path_allowlist=paths,
        methods=methods,
        ports=ports,
        auth=auth,
        tls_passthrough=bool(passthrough),
    )
    return route, []


def route_to_json(route: Route) -> dict[str, object]:
    """The JSON form of a route (defaults left out); :func:`parse_route` reads it back."""
    out: dict[str, object] = {"host": route.host}
    if route.path_allowlist is not None:
        out["path_allowlist"] = list(route.path_allowlist)
    if route.methods is not None:
        out["methods"] = list(route.methods)
    if route.ports is not None:
        out["ports"] = list(route.ports)
    if route.auth is not None:
        auth: dict[str, str] = {"token_ref": route.auth.token_ref}
        if route.auth.scheme is not None:
            auth["scheme"] = route.auth.scheme
        if route.auth.header is not None:
            auth["header"] = route.auth.header
        out["auth"] = auth
    if route.tls_passthrough:
        out["tls_passthrough"] = True
    return out


def check_route(route: Route) -> list[RouteProblem]:
    """Problems of a route built in code (a provider's, say), by the same rules as a file's."""
    checked, problems = parse_route(route_to_json(route))
    if not problems and checked != route:
        problems = [RouteProblem((), f"route {route!r} is not in normal form; use {checked!r}")]
    return problems
