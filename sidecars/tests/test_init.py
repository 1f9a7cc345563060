"""The bundle's init, run on the host against the real egress proxy (mitmproxy)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bot_bottle_sidecars import init as init_mod

ROUTES = {"routes": [{"host": "api.example.test"}]}


def _start(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen, Path, Path]:
    out, err = workdir / "init.out", workdir / "init.err"
    with out.open("wb") as fo, err.open("wb") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot_bottle_sidecars.init"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=fo,
            stderr=fe,
        )
    return proc, out, err


def _wait_ready(ready: Path, proc: subprocess.Popen, err: Path) -> dict:
    deadline = time.monotonic() + 30
    delay = 0.01
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip():
            return json.loads(ready.read_text())
        assert proc.poll() is None, f"init exited {proc.returncode}: {err.read_text()}"
        time.sleep(delay)
        delay = min(2 * delay, 0.2)
    raise AssertionError(f"egress never became ready: {err.read_text()}")


def _wait_line(path: Path, predicate, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if predicate(record):
                return record
        time.sleep(0.02)
    raise AssertionError(f"no matching line in {path.read_text()!r}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); look at its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still alive")


def _connect_verdict(port: int, target: str, out: Path) -> str:
    """CONNECT to ``target``; egress's logged verdict on it ("allow" or "deny")."""
    seen = len(out.read_text().splitlines())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head:
            head += s.recv(1)
    host = target.rsplit(":", 1)[0]

    def fresh_connect_line(record: dict) -> bool:
        return record.get("kind") == "connect" and record.get("host") == host

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [json.loads(x) for x in out.read_text().splitlines()[seen:]]
        for record in lines:
            if fresh_connect_line(record):
                return record["decision"]
        time.sleep(0.02)
    raise AssertionError(f"no connect decision for {target}")


@pytest.fixture
def running_init(tmp_path, make_egress_env):
    env = make_egress_env(tmp_path, ROUTES, BOT_BOTTLE_SIDECARS="egress")
    proc, out, err = _start(env, tmp_path)
    ready = Path(env["BOT_BOTTLE_EGRESS_READY_FILE"])
    try:
        info = _wait_ready(ready, proc, err)
        yield proc, info, out, err, tmp_path, ready
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_sighup_reloads_then_a_dead_child_ends_the_init(running_init):
    proc, info, out, err, workdir, _ready = running_init
    child = info["pid"]
    assert child != proc.pid
    port = info["listen"][0][1]
    assert _connect_verdict(port, "new.example.test:443", out) == "deny"

    (workdir / "routes.json").write_text(
        json.dumps({"routes": [{"host": "api.example.test"}, {"host": "new.example.test"}]})
    )
    proc.send_signal(signal.SIGHUP)
    line = _wait_line(out, lambda r: r.get("event") == "reload")
    assert line["status"] == "ok" and line["routes"] == 2
    assert _connect_verdict(port, "new.example.test:443", out) == "allow"
    assert proc.poll() is None and _alive(child)

    started = time.monotonic()
    os.kill(child, signal.SIGKILL)
    code = proc.wait(10)
    elapsed = time.monotonic() - started
    assert code != 0
    assert elapsed < 3, elapsed
    assert "egress exited (killed by SIGKILL)" in err.read_text()


def test_sigterm_stops_the_children_and_the_init(running_init):
    proc, info, _out, err, _workdir, ready = running_init
    child = info["pid"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0, err.read_text()
    _wait_gone(child)
    assert not ready.exists()  # the proxy shut down cleanly and removed it
    assert "egress stopped" in err.read_text()


def test_a_child_that_fails_at_start_fails_the_init(tmp_path, make_egress_env):
    env = make_egress_env(tmp_path, {"routes": [{"host": "a.test", "nope": 1}]})
    proc, _out, err = _start(env, tmp_path)
    assert proc.wait(30) == 1
    text = err.read_text()
    assert "routes[0].nope: unknown key 'nope'" in text and "egress exited (status 1)" in text


def test_unknown_sidecar_names_exit_1_before_starting_anything(tmp_path, make_egress_env):
    env = make_egress_env(tmp_path, ROUTES, BOT_BOTTLE_SIDECARS="egress,teleporter")
    proc, _out, err = _start(env, tmp_path)
    assert proc.wait(10) == 1
    assert "unknown sidecar(s) teleporter" in err.read_text()
    assert "started" not in err.read_text()


@pytest.mark.parametrize(
    ("value", "names"),
    [(None, ["egress"]), ("", ["egress"]), (" egress ", ["egress"]), ("egress,", ["egress"])],
)
def test_parse_names(value, names):
    assert init_mod.parse_names(value) == names


@pytest.mark.parametrize("value", ["git_gate", "egress,egress", "EGRESS"])
def test_parse_names_rejects(value):
    with pytest.raises(ValueError):
        init_mod.parse_names(value)


def test_supervise_is_a_daemon_that_never_sees_the_tokens():
    assert init_mod.parse_names("egress,supervise") == ["egress", "supervise"]
    env = {"BOT_BOTTLE_SECRET_GH": "tok", "BOT_BOTTLE_TOKEN_SLOTS": '{"GH": ["a.test"]}', "X": "1"}
    assert init_mod.daemon_env("egress", env) == env
    assert init_mod.daemon_env("supervise", env) == {
        "BOT_BOTTLE_TOKEN_SLOTS": '{"GH": ["a.test"]}',
        "X": "1",
    }
    argv = init_mod.DAEMONS["supervise"]({"BOT_BOTTLE_SUPERVISE_PYTHON": "/nonexistent/python"})
    assert argv[1:] == ["-m", "bot_bottle_sidecars.supervise"]


def test_each_secret_reaches_only_the_daemon_that_uses_it():
    env = {"BOT_BOTTLE_SECRET_GH": "tok", "BOT_BOTTLE_GIT_KEY_app": "key", "X": "1"}
    assert init_mod.daemon_env("egress", env) == {"BOT_BOTTLE_SECRET_GH": "tok", "X": "1"}
    assert init_mod.daemon_env("git-gate", env) == {"BOT_BOTTLE_GIT_KEY_app": "key", "X": "1"}
    assert init_mod.daemon_env("supervise", env) == {"X": "1"}
    argv = init_mod.DAEMONS["supervise"]({"BOT_BOTTLE_SUPERVISE_PYTHON": "/nonexistent/python"})
    assert argv[1:] == ["-m", "bot_bottle_sidecars.supervise"]
