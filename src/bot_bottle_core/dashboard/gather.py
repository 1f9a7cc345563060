"""One refresh: every backend's bottles and every pending proposal, read from the engines and files.

Runs in a worker thread, never in the UI's: an engine that is slow to answer
delays the next picture, not a key press. What did not change since the last
refresh (a queue directory, a decision log, a launch record) is not read again.
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import launch_record
from ..cli.context import AppContext
from ..errors import BotBottleError
from ..launch_record import LaunchStatus
from ..state import read_metadata
from .model import AgentRow, Snapshot, group_pending
from .supervising import Supervisor

# How long a bottle's launch status is trusted before its launcher is looked up again.
STATUS_TTL_S = 5.0


class Gatherer:
    def __init__(self, app: AppContext, supervisor: Supervisor) -> None:
        self.app = app
        self.supervisor = supervisor
        self._status: dict[Path, tuple[tuple[int, int], float, LaunchStatus | None]] = {}

    def __call__(self) -> Snapshot:
        problems: list[str] = []
        agents, backends = self._agents(problems)
        listing = self.supervisor.listing()
        problems += [f"skipped the queue file {p.path}: {p.reason}" for p in listing.problems]
        return Snapshot(
            groups=group_pending(listing.items),
            agents=tuple(agents),
            backends=tuple(backends),
            problems=tuple(problems),
        )

    def status(self, slug: str) -> LaunchStatus | None:
        """launch_record's status; re-read when the record changed or a few seconds passed."""
        path = self.app.store.path(slug)
        try:
            info = (path / launch_record.LAUNCH).stat()
        except OSError:
            return None
        key = (info.st_mtime_ns, info.st_size)
        now = time.monotonic()
        cached = self._status.get(path)
        if cached is None or cached[0] != key or now - cached[1] > STATUS_TTL_S:
            cached = (key, now, launch_record.status(path))
            self._status[path] = cached
        return cached[2]

    def _agents(self, problems: list[str]) -> tuple[list[AgentRow], list[str]]:
        try:
            found = self.app.plugins.enumerate_active()
        except BotBottleError as exc:  # no backend can list at all
            problems.append(str(exc))
            return [], []
        problems += found.problems
        rows = []
        for b in found.results:
            status = self.status(b.slug)
            rows.append(
                AgentRow(
                    backend=b.backend,
                    slug=b.slug,
                    agent=b.agent,
                    label=b.label,
                    started_at=b.started_at,
                    services=tuple(b.services),
                    status=None if status is None else str(status),
                    last_denial=self.supervisor.last_denial(b.slug),
                )
            )
        listed = {b.slug for b in found.results}
        rows += self._starting(listed)
        return rows, [*found.answered, *found.failed]

    def _starting(self, listed: set[str]) -> list[AgentRow]:
        """Launches under way (this dashboard's among them) that no backend lists yet."""
        rows = []
        for slug in self.app.store.slugs():
            if slug in listed or self.status(slug) is not LaunchStatus.STARTING:
                continue
            try:
                meta = read_metadata(self.app.store.path(slug))
            except BotBottleError:
                continue  # not planned yet: nothing to show
            rows.append(
                AgentRow(
                    backend=meta.backend,
                    slug=slug,
                    agent=meta.agent,
                    label=meta.label,
                    started_at=meta.started_at,
                    status=str(LaunchStatus.STARTING),
                    listed=False,
                )
            )
        return rows


def gather(app: AppContext, supervisor: Supervisor) -> Snapshot:
    """One snapshot, reading everything (``--once``)."""
    return Gatherer(app, supervisor)()
