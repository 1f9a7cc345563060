"""Test-only: hold a launch at a named phase, so a test can kill the CLI there.

With ``BOT_BOTTLE_TEST_PAUSE_AT=TEXT`` and ``BOT_BOTTLE_TEST_PAUSE_FILE=PATH``
set, the first progress line of the backend's launch that starts with TEXT
makes the process write PATH (the test's signal that it got there) and block
until it is killed. Without both variables progress passes straight through;
nothing outside the tests sets them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

PAUSE_AT = "BOT_BOTTLE_TEST_PAUSE_AT"
PAUSE_FILE = "BOT_BOTTLE_TEST_PAUSE_FILE"

Echo = Callable[[str], None]


def pausing(progress: Echo, environ: Mapping[str, str] = os.environ) -> Echo:
    at, path = environ.get(PAUSE_AT), environ.get(PAUSE_FILE)
    if not at or not path:
        return progress

    def pause_at_phase(line: str) -> None:
        progress(line)
        if line.startswith(at):
            Path(path).write_text(f"{os.getpid()}\n")
            threading.Event().wait()  # until killed: that is the test's point

    return pause_at_phase
