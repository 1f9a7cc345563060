"""The attach command ends when the bottle is stopped under it, even when the command
itself would hang on (as ``docker exec -it`` into a gVisor sandbox can)."""

from __future__ import annotations

import sys
import threading

from bot_bottle_core import running

# An attach that outlives its bottle, and shrugs off SIGTERM too.
HANGS = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)",
]


def test_a_hung_attach_is_ended_once_the_bottle_is_gone(monkeypatch):
    monkeypatch.setattr(running, "ATTACH_GRACE_S", 0.2)
    monkeypatch.setattr(running, "TERM_GRACE_S", 0.2)
    stopped = threading.Event()
    threading.Timer(0.5, stopped.set).start()  # an operator stops the bottle meanwhile
    code = running.run_foreground(HANGS, gone=lambda: stopped.wait() or True)
    assert code == 137  # killed, as the exit status of an agent killed under it


def test_an_attach_that_ends_by_itself_is_left_alone(monkeypatch):
    never = threading.Event()
    code = running.run_foreground([sys.executable, "-c", "exit(3)"], gone=never.wait)
    assert code == 3


def test_a_backend_that_cannot_tell_leaves_the_attach_to_itself(monkeypatch):
    monkeypatch.setattr(running, "ATTACH_GRACE_S", 0.1)
    code = running.run_foreground(
        [sys.executable, "-c", "import time; time.sleep(1); exit(5)"], gone=lambda: False
    )
    assert code == 5


def test_a_failing_wait_never_ends_the_attach(monkeypatch):
    monkeypatch.setattr(running, "ATTACH_GRACE_S", 0.1)

    def broken() -> bool:
        raise RuntimeError("engine went away")

    code = running.run_foreground([sys.executable, "-c", "import time; time.sleep(1)"], broken)
    assert code == 0
