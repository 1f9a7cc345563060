"""Egress policy: which requests a bottle may send out. Pure Python, no mitmproxy.

A routes file is JSON::

    {"routes": [
        {"host": "api.github.com",
         "path_allowlist": ["/repos/acme/app"],      # optional: absent = the whole host
         "methods": ["GET", "POST"],                 # optional: absent = every method
         "auth": {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"},   # optional
         "tls_passthrough": false}                   # optional, default false
    ]}

Optional keys may be absent or ``null``. Anything else (unknown keys, wrong types,
duplicate hosts, ``tls_passthrough`` combined with ``auth``/``path_allowlist``/
``methods``, a malformed host or path prefix) is refused with a ``ValueError``
that names the file, the route (``routes[2].host``) and the problem.

Matching rules (SPEC §6):

* Hosts compare exactly after :func:`normalize_host`: case-insensitive, one
  trailing dot ignored, IPv6 brackets removed, IP addresses in canonical form.
  There are no wildcards.
* IP literals (:func:`is_ip_literal`) are denied unless a route names that exact
  address. That includes the forms ``inet_aton`` and browsers accept
  (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``): they never match a route,
  because a route may only name an address in canonical dotted/colon form.
* Paths go through :func:`normalize_path` and must then sit under an allowlisted
  prefix on a segment boundary (:func:`prefix_match`). On top of that, the path
  *as sent* (decoded, but without resolving dot segments or merging slashes)
  must also sit under the prefix, so that neither a server that resolves
  ``..`` nor one that takes it literally ends up outside the allowlist.

Path normalisation choices (the safe option each time, i.e. deny when unsure):

* the query (``?…``) and fragment are dropped; ``;params`` are stripped from
  every segment before decoding (``/a;jsessionid=1/b`` → ``/a/b``);
* percent-decoding happens exactly once (``%2e``/``%2E`` → ``.``, ``%2f`` → ``/``),
  and the prefixes in the routes file are normalised the same way;
* a path that still holds ``%XX`` after that one decode (double encoding such as
  ``%252e``) is refused, as is a malformed escape (``%zz``), a decoded NUL or other
  control character, a backslash, or a decoded ``;``, ``?`` or ``#`` (servers
  disagree about those, so they are never given the benefit of the doubt);
* ``//`` collapses to ``/`` before dot segments are resolved (RFC 3986 §5.2.4);
  ``..`` never climbs above ``/``.

A refused path denies the request; the reason says why. These checks apply to
routes with a ``path_allowlist`` only: a whole-host route admits any path. The
request itself is forwarded as the agent sent it; normalisation is only for
deciding.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

__all__ = [
    "Decision",
    "Policy",
    "Route",
    "authority_mismatch",
    "decide",
    "is_ip_literal",
    "load_routes",
    "normalize_host",
    "normalize_path",
    "parse_routes",
    "prefix_match",
    "split_host_port",
    "try_normalize_path",
]

_ROUTE_KEYS = frozenset({"host", "path_allowlist", "methods", "auth", "tls_passthrough"})
_AUTH_KEYS = frozenset({"scheme", "token_ref"})
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token (method, auth scheme)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_PCT_TRIPLET = re.compile(r"%[0-9A-Fa-f]{2}")
_PCT_ANY = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Route:
    """One egress route. ``host`` is stored normalised; prefixes normalised, methods upper-case."""

    host: str
    path_allowlist: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    auth: tuple[str, str] | None = None  # (scheme, token_ref)
    tls_passthrough: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    route: Route | None
    reason: str
    path: str | None = None  # the normalised path the decision was made on, when there was one


# --------------------------------------------------------------------------- hosts


def _strip_brackets(host: str) -> str:
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


@functools.lru_cache(maxsize=4096)
def is_ip_literal(host: str) -> bool:
    """True for anything a resolver or URL parser would take as an IP address.

    Canonical IPv4/IPv6 (with or without brackets, with a zone id), plus every
    numeric IPv4 form: a host whose last label is all digits or ``0x``-hex is an
    address (WHATWG URL rules; ``getaddrinfo`` agrees): ``2130706433``,
    ``0x7f000001``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``.
    """
    h = _strip_brackets(host.strip()).lower()
    if h.endswith("."):
        h = h[:-1]
    if not h:
        return False
    try:
        ipaddress.ip_address(h)
        return True
    except ValueError:
        pass
    if ":" in h:  # not a hostname character; something IPv6-ish we could not parse
        return True
    last = h.rsplit(".", 1)[-1]
    return bool(_NUMERIC_LABEL.match(last))


@functools.lru_cache(maxsize=4096)
def normalize_host(host: str) -> str:
    """Lower-case, one trailing dot dropped, IPv6 brackets removed, IPs canonical.

    Raises ``ValueError`` for something that is neither a DNS name nor an IP literal.
    Non-standard numeric IPv4 forms (``2130706433``) are returned lower-cased as
    they are: :func:`is_ip_literal` says they are addresses, and no route can
    name them, so they are always denied.
    """
    if not isinstance(host, str):
        raise ValueError(f"host must be a string, not {type(host).__name__}")
    h = host.strip()
    bracketed = h.startswith("[") and h.endswith("]")
    h = _strip_brackets(h).lower()
    if h.endswith(".") and not h.endswith(".."):
        h = h[:-1]
    if not h:
        raise ValueError("empty host")
    try:
        return str(ipaddress.ip_address(h))
    except ValueError:
        if bracketed:
            raise ValueError(f"{host!r} is not an IPv6 address") from None
    if is_ip_literal(h):
        if not re.fullmatch(r"[0-9a-z.:%_-]+", h):
            raise ValueError(f"{host!r} is not a valid host")
        return h
    if not h.isascii():
        try:
            h = h.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"{host!r} is not a valid host name: {exc}") from None
    if len(h) > 253:
        raise ValueError(f"host name {host!r} is longer than 253 characters")
    for label in h.split("."):
        if not _LABEL.match(label):
            raise ValueError(f"{host!r} is not a valid host name (bad label {label!r})")
    return h


def split_host_port(authority: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` / ``[v6][:port]`` (a Host header or CONNECT target).

    The host comes back as sent (not normalised). Raises ``ValueError`` on a
    malformed authority (userinfo, a bad port, an unclosed bracket).
    """
    a = authority.strip()
    if not a:
        raise ValueError("empty authority")
    if "@" in a:
        raise ValueError(f"authority {authority!r} carries userinfo")
    port_text: str | None = None
    if a.startswith("["):
        end = a.find("]")
        if end < 0:
            raise ValueError(f"authority {authority!r} has an unclosed '['")
        host, rest = a[: end + 1], a[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"authority {authority!r} has junk after ']'")
            port_text = rest[1:]
    elif a.count(":") == 1:
        host, port_text = a.split(":")
    else:
        host = a  # no port, or a bare IPv6 address (not valid in a Host header, still an IP)
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"authority {authority!r} has a bad port")
        port = int(port_text)
    if not host:
        raise ValueError(f"authority {authority!r} has no host")
    return host, port


def authority_mismatch(target: str, host_values: Iterable[str], sni: str | None) -> str | None:
    """Check that every Host header / ``:authority`` value and the TLS SNI name ``target``.

    ``target`` is the host the proxy will dial (the CONNECT target inside a tunnel,
    the request-line host otherwise). Returns ``None`` when they all agree, else
    the reason for denying. At least one Host/``:authority`` value is required.
    """
    want = normalize_host(target)
    values = list(host_values)
    if not values:
        return f"the request names no Host header (target {want})"
    for value in values:
        try:
            name, _port = split_host_port(value)
            got = normalize_host(name)
        except ValueError as exc:
            return f"Host header {value!r} is malformed: {exc}"
        if got != want:
            return f"Host header {got} does not match the target host {want}"
    if sni is not None:
        try:
            got_sni = normalize_host(sni)
        except ValueError as exc:
            return f"TLS SNI {sni!r} is malformed: {exc}"
        if got_sni != want:
            return f"TLS SNI {got_sni} does not match the target host {want}"
    return None


# --------------------------------------------------------------------------- paths


def _strip_params(path: str) -> str:
    return "/".join(seg.split(";", 1)[0] for seg in path.split("/"))


def _decode_once(raw: str) -> str:
    """Query/fragment dropped, ``;params`` stripped, percent-decoded once, then vetted."""
    if raw in ("", "*"):
        if raw == "*":
            raise ValueError("asterisk-form request target has no path")
        return "/"
    cut = min((i for i in (raw.find("?"), raw.find("#")) if i >= 0), default=len(raw))
    path = raw[:cut]
    if not path.startswith("/"):
        raise ValueError("path does not start with '/'")
    if "\\" in path:
        raise ValueError("path contains a backslash")
    if _PCT_ANY.search(path):
        raise ValueError("path contains a malformed percent-escape")
    path = _strip_params(path)
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("path does not decode to UTF-8") from None
    if _PCT_TRIPLET.search(decoded):
        raise ValueError("path is percent-encoded twice")
    for ch in decoded:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise ValueError("path contains a control character")
    for ch, name in (("\\", "backslash"), (";", "';'"), ("?", "'?'"), ("#", "'#'")):
        if ch in decoded:
            raise ValueError(f"path contains an encoded {name}")
    return decoded


def _resolve(decoded: str) -> str:
    collapsed = re.sub(r"/{2,}", "/", decoded)
    segments = collapsed.split("/")[1:]
    out: list[str] = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


def normalize_path(raw: str) -> str:
    """The path a decision is made on. See the module docstring for each step.

    Raises ``ValueError`` (with the reason) for a path that cannot be checked safely.
    """
    return _resolve(_decode_once(raw))


def try_normalize_path(raw: str) -> str | None:
    """:func:`normalize_path`, or ``None`` when the path cannot be normalised (for logs)."""
    try:
        return normalize_path(raw)
    except ValueError:
        return None


def prefix_match(path: str, prefix: str) -> bool:
    """``path`` is ``prefix`` or below it, on a segment boundary.

    ``/repos/a`` and ``/repos/a/`` both admit ``/repos/a``, ``/repos/a/`` and
    ``/repos/a/x``, never ``/repos/a-evil``. ``/`` admits everything.
    """
    p = prefix.rstrip("/")
    if not p:
        return path.startswith("/")
    return path == p or path.startswith(p + "/")


# --------------------------------------------------------------------------- routes


def _fail(where: str, msg: str) -> ValueError:
    return ValueError(f"{where}: {msg}")


def _route_from_json(obj: object, where: str) -> Route:
    if not isinstance(obj, dict):
        raise _fail(where, f"must be an object, not {type(obj).__name__}")
    unknown = sorted(set(obj) - _ROUTE_KEYS)
    if unknown:
        raise _fail(
            where,
            f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_ROUTE_KEYS))})",
        )
    if "host" not in obj:
        raise _fail(where, "missing required key 'host'")
    raw_host = obj["host"]
    if not isinstance(raw_host, str) or not raw_host.strip():
        raise _fail(f"{where}.host", "must be a non-empty string")
    if "*" in raw_host:
        raise _fail(f"{where}.host", f"{raw_host!r}: wildcards are not supported")
    if "/" in raw_host or "@" in raw_host or raw_host.count(":") == 1 or "]:" in raw_host:
        raise _fail(f"{where}.host", f"{raw_host!r}: give a bare host name (no scheme, port, path)")
    try:
        host = normalize_host(raw_host)
    except ValueError as exc:
        raise _fail(f"{where}.host", str(exc)) from None
    if is_ip_literal(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise _fail(
                f"{where}.host",
                f"{raw_host!r} is a non-standard IP address form; write it as a canonical"
                " dotted-quad or IPv6 address",
            ) from None

    path_allowlist: tuple[str, ...] | None = None
    if obj.get("path_allowlist") is not None:
        value = obj["path_allowlist"]
        if not isinstance(value, list):
            raise _fail(f"{where}.path_allowlist", "must be a list of path prefixes")
        if not value:
            raise _fail(
                f"{where}.path_allowlist", "is empty (omit it to allow every path of the host)"
            )
        prefixes = []
        for i, prefix in enumerate(value):
            pw = f"{where}.path_allowlist[{i}]"
            if not isinstance(prefix, str) or not prefix.startswith("/"):
                raise _fail(pw, f"{prefix!r} must be a string starting with '/'")
            if "?" in prefix or "#" in prefix:
                raise _fail(pw, f"{prefix!r} must not contain a query or fragment")
            try:
                decoded = _decode_once(prefix)
            except ValueError as exc:
                raise _fail(pw, f"{prefix!r}: {exc}") from None
            if any(seg in (".", "..") for seg in decoded.split("/")):
                raise _fail(pw, f"{prefix!r} must not contain '.' or '..' segments")
            prefixes.append(_resolve(decoded))
        path_allowlist = tuple(prefixes)

    methods: tuple[str, ...] | None = None
    if obj.get("methods") is not None:
        value = obj["methods"]
        if not isinstance(value, list) or not value:
            raise _fail(f"{where}.methods", "must be a non-empty list of HTTP methods")
        out = []
        for i, method in enumerate(value):
            if not isinstance(method, str) or not _TOKEN.match(method):
                raise _fail(f"{where}.methods[{i}]", f"{method!r} is not an HTTP method")
            if method.upper() == "CONNECT":
                raise _fail(f"{where}.methods[{i}]", "CONNECT is not a method a route can allow")
            out.append(method.upper())
        methods = tuple(dict.fromkeys(out))

    auth: tuple[str, str] | None = None
    if obj.get("auth") is not None:
        value = obj["auth"]
        aw = f"{where}.auth"
        if not isinstance(value, dict):
            raise _fail(aw, "must be an object with 'scheme' and 'token_ref'")
        unknown = sorted(set(value) - _AUTH_KEYS)
        if unknown:
            raise _fail(aw, f"unknown key(s) {', '.join(unknown)} (allowed: scheme, token_ref)")
        scheme, ref = value.get("scheme"), value.get("token_ref")
        if not isinstance(scheme, str) or not _TOKEN.match(scheme):
            raise _fail(f"{aw}.scheme", f"{scheme!r} is not an auth scheme (e.g. 'Bearer')")
        if not isinstance(ref, str) or not _ENV_NAME.match(ref):
            raise _fail(f"{aw}.token_ref", f"{ref!r} is not an environment variable name")
        auth = (scheme, ref)

    passthrough = obj.get("tls_passthrough")
    if passthrough is None:
        passthrough = False
    if not isinstance(passthrough, bool):
        raise _fail(f"{where}.tls_passthrough", "must be true or false")
    if passthrough:
        clash = [k for k, v in (("auth", auth), ("path_allowlist", path_allowlist)) if v]
        if methods:
            clash.append("methods")
        if clash:
            raise _fail(
                where,
                f"tls_passthrough cannot be combined with {', '.join(clash)}"
                " (the proxy does not see inside a passed-through connection)",
            )
    return Route(
        host=host,
        path_allowlist=path_allowlist,
        methods=methods,
        auth=auth,
        tls_passthrough=passthrough,
    )


def parse_routes(data: object, source: str = "routes") -> tuple[Route, ...]:
    """Validate already-parsed JSON. ``source`` prefixes every error message."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: the top level must be an object with a 'routes' list")
    unknown = sorted(set(data) - {"routes"})
    if unknown:
        raise ValueError(f"{source}: unknown top-level key(s) {', '.join(unknown)}")
    if "routes" not in data:
        raise ValueError(f"{source}: missing the 'routes' list")
    items = data["routes"]
    if not isinstance(items, list):
        raise ValueError(f"{source}: 'routes' must be a list")
    routes: list[Route] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        route = _route_from_json(item, f"{source}: routes[{i}]")
        if route.host in seen:
            raise ValueError(
                f"{source}: routes[{i}].host: duplicate host {route.host}"
                f" (already routes[{seen[route.host]}])"
            )
        seen[route.host] = i
        routes.append(route)
    return tuple(routes)


def load_routes(path: str | os.PathLike[str]) -> tuple[Route, ...]:
    """Read and validate a routes file. ``ValueError`` names the file and the problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{p}: routes file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: cannot read routes file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON: {exc}") from None
    return parse_routes(data, str(p))


# --------------------------------------------------------------------------- decisions


class Policy:
    """Routes indexed by host; :meth:`decide` is the one question the proxy asks."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self._by_host: Mapping[str, Route] = {r.host: r for r in self.routes}

    def route_for(self, host: str) -> Route | None:
        try:
            return self._by_host.get(normalize_host(host))
        except ValueError:
            return None

    def decide(self, host: str, path: str | None = None, method: str | None = None) -> Decision:
        """Allow or deny ``method host path``.

        ``path=None`` asks about the host alone (a CONNECT, a TLS ClientHello):
        path and method rules are then left to the requests inside.
        """
        try:
            h = normalize_host(host)
        except ValueError as exc:
            return Decision(False, None, f"invalid host {host!r}: {exc}")
        route = self._by_host.get(h)
        if route is None:
            if is_ip_literal(h):
                return Decision(False, None, f"IP literal {h} is not routed")
            return Decision(False, None, f"no route for host {h}")
        if path is None:
            return Decision(True, route, f"host {h} is routed")
        if route.path_allowlist is None:
            norm = try_normalize_path(path)
        else:
            try:
                decoded = _decode_once(path)
            except ValueError as exc:
                shown = path.split("?", 1)[0][:200]
                return Decision(False, route, f"path {shown!r} cannot be checked safely: {exc}")
            norm = _resolve(decoded)
            listed = ", ".join(route.path_allowlist)
            if not any(prefix_match(norm, p) for p in route.path_allowlist):
                return Decision(
                    False,
                    route,
                    f"path {norm} is not in the allowlist [{listed}] of host {h}",
                    norm,
                )
            if not any(prefix_match(decoded, p) for p in route.path_allowlist):
                return Decision(
                    False,
                    route,
                    f"path {decoded} resolves to {norm} but, as sent, is outside the allowlist"
                    f" [{listed}] of host {h}",
                    norm,
                )
        if route.methods is not None and method is not None:
            m = method.upper()
            if m not in route.methods:
                allowed = ", ".join(route.methods)
                return Decision(
                    False,
                    route,
                    f"method {m} is not allowed for host {h} (allowed: {allowed})",
                    norm,
                )
        return Decision(True, route, f"allowed by the route for host {h}", norm)


def decide(
    routes: Iterable[Route] | Policy, host: str, path: str | None = None, method: str | None = None
) -> Decision:
    """Functional form of :meth:`Policy.decide`."""
    policy = routes if isinstance(routes, Policy) else Policy(routes)
    return policy.decide(host, path, method)
