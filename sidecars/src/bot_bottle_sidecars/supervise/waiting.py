"""A tool call waiting for the operator: poll the queue, keep the client's call alive.

The answer arrives as a file (the operator's side may run or restart at any
time), so the wait is a poll of that file; between polls the call reports
progress every ``progress_s`` seconds, well inside the clients' idle timeouts.

A granted route is only worth telling the agent about once egress serves it:
the operator's side reloads egress after writing the routes, and egress names
the routes file it serves in its ready file (``routes_sha256``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot_bottle_sidecars.proposals import Answer, Queue
from bot_bottle_sidecars.routes import routes_digest

__all__ = ["Report", "Ticker", "await_answer", "await_egress"]

# (progress so far, a line for the person watching) -> sent to the client
Report = Callable[[float, str], Awaitable[None]]


class Ticker:
    """Calls ``report`` at once and then every ``every`` seconds, for one tool call (MCP
    wants the progress of one call to grow)."""

    def __init__(self, report: Report, every: float) -> None:
        self.report = report
        self.every = every
        self.start = time.monotonic()
        self.next = self.start
        self.count = 0

    async def tick(self, message: str) -> None:
        now = time.monotonic()
        if now >= self.next:
            self.count += 1
            await self.report(float(self.count), f"{message} ({now - self.start:.0f} s)")
            self.next = now + self.every


async def await_answer(queue: Queue, pid: str, ticker: Ticker, *, poll_s: float) -> Answer:
    """The operator's answer to proposal ``pid`` once it has taken effect.

    ``CorruptFile`` propagates (the tool reports it with its path).
    """
    while True:
        answer = queue.answer(pid)
        if answer is not None and answer.applied_at is not None:
            return answer
        await ticker.tick(f"waiting for the operator to answer proposal {pid}")
        await asyncio.sleep(poll_s)


def served_digest(ready_file: Path) -> str | None:
    """The digest of the routes file egress serves, from its ready file."""
    try:
        info = json.loads(ready_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    digest = info.get("routes_sha256") if isinstance(info, dict) else None
    return digest if isinstance(digest, str) else None


def _current_digest(routes_file: Path) -> str | None:
    try:
        return routes_digest(routes_file.read_bytes())
    except OSError:
        return None


async def await_egress(
    answer: Answer,
    routes_file: Path,
    ready_file: Path,
    ticker: Ticker,
    *,
    poll_s: float,
    timeout_s: float,
) -> bool:
    """Wait until egress serves the routes the answer wrote (or a later file); False on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        served = served_digest(ready_file)
        if served is not None and served in (answer.routes_sha256, _current_digest(routes_file)):
            return True
        if time.monotonic() > deadline:
            return False
        await ticker.tick("waiting for egress to load the new route")
        await asyncio.sleep(poll_s)
