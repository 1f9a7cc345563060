"""``state/<slug>/launch.json``: which bot-bottle launched a bottle, and whether it finished.

A launch killed midway (the terminal closed, SIGKILL) runs no clean-up, and
a backend cannot tell its leftovers from a launch still under way. The
record can: it names the launching process (see :mod:`.process_stamp`) and
is marked completed once the backend's launch has returned. From it:

* ``starting``: not completed, its launcher still runs;
* ``incomplete``: not completed, its launcher is gone -- nothing will finish it;
* ``attached``: completed, the process holding its terminal still runs;
* ``detached``: completed, that process is gone (``bot-bottle attach`` re-enters).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import attrs

from .process_stamp import ProcessStamp
from .state import now_iso, write_json_atomic

LAUNCH = "launch.json"


class LaunchStatus(StrEnum):
    STARTING = "starting"
    INCOMPLETE = "incomplete"
    ATTACHED = "attached"
    DETACHED = "detached"


@attrs.frozen
class LaunchRecord:
    launcher: ProcessStamp
    begun_at: str
    completed_at: str | None = None

    @property
    def status(self) -> LaunchStatus:
        alive = self.launcher.is_alive()
        if self.completed_at is None:
            return LaunchStatus.STARTING if alive else LaunchStatus.INCOMPLETE
        return LaunchStatus.ATTACHED if alive else LaunchStatus.DETACHED


def write(slug_dir: Path, record: LaunchRecord) -> None:
    write_json_atomic(slug_dir / LAUNCH, attrs.asdict(record))


def read(slug_dir: Path) -> LaunchRecord | None:
    """The record, or None when there is none (or it cannot be read)."""
    try:
        raw = json.loads((slug_dir / LAUNCH).read_text(encoding="utf-8"))
        return LaunchRecord(
            launcher=ProcessStamp(int(raw["launcher"]["pid"]), str(raw["launcher"]["started"])),
            begun_at=str(raw["begun_at"]),
            completed_at=raw.get("completed_at"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status(slug_dir: Path) -> LaunchStatus | None:
    record = read(slug_dir)
    return None if record is None else record.status


def begin(slug_dir: Path) -> None:
    """This process is launching the bottle (``start`` and ``resume``)."""
    write(slug_dir, LaunchRecord(ProcessStamp.current(), now_iso()))


def mark_completed(slug_dir: Path) -> None:
    """The backend's launch has returned: the bottle is whole."""
    record = read(slug_dir) or LaunchRecord(ProcessStamp.current(), now_iso())
    write(slug_dir, attrs.evolve(record, completed_at=now_iso()))


@contextlib.contextmanager
def holding(slug_dir: Path) -> Iterator[None]:
    """This process holds the bottle's terminal (``attach``) for the block.

    Afterwards the previous holder is put back if it still runs, so a second
    terminal leaving does not make the first one's bottle look detached.
    """
    before = read(slug_dir)
    if before is None:
        yield
        return
    write(slug_dir, attrs.evolve(before, launcher=ProcessStamp.current()))
    try:
        yield
    finally:
        # The state dir is gone when the bottle was stopped meanwhile.
        if before.launcher.is_alive():
            with contextlib.suppress(FileNotFoundError):
                write(slug_dir, before)
