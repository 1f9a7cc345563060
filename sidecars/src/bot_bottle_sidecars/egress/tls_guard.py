"""TLS from the agent: only inside a CONNECT tunnel, with an SNI naming the
tunnel's host, and passed through unopened only for a ``tls_passthrough`` route.

A tunnel that is denied is still intercepted (the bottle's CA signs a
certificate for its name; nothing is dialled), so the request inside gets the
explanatory 403. A refused handshake is closed in ``tls_start_client``.
"""

from __future__ import annotations

import logging

from mitmproxy import tls

from bot_bottle_sidecars.routes.hosts import shown_host

from .state import EgressState

__all__ = ["TlsGuard"]

logger = logging.getLogger(__name__)


class TlsGuard:
    def __init__(self, state: EgressState) -> None:
        self.state = state

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        client = data.context.client
        sni = data.client_hello.sni
        host: str | None = None
        port: int | None = None
        route: str | None = None
        try:
            tunnel = self.state.tunnels.get(client.id)
            if tunnel is None:
                reason = "TLS is only accepted inside a CONNECT tunnel"
            else:
                host, port = tunnel.host, tunnel.port
                route = self.state.route_name(tunnel.decision.route)
                if sni is not None and shown_host(sni) != host:
                    reason = f"TLS SNI {shown_host(sni)} does not match the CONNECT target {host}"
                elif tunnel.passthrough and sni is None:
                    # Unopened TLS is forwarded as sent: its SNI must be readable and the
                    # route's (mitmproxy reads an SNI it cannot parse as none at all).
                    reason = (
                        f"TLS to the tls_passthrough route {host} must name it in its SNI"
                        " (none, or none that could be read, was sent)"
                    )
                elif tunnel.passthrough:
                    data.ignore_connection = True
                    self.state.log.decision(
                        "tls",
                        True,
                        host=host,
                        port=port,
                        route=route,
                        reason=f"tls_passthrough route (SNI {shown_host(sni or '')})",
                    )
                    return
                else:
                    data.ignore_connection = False  # intercept: requests inside are checked
                    return
        except Exception as exc:  # fail closed
            logger.exception("egress: tls_clienthello failed")
            reason = f"internal error: {exc}"
        data.ignore_connection = False
        self.state.refused_tls.add(client.id)
        self.state.log.decision(
            "tls",
            False,
            host=host or (sni and shown_host(sni)),
            port=port,
            route=route,
            reason=reason,
        )

    def tls_start_client(self, data: tls.TlsData) -> None:
        # Runs after mitmproxy's tlsconfig addon: taking its TLS object away makes
        # mitmproxy close the client connection instead of completing the handshake.
        if data.context.client.id in self.state.refused_tls:
            data.ssl_conn = None
