"""An agent flooding supervise: it must not take the bundle (and so egress) down.

Supervise shares the bundle container with egress: the same memory limit (the
docker backend gives the bundle 512 MB; egress idles near 70 MB) and the same
fate, since the bundle's init stops egress when a daemon dies. So whatever an
agent sends (the largest bodies, many at once, bodies that never finish, many
sessions), the server's memory stays bounded and it still answers afterwards.

The server runs as the bundle runs it (``python -m bot_bottle_sidecars.supervise``,
configured by environment), in a subprocess whose memory is watched; one that
grows past the budget is killed at once, so a regression fails fast instead of
taking this machine's memory.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from bot_bottle_sidecars.supervise.config import MAX_CONNECTIONS, MAX_REQUEST_BYTES, MAX_SESSIONS
from mcp import Client

MiB = 1024 * 1024
# What supervise may grow by under any flood: with egress's ~70 MB and supervise's own
# ~70 MB at rest, the 512 MB bundle keeps more than half its memory for egress.
GROWTH_BUDGET = 128 * MiB
PROTOCOL = "2025-06-18"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    queue: Path
    base: int = 0
    peak: int = 0
    killed: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)

    def watch(self) -> None:
        """Track the peak; kill the server the moment it passes the budget."""
        self.base = rss(self.proc.pid)

        def run() -> None:
            while not self._stop.is_set() and self.proc.poll() is None:
                now = rss(self.proc.pid)
                self.peak = max(self.peak, now)
                if now - self.base > GROWTH_BUDGET:
                    self.killed = True
                    self.proc.kill()
                time.sleep(0.005)

        threading.Thread(target=run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    @property
    def grew(self) -> int:
        return self.peak - self.base


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    queue = tmp_path / "queue"
    queue.mkdir()
    (tmp_path / "routes.json").write_text('{"routes": []}')
    port = free_port()
    ready = tmp_path / "supervise.ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
    env.update(
        {
            "BOT_BOTTLE_SUPERVISE_QUEUE": str(queue),
            "BOT_BOTTLE_EGRESS_ROUTES": str(tmp_path / "routes.json"),
            "BOT_BOTTLE_EGRESS_READY_FILE": str(tmp_path / "egress.ready"),
            "BOT_BOTTLE_SUPERVISE_LISTEN_HOST": "127.0.0.1",
            "BOT_BOTTLE_SUPERVISE_PORT": str(port),
            "BOT_BOTTLE_SUPERVISE_READY_FILE": str(ready),
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot_bottle_sidecars.supervise"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    s = Server(proc, port, queue)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "supervise did not start"
            time.sleep(0.02)
        yield s
    finally:
        s.stop()


# ----------------------------------------------------------------- a raw HTTP client


async def post(
    port: int, body: bytes, headers: dict[str, str], *, finish: bool = True
) -> tuple[int, dict[str, str]] | asyncio.StreamWriter:
    """POST ``body`` to /mcp; without ``finish`` the last byte is never sent (the writer
    comes back, holding the connection)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: supervise:{port}\r\n"
        "Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    )
    writer.write(head.encode() + (body if finish else body[:-1]))
    try:
        await writer.drain()
    except ConnectionError:
        writer.close()
        return 0, {}
    if not finish:
        return writer
    try:
        status = await asyncio.wait_for(reader.readline(), 60)
        got: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), 60)) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            got[key.strip().lower()] = value.strip()
    except ConnectionError:
        return 0, {}
    finally:
        writer.close()
    return (int(status.split()[1]) if status else 0), got


def initialize(i: int = 1) -> bytes:
    params = {
        "protocolVersion": PROTOCOL,
        "capabilities": {},
        "clientInfo": {"name": f"flood{i}", "version": "0"},
    }
    message = {"jsonrpc": "2.0", "id": i, "method": "initialize", "params": params}
    return json.dumps(message).encode()


async def open_session(port: int) -> dict[str, str]:
    status, headers = await post(port, initialize(), {})
    assert status == 200, status
    session = {"mcp-session-id": headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL}
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    await post(port, json.dumps(note).encode(), session)
    return session


@functools.cache
def heavy_call(size: int, i: int = 0) -> bytes:
    """An egress-block call of about ``size`` bytes that parses into the most objects:
    a path_allowlist of tiny distinct prefixes. (The same call again joins the same
    proposal; parsing it costs the server as much.)"""
    n = max(1, (size - 300) // 10)
    args = {
        "host": f"h{i}.example.test",
        "justification": "flood",
        "path_allowlist": [f"/{j:06d}" for j in range(n)],
    }
    call = {
        "jsonrpc": "2.0",
        "id": 100 + i,
        "method": "tools/call",
        "params": {"name": "egress-block", "arguments": args},
    }
    return json.dumps(call, separators=(",", ":")).encode()


def still_answers(port: int, within: float) -> list[str]:
    """A fresh client's tools/list (what the agent's own client would do next), tried
    until it succeeds or ``within`` seconds have passed."""

    async def names() -> list[str]:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            return sorted(t.name for t in (await client.list_tools()).tools)

    deadline = time.monotonic() + within
    while True:
        try:
            return anyio.run(names)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ------------------------------------------------------------------------- the tests

SIZES = {
    "at the limit": MAX_REQUEST_BYTES - 1024,
    "1 MiB": MiB,
    "the SDK's own limit": 4 * MiB - 1024,
}
COUNTS = {"below the connection limit": MAX_CONNECTIONS - 2, "far above it": 4 * MAX_CONNECTIONS}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("count", COUNTS.values(), ids=COUNTS.keys())
@pytest.mark.parametrize("finish", [True, False], ids=["whole", "never finished"])
def test_a_flood_of_large_calls_stays_in_budget_and_the_server_answers(server, size, count, finish):
    async def flood() -> list:
        session = await open_session(server.port)
        server.watch()
        calls = [post(server.port, heavy_call(size), session, finish=finish) for _ in range(count)]
        got = await asyncio.gather(*calls, return_exceptions=True)
        await asyncio.sleep(0.5)  # unfinished bodies are held while the server buffers them
        for g in got:
            if isinstance(g, asyncio.StreamWriter):
                g.close()
        return got

    asyncio.run(flood())
    # The server may still be parsing what it was sent; it answers once it is through.
    tools = still_answers(server.port, within=30)
    assert not server.killed and server.proc.poll() is None, (
        f"supervise grew past {GROWTH_BUDGET // MiB} MB (peak +{server.grew // MiB} MB)"
    )
    print(f"supervise grew by {server.grew / MiB:.0f} MB")
    assert tools == ["capability-block", "egress-block", "list-egress-routes"]


def test_sessions_beyond_the_limit_are_refused_and_the_server_answers(server):
    async def flood() -> list[int]:
        server.watch()
        out = []
        # Batches well under the connection limit: every refusal here is the session limit's.
        for start in range(0, 3 * MAX_SESSIONS, 16):
            batch = [post(server.port, initialize(i), {}) for i in range(start, start + 16)]
            out += [status for status, _ in await asyncio.gather(*batch)]
        return out

    statuses = asyncio.run(flood())
    assert statuses.count(200) == MAX_SESSIONS, statuses
    assert set(statuses) <= {200, 503}, statuses
    assert not server.killed and server.proc.poll() is None
    # An idle session lapses after 30 min; until then a new one is refused, clearly.
    status, _ = asyncio.run(post(server.port, initialize(), {}))
    assert status == 503
