"""Header-name rules shared by the route schema and the egress proxy.

* Routing-override headers make some servers, frameworks and reverse proxies
  act on another method, path or host than the request line's, which would
  defeat a route's ``methods`` and ``path_allowlist``: egress strips them
  (:func:`is_routing_override`).
* A route's ``auth.header`` may not name a header that frames or routes the
  request (:data:`RESERVED`), nor a routing override.
"""

from __future__ import annotations

import re

__all__ = ["RESERVED", "ROUTING_OVERRIDES", "is_routing_override", "is_token"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", re.ASCII)  # RFC 9110 token

# Exact names (lower-case). Every ``x-forwarded-*`` header counts too.
ROUTING_OVERRIDES = frozenset(
    {
        "forwarded",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-original-url",
        "x-original-uri",
        "x-original-host",
        "x-original-method",
        "x-rewrite-url",
        "x-override-url",
        "x-host",
        "x-proxy-url",
        "x-real-url",
        "x-envoy-original-path",
        "x-envoy-original-host",
    }
)
_OVERRIDE_PREFIXES = ("x-forwarded-",)

RESERVED = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "proxy-authorization",
        "proxy-connection",
    }
)


def is_token(text: str) -> bool:
    """``text`` is an RFC 9110 token (a method, a header name, an auth scheme)."""
    return bool(_TOKEN.fullmatch(text))


def is_routing_override(name: str) -> bool:
    lowered = name.lower()
    return lowered in ROUTING_OVERRIDES or lowered.startswith(_OVERRIDE_PREFIXES)
