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

import re
from dataclasses import dataclass

from mitmproxy import http

from bot_bottle_sidecars.routes.headers import is_routing_override, is_token

__all__ = ["HeaderScan", "scan_headers", "set_credential", "strip"]

_PROXY_ONLY = frozenset({"proxy-authorization", "proxy-connection"})
_BREAKS = re.compile(rb"[\r\n\x00]")


@dataclass(frozen=True)
class HeaderScan:
    """What one pass over the request's header lines found."""

    problem: str | None  # why the request must be refused
    hosts: list[str]  # every Host value, as sent
    strip: list[str]  # routing-override and proxy-only header names present, as sent


def scan_headers(headers: http.Headers) -> HeaderScan:
    hosts: list[str] = []
    found: dict[str, str] = {}
    for raw_name, raw_value in headers.fields:
        name = raw_name.decode("latin-1")
        if not is_token(name):
            return HeaderScan(f"header name {name[:60]!r} is not a valid token", [], [])
        if _BREAKS.search(raw_value):
            return HeaderScan(
                f"header {name[:60]} holds a line break or NUL (folded or split header lines"
                " are read differently by different servers)",
                [],
                [],
            )
        lowered = name.lower()
        if lowered == "host":
            hosts.append(raw_value.decode("latin-1"))
        elif lowered in _PROXY_ONLY or is_routing_override(lowered):
            found.setdefault(lowered, name)
    return HeaderScan(None, hosts, sorted(found.values(), key=str.lower))


def strip(headers: http.Headers, names: list[str]) -> None:
    for name in names:
        del headers[name]


def set_credential(headers: http.Headers, name: str, value: str) -> None:
    """``name: value`` in place of every header of that name the agent sent."""
    headers[name] = value  # replaces every field of that name
