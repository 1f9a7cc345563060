"""Host names, IP literals and authorities, as egress compares them.

Hosts compare exactly after :func:`normalize_host`: case-insensitive, one
trailing dot ignored, IPv6 brackets removed, IP addresses in canonical form.
There are no wildcards. :func:`is_ip_literal` also recognises the numeric forms
``inet_aton`` and browsers accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
``127.1``); a route can only name an address in canonical form, so those never
match one.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable

__all__ = [
    "authority_mismatch",
    "host_problem",
    "is_ip_literal",
    "normalize_host",
    "shown_host",
    "split_host_port",
]

# A DNS label: letters, digits, '-' and '_' (DNS allows '_'; services use it),
# not starting or ending with '-', at most 63 characters.
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.ASCII)
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)", re.ASCII)
_ADDRESS_CHARS = re.compile(r"[0-9a-z.:%_-]+", re.ASCII)


def _strip_brackets(host: str) -> str:
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


@functools.lru_cache(maxsize=4096)
def is_ip_literal(host: str) -> bool:
    """True for anything a resolver or URL parser would take as an IP address.

    Canonical IPv4/IPv6 (with or without brackets, with a zone id), plus every
    numeric IPv4 form: a host whose last label is all digits or ``0x``-hex is an
    address (WHATWG URL rules; ``getaddrinfo`` agrees).
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
    if ":" in h:  # not a host name character: something IPv6-ish we could not parse
        return True
    return bool(_NUMERIC_LABEL.fullmatch(h.rsplit(".", 1)[-1]))


@functools.lru_cache(maxsize=4096)
def normalize_host(host: str) -> str:
    """Lower-case, one trailing dot dropped, IPv6 brackets removed, IPs canonical.

    Raises ``ValueError`` for something that is neither a DNS name nor an IP
    literal. Non-standard numeric IPv4 forms come back lower-cased as they are:
    no route can name them, so they are always denied.
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
        if not _ADDRESS_CHARS.fullmatch(h):
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
        if not _LABEL.fullmatch(label):
            raise ValueError(f"{host!r} is not a valid host name (bad label {label!r})")
    return h


def shown_host(host: str) -> str:
    """``host`` as a message or log line shows it: normalised, or quoted when it is no host."""
    try:
        return normalize_host(host)
    except ValueError:
        return repr(host[:100])


def host_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be a route's ``host`` (a bare name or canonical address), or None."""
    if not raw.strip():
        return "host must not be empty"
    if "://" in raw:
        bare = raw.split("://", 1)[1].split("/", 1)[0]
        return f"host must be a bare host name without a scheme: write {bare!r}, not {raw!r}"
    if any(c.isspace() for c in raw):
        return f"host {raw!r} must not contain whitespace"
    if "*" in raw:
        return f"host {raw!r}: wildcards are not supported; list each host"
    if "/" in raw:
        return f"host {raw!r} must not contain a path; put paths in path_allowlist"
    if "@" in raw:
        return f"host {raw!r} must not contain a user name"
    if raw.count(":") == 1 or "]:" in raw:
        return f"host {raw!r} must not include a port; list ports in the route's ports"
    if not raw.isascii():
        return f"host {raw!r} is not ASCII: write its punycode 'xn--' form"
    try:
        host = normalize_host(raw)
    except ValueError as exc:
        return str(exc)
    if is_ip_literal(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return (
                f"{raw!r} is a non-standard IP address form; write it as a canonical"
                " dotted-quad or IPv6 address"
            )
    return None


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
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise ValueError(f"authority {authority!r} has a bad port")
        port = int(port_text)
    if not host:
        raise ValueError(f"authority {authority!r} has no host")
    return host, port


def authority_mismatch(
    target: str, port: int, host_values: Iterable[str], sni: str | None, *, default_port: int
) -> str | None:
    """Check that every Host header / ``:authority`` and the TLS SNI name ``target:port``.

    ``target`` and ``port`` are what the proxy will dial (the CONNECT target inside
    a tunnel, the request-line host otherwise); a Host value without a port means
    ``default_port`` (443 over TLS, 80 in plain HTTP). Returns None when they all
    agree, else the reason for denying. At least one Host/``:authority`` is required.
    """
    want = normalize_host(target)
    values = list(host_values)
    if not values:
        return f"the request names no Host header (target {want})"
    for value in values:
        if not value.isascii():
            # A name egress would map (IDNA, full-width forms) but the server reads as sent.
            return f"Host header {value[:100]!r} is not ASCII"
        try:
            name, value_port = split_host_port(value)
            got = normalize_host(name)
        except ValueError as exc:
            return f"Host header {value[:100]!r} is malformed: {exc}"
        if got != want:
            return f"Host header {got} does not match the target host {want}"
        named = value_port or default_port
        if named != port:
            return f"Host header port {named} does not match the target port {port}"
    if sni is not None:
        try:
            got_sni = normalize_host(sni)
        except ValueError as exc:
            return f"TLS SNI {sni[:100]!r} is malformed: {exc}"
        if got_sni != want:
            return f"TLS SNI {got_sni} does not match the target host {want}"
    return None
