"""The route types: one host the bottle may reach, and how its token travels.

Build routes with :func:`bot_bottle_sidecars.routes.parse_route` (it checks
them); the types hold no policy beyond answering which ports a route admits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .paths import Prefix
from .wording import join_parts

__all__ = [
    "DEFAULT_HTTPS_PORT",
    "DEFAULT_HTTP_PORT",
    "METHODS",
    "Route",
    "RouteAuth",
    "RouteProblem",
    "Where",
]

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DEFAULT_HTTPS_PORT = 443
DEFAULT_HTTP_PORT = 80

Where = tuple[str | int, ...]


@dataclass(frozen=True)
class RouteProblem:
    at: Where  # inside the route (or the routes document), e.g. ("auth", "token_ref")
    message: str

    def where(self, base: str = "") -> str:
        return join_parts(base, self.at)


@dataclass(frozen=True)
class RouteAuth:
    """How egress sends the token: ``Authorization: <scheme> <token>`` or ``<header>: <token>``."""

    token_ref: str
    scheme: str | None = None
    header: str | None = None

    @property
    def header_name(self) -> str:
        return self.header or "Authorization"

    def header_value(self, token: str) -> str:
        return token if self.header else f"{self.scheme} {token}"

    @property
    def shown(self) -> str:
        """What the preflight prints: the scheme, or the header's name."""
        return self.header or self.scheme or ""


@dataclass(frozen=True)
class Route:
    """One host the bottle may reach. Build it with :func:`parse_route` to get it checked."""

    host: str
    path_allowlist: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    ports: tuple[int, ...] | None = None
    auth: RouteAuth | None = None
    tls_passthrough: bool = False
    prefixes: tuple[Prefix, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prefixes = None
        if self.path_allowlist is not None:
            prefixes = tuple(Prefix.parse(p) for p in self.path_allowlist)
        object.__setattr__(self, "prefixes", prefixes)

    def allows_port(self, port: int, *, tls: bool) -> bool:
        """``port`` is one of the route's (default: 443 over TLS, 80 in plain HTTP)."""
        if self.ports is not None:
            return port in self.ports
        return port == (DEFAULT_HTTPS_PORT if tls else DEFAULT_HTTP_PORT)

    def allows_tunnel_port(self, port: int) -> bool:
        """A CONNECT to ``port`` can carry something this route admits."""
        if self.ports is not None:
            return port in self.ports
        if self.tls_passthrough:
            return port == DEFAULT_HTTPS_PORT
        return port in (DEFAULT_HTTPS_PORT, DEFAULT_HTTP_PORT)

    @property
    def ports_shown(self) -> str:
        if self.ports is not None:
            return ",".join(str(p) for p in self.ports)
        return str(DEFAULT_HTTPS_PORT) if self.tls_passthrough else "443 (https), 80 (http)"
