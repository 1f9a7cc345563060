"""Closing client connections the proxy is serving (used when routes are reloaded).

mitmproxy keeps every accepted client in the ``proxyserver`` addon's
``connections`` (client id -> handler), whatever it became: an intercepted
tunnel idle between requests, a passed-through TLS stream, plain keep-alive.
Closing the writer first makes the close unconditional; cancelling the handler
task tears down the layers and every server connection of that client.
"""

from __future__ import annotations

from collections.abc import Callable

from mitmproxy import connection, ctx

__all__ = ["close_clients"]


def close_clients(should_close: Callable[[connection.Client], bool]) -> list[str]:
    """Close every client connection for which ``should_close`` is true; their ids."""
    proxyserver = ctx.master.addons.get("proxyserver")
    if proxyserver is None:
        return []
    closed = []
    for client_id, handler in list(proxyserver.connections.items()):
        if not should_close(handler.client):
            continue
        io = handler.transports.get(handler.client)
        if io is None:
            continue
        if io.writer is not None:
            io.writer.close()
        if io.handler is not None:
            io.handler.cancel("closed: the routes no longer allow it")
        closed.append(client_id)
    return closed
