"""Every connection egress opens upstream passes here (HTTP, passthrough, raw TCP).

``server_connect`` is the backstop and the dialler's address book:

* nothing is dialled for a denied tunnel, a host without a route, or a port the
  route does not list;
* a pinned name is dialled at its pin; a route that names an address is dialled
  as written; any other name is resolved here and answers in non-public ranges
  are refused (:mod:`.addresses`);
* the connection gets ``egress_connect_timeout`` seconds to connect (and to
  finish TLS), then it is cancelled and the client gets a 504.

The name goes back on the connection once it is open, so mitmproxy can reuse it
for the next request to the same host (its reuse match compares addresses).
"""

from __future__ import annotations

import asyncio
import logging
import socket

from mitmproxy import connection, ctx, tls
from mitmproxy.proxy import server_hooks

from bot_bottle_sidecars.routes.hosts import is_ip_literal, normalize_host, shown_host

from .addresses import UpstreamRefused, pick_address
from .state import EgressState, UpstreamNote

__all__ = ["Upstream", "failure_cause", "note_key"]

logger = logging.getLogger(__name__)

_NAME = "_bot_bottle_name"


def note_key(client_id: str, host: str, port: int) -> tuple[str, str, int]:
    return client_id, shown_host(host), port


def failure_cause(message: str, note: UpstreamNote | None) -> tuple[int, str]:
    """(HTTP status, cause in words) for an upstream failure."""
    if note is not None and note.timeout_s is not None:
        return 504, f"upstream did not answer within {note.timeout_s:g} s (timed out)"
    lowered = message.lower()
    text = message.removeprefix("Connection killed: ").removeprefix("bot-bottle egress: ")
    if "certificate" in lowered and "verif" in lowered:
        return 502, f"the upstream certificate is not trusted ({text})"
    if "connection refused" in lowered:
        return 502, "upstream refused the connection"
    return 502, text


class Upstream:
    def __init__(self, state: EgressState) -> None:
        self.state = state
        self._timers: dict[str, asyncio.TimerHandle] = {}

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        server = data.server
        if server.address is None or server.error:
            return
        try:
            await self._admit(data)
        except Exception as exc:  # an exception here would let mitmproxy dial anyway
            logger.exception("egress: server_connect failed")
            server.error = f"bot-bottle egress: internal error: {exc}"
        if server.error:
            return
        self._arm_timeout(data)

    async def _admit(self, data: server_hooks.ServerConnectionHookData) -> None:
        state, server = self.state, data.server
        host, port = str(server.address[0]), int(server.address[1])
        tunnel = state.tunnels.get(data.client.id)
        if tunnel is not None and not tunnel.decision.allowed:
            server.error = f"bot-bottle egress: {tunnel.decision.reason}"
            return
        decision = state.policy.tunnel(host, port)
        if not decision.allowed:
            server.error = f"bot-bottle egress: {decision.reason}"
            state.log.decision("connection", False, host=host, port=port, reason=decision.reason)
            return
        name = normalize_host(host)
        pin = state.pins.get((name, port)) or state.pins.get((name, None))
        if pin is not None:
            address = (pin[0], pin[1] or port)
        elif is_ip_literal(name):
            address = (name, port)  # the route names this address itself
        else:
            timeout = float(ctx.options.egress_connect_timeout)
            try:
                address = (await asyncio.wait_for(pick_address(name, port), timeout), port)
            except TimeoutError:
                server.error = f"bot-bottle egress: looking up {name} timed out after {timeout:g} s"
                return
            except socket.gaierror as exc:
                server.error = (
                    f"bot-bottle egress: the name {name} does not resolve ({exc.strerror})"
                )
                return
            except UpstreamRefused as exc:
                key = note_key(data.client.id, name, port)
                state.upstream_notes[key] = UpstreamNote(refused=str(exc))
                server.error = f"bot-bottle egress: {exc}"
                return
        if server.sni is None and not is_ip_literal(name):
            server.sni = name  # TLS to the pinned address still names (and verifies) the host
        setattr(server, _NAME, (host, port))
        server.address = address

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        named = getattr(data.server, _NAME, None)
        if named is not None:
            # Bypasses the "open connection" guard: only mitmproxy's reuse match reads it.
            data.server.__dict__["address"] = named
        if not data.server.tls:
            self._disarm(data.server)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._disarm(data.server)

    def server_disconnected(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._disarm(data.server)

    def tls_established_server(self, data: tls.TlsData) -> None:
        self._disarm(data.conn)

    def tls_failed_server(self, data: tls.TlsData) -> None:
        self._disarm(data.conn)

    # ------------------------------------------------------------------ timeouts

    def _arm_timeout(self, data: server_hooks.ServerConnectionHookData) -> None:
        task = asyncio.current_task()
        if task is None:
            return
        server = data.server
        named = getattr(server, _NAME, None) or server.address
        key = note_key(data.client.id, str(named[0]), int(named[1]))
        delay = float(ctx.options.egress_connect_timeout)

        def expire() -> None:
            self._timers.pop(server.id, None)
            self.state.upstream_notes[key] = UpstreamNote(timeout_s=delay)
            task.cancel()

        self._timers[server.id] = asyncio.get_running_loop().call_later(delay, expire)

    def _disarm(self, server: connection.Connection) -> None:
        timer = self._timers.pop(server.id, None)
        if timer is not None:
            timer.cancel()
