"""Raw TCP inside a tunnel (bytes that are neither TLS nor HTTP).

Killed unless the tunnel is allowed and its route is ``tls_passthrough``. A TCP
flow is not stopped by ``flow.kill()`` (mitmproxy dials and relays regardless);
setting the server connection's error before it opens is what stops it.
"""

from __future__ import annotations

import logging

from mitmproxy import tcp

from .state import META, EgressState

__all__ = ["RawGuard"]

logger = logging.getLogger(__name__)


class RawGuard:
    def __init__(self, state: EgressState) -> None:
        self.state = state

    def tcp_start(self, flow: tcp.TCPFlow) -> None:
        state = self.state
        host: str | None = None
        port: int | None = None
        route: str | None = None
        try:
            tunnel = state.tunnels.get(flow.client_conn.id)
            if tunnel is None:
                reason = "non-HTTP bytes outside a CONNECT tunnel"
            else:
                host, port = tunnel.host, tunnel.port
                route = state.route_name(tunnel.decision.route)
                if not tunnel.decision.allowed:
                    reason = tunnel.decision.reason
                elif tunnel.decision.route is not None and tunnel.decision.route.tls_passthrough:
                    flow.metadata[META] = "allow"
                    state.log.decision(
                        "tcp",
                        True,
                        host=host,
                        port=port,
                        route=route,
                        reason="tls_passthrough route",
                    )
                    return
                else:
                    reason = (
                        f"non-HTTP bytes inside the tunnel to {host} (the route is not"
                        " tls_passthrough)"
                    )
        except Exception as exc:  # fail closed
            logger.exception("egress: tcp_start failed")
            reason = f"internal error: {exc}"
        flow.metadata[META] = "deny"
        state.denied_servers.add(flow.server_conn.id)
        flow.server_conn.error = f"bot-bottle egress: {reason}"
        if flow.killable:
            flow.kill()
        state.log.decision("tcp", False, host=host, port=port, route=route, reason=reason)

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        if flow.metadata.get(META) != "allow" and flow.messages:
            flow.messages[-1].content = b""  # never relay a byte of a denied stream
