"""The egress proxy's throughput tuning: uvloop when present, larger reads in mitmproxy.

The read patch reaches into mitmproxy's internals: these tests fail when the
version pinned in the Dockerfile changes or the patch no longer takes effect, so
a mitmproxy upgrade re-checks it (and may drop it).
"""

from __future__ import annotations

import asyncio
import re
import sys
import types

import pytest
from bot_bottle_sidecars import context_dir
from bot_bottle_sidecars.egress import tuning

mitmproxy_version = pytest.importorskip("mitmproxy.version")
server = pytest.importorskip("mitmproxy.proxy.server")
events = pytest.importorskip("mitmproxy.proxy.events")
connection = pytest.importorskip("mitmproxy.connection")

pinned = pytest.mark.skipif(
    mitmproxy_version.VERSION != tuning.MITMPROXY_VERSION,
    reason=f"mitmproxy {mitmproxy_version.VERSION} here; the image pins {tuning.MITMPROXY_VERSION}",
)


@pytest.fixture
def restore_handler(monkeypatch):
    """Undo the class patch after the test."""
    handler = server.ConnectionHandler
    monkeypatch.setattr(handler, "handle_connection", handler.handle_connection)
    return handler


def relay(handler, payload: bytes) -> list[int]:
    """Run ``handler.handle_connection`` over a reader holding ``payload``; the sizes it reads."""

    async def scenario() -> list[int]:
        reader = asyncio.StreamReader()
        reader.feed_data(payload)
        reader.feed_eof()
        conn = connection.Server(address=("example.test", 443))
        conn.state = connection.ConnectionState.CAN_READ
        writer = types.SimpleNamespace(close=lambda: None)
        sizes: list[int] = []

        async def server_event(event) -> None:
            if isinstance(event, events.DataReceived):
                sizes.append(len(event.data))

        async def drain_writers() -> None:
            pass

        stub = types.SimpleNamespace(
            transports={conn: server.ConnectionIO(reader=reader, writer=writer)},
            server_event=server_event,
            drain_writers=drain_writers,
        )
        await handler.handle_connection(stub, conn)
        assert conn not in stub.transports
        return sizes

    return asyncio.run(scenario())


def test_the_image_pins_the_version_the_patch_was_written_for():
    text = (context_dir() / "Dockerfile").read_text()
    assert re.search(r'"mitmproxy==([^"]+)"', text).group(1) == tuning.MITMPROXY_VERSION
    assert re.search(r'"uvloop==[^"]+"', text)


@pinned
def test_unpatched_mitmproxy_reads_64k_at_a_time(restore_handler):
    # What the patch is for; if this fails, mitmproxy changed how it reads.
    payload = b"x" * (1 << 20)
    sizes = relay(restore_handler, payload)
    assert sum(sizes) == len(payload)
    assert max(sizes) == 65535


@pinned
def test_enlarge_reads_makes_mitmproxy_read_larger_chunks(restore_handler):
    assert tuning.enlarge_reads() is None
    assert tuning.enlarge_reads() is None  # a second call changes nothing
    payload = b"x" * (1 << 20) + b"tail"
    sizes = relay(restore_handler, payload)
    assert sum(sizes) == len(payload)
    assert sizes[0] == tuning.READ_SIZE > 65535
    assert len(sizes) == len(payload) // tuning.READ_SIZE + 1


def test_enlarge_reads_leaves_another_mitmproxy_version_alone(restore_handler, monkeypatch):
    monkeypatch.setattr(mitmproxy_version, "VERSION", "0.0.1")
    before = restore_handler.handle_connection
    assert "0.0.1" in tuning.enlarge_reads()
    assert restore_handler.handle_connection is before


def test_use_uvloop_sets_its_policy_when_installed(monkeypatch):
    class Policy(asyncio.DefaultEventLoopPolicy):
        pass

    chosen = []
    monkeypatch.setitem(sys.modules, "uvloop", types.SimpleNamespace(EventLoopPolicy=Policy))
    monkeypatch.setattr(asyncio, "set_event_loop_policy", chosen.append)
    assert tuning.use_uvloop() is True
    assert [type(p) for p in chosen] == [Policy]


def test_use_uvloop_falls_back_to_the_standard_loop(monkeypatch):
    chosen = []
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import fails
    monkeypatch.setattr(asyncio, "set_event_loop_policy", chosen.append)
    assert tuning.use_uvloop() is False
    assert chosen == []
