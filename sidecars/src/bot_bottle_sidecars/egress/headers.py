"""Request headers egress refuses, strips or sets.

* Refused (the whole request): a header name that is not an RFC 9110 token
  (``Host :``, ``X\\x00``), and a value holding CR, LF or NUL. mitmproxy keeps a
  folded (obs-fold) line as ``CR LF SP`` inside the value, so folding is refused
  by the same rule; servers that unfold would see another header than egress.
* Stripped: routing-override headers (``X-HTTP-Method-Override``,
  ``X-Original-URL``, ``X-Forwarded-*``, ``Forwarded``, …), which would make some
  servers act on another method, path or host than the one egress checked, and
  ``Proxy-Authorization`` and ``Proxy-Connection`` (meant for a proxy, never for
  upstream).
* Set: the route's credential header, replacing any the agent sent under that name.
"""

from __future__ import annotations

from mitmproxy import http

from bot_bottle_sidecars.routes.headers import is_routing_override, is_token

__all__ = ["header_problem", "set_credential", "strip_overrides"]


def header_problem(headers: http.Headers) -> str | None:
    """Why a request with these headers must be refused, or None."""
    for raw_name, raw_value in headers.fields:
        name = raw_name.decode("latin-1")
        if not is_token(name):
            return f"header name {name[:60]!r} is not a valid token"
        if any(c in raw_value for c in (b"\r", b"\n", b"\x00")):
            return (
                f"header {name[:60]} holds a line break or NUL (folded or split header lines"
                " are read differently by different servers)"
            )
    return None


def strip_overrides(headers: http.Headers) -> list[str]:
    """Remove routing-override and proxy-only headers; returns the names removed."""
    names = {name for name in headers if is_routing_override(name)}
    for proxy_only in ("Proxy-Authorization", "Proxy-Connection"):
        if proxy_only in headers:
            names.add(proxy_only)
    for name in names:
        del headers[name]
    return sorted(names, key=str.lower)


def set_credential(headers: http.Headers, name: str, value: str) -> None:
    """``name: value`` in place of every header of that name the agent sent."""
    if name in headers:
        del headers[name]
    headers[name] = value
