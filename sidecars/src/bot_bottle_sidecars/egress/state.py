"""What the egress addons share: the live policy, token slots, pins, and the
tunnels the agent has opened (by client connection id)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot_bottle_sidecars.routes import Route
from bot_bottle_sidecars.routes.policy import Decision, Policy

from .addresses import Pins
from .log import DecisionLog
from .tokens import TokenSlots

__all__ = ["EgressState", "Tunnel", "UpstreamNote"]

META = "bot_bottle_egress"  # flow.metadata key: "allow" / "deny"


@dataclass(frozen=True)
class Tunnel:
    """A CONNECT the proxy accepted. A denied one is still accepted (nothing is
    dialled), so the request inside can be answered with a readable 403."""

    host: str  # normalised
    port: int
    decision: Decision

    @property
    def passthrough(self) -> bool:
        """Allowed, to a ``tls_passthrough`` route."""
        route = self.decision.route
        return self.decision.allowed and route is not None and route.tls_passthrough


@dataclass(frozen=True)
class UpstreamNote:
    """Why an upstream connection failed, as egress knows it (mitmproxy's message does not)."""

    refused: str | None = None  # the name resolved to an address egress never dials
    timeout_s: float | None = None  # cancelled after this many seconds


@dataclass
class EgressState:
    log: DecisionLog = field(default_factory=DecisionLog)
    policy: Policy = field(default_factory=Policy)
    tokens: TokenSlots = field(default_factory=lambda: TokenSlots({}, {}))
    pins: Pins = field(default_factory=dict)
    tunnels: dict[str, Tunnel] = field(default_factory=dict)
    # client id -> (host, port) its plain (tunnel-less) proxy requests were allowed to
    plain_targets: dict[str, set[tuple[str, int]]] = field(default_factory=dict)
    refused_tls: set[str] = field(default_factory=set)  # client ids whose handshake is refused
    # (client id, host, port) -> what went wrong upstream, for the request's error page
    upstream_notes: dict[tuple[str, str, int], UpstreamNote] = field(default_factory=dict)
    fatal: str | None = None

    def route_name(self, route: Route | None) -> str | None:
        return route.host if route is not None else None
