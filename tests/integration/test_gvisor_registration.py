"""docker-engine.sh --with-gvisor (what the README's first command runs) against a
dockerd that predates gVisor: a private one, in a private mount namespace.

A dockerd the script started is told to reload and ends with runsc registered;
one it did not start, or a daemon.json without runsc, is left alone, with one
line saying bottles run on runc and how to enable gVisor.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from bot_bottle_testing.plugin import unavailable

pytestmark = pytest.mark.docker

SCRIPT = Path(__file__).with_name("engine_in_namespace.sh")
ON_RUNC = "ci: bottles will run on runc: "


def engine_in_namespace(work: Path, case: str) -> str:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("dockerd"):
        unavailable("needs root, unshare and dockerd")
    if not Path("/etc/docker").is_dir():
        unavailable("/etc/docker is missing (scripts/docker-engine.sh --with-gvisor makes it)")
    proc = subprocess.Popen(
        ["unshare", "--mount", "--net", "bash", str(SCRIPT), str(work), case],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the private dockerd too ends with the group
    )
    try:
        out, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate()
        raise AssertionError(f"timed out:\n{out}") from None
    assert proc.returncode == 0, out
    return out


def test_a_dockerd_it_started_is_reloaded_with_gvisor(tmp_path):
    out = engine_in_namespace(tmp_path, "ours")
    assert "ci: reloading dockerd's configuration to register gVisor" in out, out
    assert "runsc" in out.split("runtimes after:", 1)[1].splitlines()[0], out
    assert ON_RUNC not in out


def test_someone_elses_dockerd_is_left_on_runc_with_how_to_fix(tmp_path):
    out = engine_in_namespace(tmp_path, "theirs")
    assert "runsc" not in out.split("runtimes after:", 1)[1].splitlines()[0], out
    (line,) = [line for line in out.splitlines() if line.startswith(ON_RUNC)]
    assert "kill -HUP $(cat /var/run/docker.pid)" in line, line
    assert '"runsc"' in out.split("daemon.json:", 1)[1], out  # ready for that reload


def test_a_daemon_json_without_runsc_is_left_alone(tmp_path):
    out = engine_in_namespace(tmp_path, "json")
    assert "runsc" not in out.split("runtimes after:", 1)[1].splitlines()[0], out
    (line,) = [line for line in out.splitlines() if line.startswith(ON_RUNC)]
    assert "/etc/docker/daemon.json has no runsc" in line and "kill -HUP" in line, line
    assert out.split("daemon.json: ", 1)[1].strip() == '{"debug": false}', out
