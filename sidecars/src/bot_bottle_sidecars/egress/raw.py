"""Raw TCP inside a tunnel (bytes that are neither TLS nor HTTP, or TLS mitmproxy
did not recognise as such): always refused.

A ``tls_passthrough`` route passes TLS only after egress has read its
ClientHello and checked the SNI (``tls_guard``); mitmproxy then relays it without
calling these hooks. Anything else that reaches raw TCP, on a passthrough route
too, could carry a name egress never read (a ClientHello whose record header says
``03 04`` is one), so it goes nowhere.

A TCP flow is not stopped by ``flow.kill()`` (mitmproxy dials and relays
regardless); setting the server connection's error before it opens is what
stops it.
"""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import tcp

from .connections import close_clients
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
                else:
                    reason = (
                        f"non-HTTP bytes inside the tunnel to {host} that are not TLS egress could"
                        " read (only a readable ClientHello opens a tls_passthrough route)"
                    )
        except Exception as exc:  # fail closed
            logger.exception("egress: tcp_start failed")
            reason = f"internal error: {exc}"
        flow.metadata[META] = "deny"
        flow.server_conn.error = f"bot-bottle egress: {reason}"
        if flow.killable:
            flow.kill()
        # Close the agent's side too (after an upgrade mitmproxy would leave it hanging);
        # later, so the hook's own task is not cancelled under it.
        client_id = flow.client_conn.id
        asyncio.get_running_loop().call_soon(close_clients, lambda c: c.id == client_id)
        state.log.decision("tcp", False, host=host, port=port, route=route, reason=reason)

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        if flow.messages:
            flow.messages[-1].content = b""  # never relay a byte of a denied stream
