"""CONNECT tunnels, and which protocol layers may run inside them.

* ``http_connect``: every well-formed CONNECT is accepted, routed or not (with
  ``connection_strategy=lazy`` nothing is dialled or resolved). A denied tunnel
  is remembered, and whatever the agent sends through it is refused from the
  inside: TLS is completed with the bottle's CA and the request answered with the
  explanatory 403, so curl, Python, node and git all show why. A target that is
  not a host name or address at all is refused at the CONNECT.
* ``next_layer``: only HTTP, TLS and raw TCP may run in a tunnel (raw TCP is
  then refused in ``tcp_start``; a ``tls_passthrough`` route passes only TLS
  whose ClientHello egress read). Any
  other layer mitmproxy would pick (its DNS layer for port 53, UDP, QUIC) is
  replaced: inside TLS the proxy terminated, by HTTP (so a refusal can still be
  read, and DNS or anything else fails to parse); elsewhere by a layer that
  closes the connection. Nothing the addon does not inspect carries a byte.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator
from typing import Any

from mitmproxy import connection, http
from mitmproxy.proxy import commands, events, layer, layers
from mitmproxy.proxy.layers.http import HTTPMode

from bot_bottle_sidecars.routes.hosts import normalize_host
from bot_bottle_sidecars.routes.policy import Decision

from . import refusal
from .state import META, EgressState, Tunnel

__all__ = ["RefuseLayer", "Tunnels"]

logger = logging.getLogger(__name__)

_INSPECTED = (layers.HttpLayer, layers.ServerTLSLayer, layers.ClientTLSLayer, layers.TCPLayer)


class RefuseLayer(layer.Layer):
    """Closes the client connection at once; never dials anything."""

    def _handle_event(self, event: events.Event) -> Generator[commands.Command, Any, None]:
        if isinstance(event, events.Start):
            yield commands.CloseConnection(self.context.client)


class Tunnels:
    def __init__(self, state: EgressState) -> None:
        self.state = state

    def http_connect(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        host: str | None = None
        try:
            host = normalize_host(req.host)
            decision = self.state.policy.tunnel(host, req.port)
            self.state.tunnels[flow.client_conn.id] = Tunnel(host, req.port, decision)
        except Exception as exc:  # no host (or a failure): refused at the CONNECT, fail closed
            if isinstance(exc, ValueError):
                reason = f"CONNECT target {req.host[:100]!r} is not a host: {exc}"
            else:
                logger.exception("egress: http_connect failed")
                reason = f"internal error: {exc}"
            decision = Decision(False, reason, ask=False)
            flow.metadata[META] = "deny"
            flow.response = refusal.denied(decision.reason, None, None, ask=False)
        self.state.log.decision(
            "connect",
            decision.allowed,
            host=host or req.host,
            port=req.port,
            method="CONNECT",
            route=self.state.route_name(decision.route),
            reason=decision.reason,
        )

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        chosen = nextlayer.layer
        if chosen is None or isinstance(chosen, _INSPECTED):
            return
        context = nextlayer.context
        with contextlib.suppress(ValueError):
            context.layers.remove(chosen)
        if context.client.tls:
            nextlayer.layer = layers.HttpLayer(context, HTTPMode.transparent)
        else:
            nextlayer.layer = RefuseLayer(context)
        try:
            address = context.server.address
            self.state.log.decision(
                "layer",
                False,
                host=str(address[0]) if address else None,
                port=address[1] if address else None,
                reason=f"{type(chosen).__name__} traffic is not inspected by egress, so it is"
                " refused",
            )
        except Exception:  # the layer is refused already; only the log line is lost
            logger.exception("egress: logging a refused layer failed")

    def client_disconnected(self, client: connection.Client) -> None:
        state = self.state
        state.tunnels.pop(client.id, None)
        state.plain_targets.pop(client.id, None)
        state.refused_tls.discard(client.id)
        for key in [k for k in state.upstream_notes if k[0] == client.id]:
            del state.upstream_notes[key]
