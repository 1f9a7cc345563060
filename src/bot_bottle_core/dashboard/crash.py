"""A crashed dashboard leaves its traceback in ``<state>/logs/dashboard-crash.log``.

The screen the traceback would have been printed on is gone once the terminal
is restored, so it is kept in a file and the operator is told where. Only the
traceback is written, never the values of local variables (they may hold
credentials from the environment).
"""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

CRASH_LOG = "dashboard-crash.log"


def write_crash_log(logs_dir: Path, exc: BaseException) -> Path:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    body = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    entry = f"=== bot-bottle dashboard crashed at {stamp} ===\n{body}\n"
    try:
        logs_dir.mkdir(parents=True, exist_ok=True)
        path = logs_dir / CRASH_LOG
        with path.open("a", encoding="utf-8") as f:
            f.write(entry)
        return path
    except OSError:  # an unwritable home: a temporary file still keeps it
        fd, tmp = tempfile.mkstemp(prefix="bot-bottle-dashboard-crash-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(entry)
        return Path(tmp)


def crash_message(exc: BaseException, path: Path) -> str:
    return (
        f"bot-bottle: the dashboard crashed ({type(exc).__name__}: {exc}). Your bottles are"
        f" still running. The traceback is in {path}; please report it."
    )
