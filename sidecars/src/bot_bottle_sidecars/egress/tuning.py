"""Throughput tuning of the egress proxy, applied by :func:`bot_bottle_sidecars.egress.run.main`.

A streamed download costs mitmproxy a fixed amount of Python work per chunk it
relays (decrypt, the layer stack, the HTTP/1 body reader, encrypt, one write per
command), on top of the per-byte cost of TLS. Two changes cut the per-chunk part:

* :func:`use_uvloop`: uvloop's event loop, when the module is installed (the
  image installs it; elsewhere the standard loop is used). Its transports do
  the socket reads and writes in C.
* :func:`enlarge_reads`: mitmproxy 11.0.2 reads every connection 64 KiB at a
  time (``ConnectionHandler.handle_connection``: ``reader.read(65535)``), and
  asyncio's stream reader stops reading the socket once 128 KiB wait in it.
  The patch makes each read take up to :data:`READ_SIZE` bytes of what has
  arrived, and lets asyncio queue twice that before it pauses the socket, so
  a busy connection is relayed in a quarter of the steps. Backpressure is
  unchanged (mitmproxy still drains its writers before the next read); a
  connection's buffers grow by a few times :data:`READ_SIZE` at most.

On ``bench/egress.py`` (2 cores shared by client, upstream and proxy) the
100 MB download through egress went from ~275 to ~290 MB/s with uvloop alone,
~370 with the larger reads alone, ~400 with both; the peak memory of the
bundle rose by ~3 MB.

The patch depends on mitmproxy's internals, so it only applies to
:data:`MITMPROXY_VERSION` (the version the Dockerfile pins); otherwise the
proxy runs unpatched and says so on stderr. ``sidecars/tests/test_egress_tuning.py``
fails if the pin changes or the patch stops working, so a mitmproxy upgrade
re-checks it.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from typing import Any

MITMPROXY_VERSION = "11.0.2"
READ_SIZE = 256 * 1024

_PATCHED = "_bot_bottle_large_reads"


def use_uvloop() -> bool:
    """Make uvloop's loop the one ``asyncio.run`` creates; False when uvloop is absent."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


class _LargeReads:
    """The ``reader`` of one connection in mitmproxy's handler: reads of up to ``size``."""

    __slots__ = ("_reader", "_size")

    def __init__(self, reader: asyncio.StreamReader, size: int) -> None:
        self._reader = reader
        self._size = size

    async def read(self, n: int = -1) -> bytes:
        return await self._reader.read(max(n, self._size))


def enlarge_reads(size: int = READ_SIZE) -> str | None:
    """Patch mitmproxy to relay in reads of up to ``size`` bytes.

    Returns ``None`` when the patch is in place, else why it was not applied.
    Applying it twice is harmless.
    """
    from mitmproxy import version
    from mitmproxy.proxy import server

    if version.VERSION != MITMPROXY_VERSION:
        return f"mitmproxy {version.VERSION} is not {MITMPROXY_VERSION}"
    handler = server.ConnectionHandler
    original = handler.handle_connection
    if getattr(original, _PATCHED, False):
        return None

    @functools.wraps(original)
    async def handle_connection(self: Any, connection: Any) -> None:
        io = self.transports[connection]
        if isinstance(io.reader, asyncio.StreamReader):
            # asyncio stops reading the socket once twice the limit waits in the
            # reader (default limit 64 KiB): let two large reads' worth queue.
            if isinstance(getattr(io.reader, "_limit", None), int):
                io.reader._limit = max(io.reader._limit, size)
            io.reader = _LargeReads(io.reader, size)
        await original(self, connection)

    setattr(handle_connection, _PATCHED, True)
    handler.handle_connection = handle_connection  # type: ignore[method-assign]
    return None


def apply() -> None:
    """Everything above, before mitmproxy creates its event loop; reports what it skips."""
    use_uvloop()
    skipped = enlarge_reads()
    if skipped:
        print(f"bot-bottle egress: larger reads not enabled ({skipped})", file=sys.stderr)
