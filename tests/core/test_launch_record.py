"""The launch record tells a launch under way from one whose bot-bottle was killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import attrs

from bot_bottle_core import launch_record
from bot_bottle_core.launch_record import LaunchRecord, LaunchStatus
from bot_bottle_core.process_stamp import ProcessStamp, start_time


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])


def test_this_process_launching_then_holding_the_terminal(tmp_path):
    launch_record.begin(tmp_path)
    assert launch_record.status(tmp_path) is LaunchStatus.STARTING
    launch_record.mark_completed(tmp_path)
    record = launch_record.read(tmp_path)
    assert record.completed_at is not None
    assert record.launcher == ProcessStamp.current()
    assert launch_record.status(tmp_path) is LaunchStatus.ATTACHED
    raw = json.loads((tmp_path / launch_record.LAUNCH).read_text())
    assert raw["launcher"]["pid"] == os.getpid()
    assert oct((tmp_path / launch_record.LAUNCH).stat().st_mode & 0o777) == "0o600"


def test_a_reused_pid_does_not_count_as_the_launcher(tmp_path):
    # This pid runs, but it is not the process that wrote the record.
    impostor = ProcessStamp(os.getpid(), "another-boot:12345")
    launch_record.write(tmp_path, LaunchRecord(impostor, "2025-01-01T00:00:00+00:00"))
    assert launch_record.status(tmp_path) is LaunchStatus.INCOMPLETE
    done = LaunchRecord(impostor, "2025-01-01T00:00:00+00:00", "2025-01-01T00:01:00+00:00")
    launch_record.write(tmp_path, done)
    assert launch_record.status(tmp_path) is LaunchStatus.DETACHED


def test_a_killed_launcher_is_gone_reaped_or_not(tmp_path):
    proc = _sleeper()
    stamp = ProcessStamp(proc.pid, start_time(proc.pid))
    launch_record.write(tmp_path, LaunchRecord(stamp, "2025-01-01T00:00:00+00:00"))
    assert launch_record.status(tmp_path) is LaunchStatus.STARTING
    proc.kill()
    # Exited but not reaped yet (a zombie): already gone.
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    assert not stamp.is_alive()
    assert launch_record.status(tmp_path) is LaunchStatus.INCOMPLETE
    proc.wait()
    assert start_time(proc.pid) is None
    assert launch_record.status(tmp_path) is LaunchStatus.INCOMPLETE


def test_no_record_or_a_corrupt_one_is_no_status(tmp_path):
    assert launch_record.status(tmp_path) is None
    (tmp_path / launch_record.LAUNCH).write_text('{"launcher": {"pid": "x"}}')
    assert launch_record.status(tmp_path) is None


def test_attach_holds_the_terminal_and_gives_it_back_to_a_live_launcher(tmp_path):
    proc = _sleeper()
    try:
        first = ProcessStamp(proc.pid, start_time(proc.pid))
        record = LaunchRecord(first, "2025-01-01T00:00:00+00:00", "2025-01-01T00:01:00+00:00")
        launch_record.write(tmp_path, record)
        with launch_record.holding(tmp_path):
            assert launch_record.read(tmp_path).launcher == ProcessStamp.current()
        assert launch_record.read(tmp_path) == record  # the first terminal is still there
        gone = attrs.evolve(record, launcher=ProcessStamp(proc.pid, "not-running"))
        launch_record.write(tmp_path, gone)
        with launch_record.holding(tmp_path):
            pass
        # Nobody to give it back to: it stays with this process until that exits.
        assert launch_record.read(tmp_path).launcher == ProcessStamp.current()
    finally:
        proc.kill()
        proc.wait()
