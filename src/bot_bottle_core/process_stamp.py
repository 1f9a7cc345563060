"""Naming one process so that a later reader can tell whether it still runs.

A pid alone is not enough: once the process is gone the kernel hands its
number to another one. So a stamp pairs the pid with the process's start
time, and a process only counts as alive while both still match.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import attrs

_PROC = Path("/proc")
_BOOT_ID = _PROC / "sys/kernel/random/boot_id"


def _proc_start(pid: int) -> str | None:
    """Linux: the boot and the start time in clock ticks since boot, or None if gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parentheses: fields after
    # the last ")" are fixed. There, [0] is the state and [19] the start time.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a killed process nobody has reaped yet
        return None
    boot = _BOOT_ID.read_text().strip() if _BOOT_ID.exists() else ""
    return f"{boot}:{fields[19]}"


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but it runs
    return True


def _ps_start(pid: int) -> str | None:
    """Elsewhere (macOS, the BSDs): the start time as ``ps`` prints it."""
    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-o", "state=", "-p", str(pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        # No ps either: the pid alone, which cannot tell a reused one apart.
        return "pid" if _pid_exists(pid) else None
    if not out or out.endswith("Z"):
        return None
    return out.rsplit(maxsplit=1)[0]


def start_time(pid: int) -> str | None:
    """An opaque token for when process ``pid`` started; None when no such process runs."""
    return _proc_start(pid) if _PROC.is_dir() else _ps_start(pid)


@attrs.frozen
class ProcessStamp:
    """One process: its pid and when it started."""

    pid: int
    started: str

    @classmethod
    def current(cls) -> ProcessStamp:
        pid = os.getpid()
        return cls(pid, start_time(pid) or "pid")

    def is_alive(self) -> bool:
        # A different start time means the pid now belongs to another process.
        return start_time(self.pid) == self.started
