"""Where the README's first command lands: the built-in demo, in a terminal.

`bot-bottle start demo --yes` runs in a real pseudo-terminal, as a newcomer
runs it, with example.com pointed at the fake upstream. In the demo shell
an allowed URL answers (upstream got the injected token), another host
gets the 403 that names the missing route and the tool to ask with, the
token is nowhere in the bottle, and `exit` removes the bottle and its state.

`scripts/start-demo` itself runs with HOME and uv's tool dirs in a temp dir:
its set-up leaves a `bot-bottle` command (every plugin) that a new login
shell finds, and its dry run plans the demo on gVisor.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from terminal import Terminal

pytestmark = pytest.mark.docker

DEMO_TOKEN = "demo-token-" + uuid.uuid4().hex


def arrived(upstream, marker: str) -> list[dict]:
    lines = upstream.log.read_text().splitlines() if upstream.log.exists() else []
    return [r for r in map(json.loads, lines) if marker in r["path"]]


def test_the_demo_shell(bottle_env, upstream, docker_client):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
    env.update(bottle_env.env, BOT_BOTTLE_DEMO_TOKEN=DEMO_TOKEN, TERM="dumb")
    term = Terminal(
        [sys.executable, "-m", "bot_bottle_core", "start", "demo", "--yes"],
        env,
        bottle_env.home,
    )
    slug = None
    try:
        plan = term.expect("\r\nready\r\n")
        slug = plan.split("plan for ", 1)[1].split()[0]
        assert docker_client.containers.get(f"bb-{slug}-agent").status == "running"

        code, out = term.run("echo $GREETING")
        assert code == 0 and "hello from the bottle" in out

        marker = uuid.uuid4().hex
        code, out = term.run(f"curl -s https://example.com/{marker}")
        assert code == 0, out
        (seen,) = arrived(upstream, marker)
        assert seen["headers"]["host"] == "example.com"
        assert seen["headers"]["authorization"] == f"Bearer {DEMO_TOKEN}"

        refused = uuid.uuid4().hex
        code, out = term.run(
            f"curl -s -w '\\n%{{http_code}}\\n' http://other.example.test/{refused}"
        )
        assert "request denied" in out and 'host="other.example.test"' in out, out
        assert "egress-block tool" in out and "\r\n403\r\n" in out, out
        code, out = term.run(
            f"curl -s -w '\\n%{{http_code}}\\n' https://other.example.test/{refused}"
        )
        # Over HTTPS too the explanation reaches curl: egress completes TLS with the
        # bottle's CA and answers inside, without dialling anything.
        assert "request denied" in out and "egress-block tool" in out, out
        assert "\r\n403\r\n" in out, out
        assert arrived(upstream, refused) == []

        code, out = term.run("env; ps auxww; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'")
        assert code == 0 and "GREETING=hello from the bottle" in out
        # The token is typed in two pieces, so the terminal never shows it whole.
        head, rest = DEMO_TOKEN[:11], DEMO_TOKEN[11:]
        code, out = term.run(
            "grep -rIlsF --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev "
            f"-e '{head}''{rest}' / | sed 's/^/FOU''ND:/'"
        )
        assert "FOUND:" not in out, out
        assert DEMO_TOKEN.encode() not in term.seen
        # Nor in what bot-bottle keeps on the host: the bottle's state and the sidecars' log.
        state = bottle_env.home / "state" / slug
        kept = [f for f in state.rglob("*") if f.is_file()]
        assert kept and not [f for f in kept if DEMO_TOKEN.encode() in f.read_bytes()]
        sidecars = docker_client.containers.get(f"bb-{slug}-sidecars")
        assert DEMO_TOKEN.encode() not in sidecars.logs()

        os.write(term.fd, b"exit\n")
        assert term.wait() == 0, term.tail()
        assert DEMO_TOKEN.encode() not in term.seen  # teardown's lines included
        left = docker_client.containers.list(all=True, filters={"label": f"bot-bottle.slug={slug}"})
        assert left == []
        assert not (bottle_env.home / "state" / slug).exists()
    finally:
        term.close()
        if slug and docker_client.containers.list(filters={"label": f"bot-bottle.slug={slug}"}):
            bottle_env.run("stop", slug)


def test_the_terminal_shows_the_bottle_and_is_reset_after_a_crash(bottle_env, docker_client):
    """Title and tint on the real terminal while the agent runs; OSC 104/111 when it
    ends badly (the bottle is kept), before the CLI says how to resume."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
    env.update(bottle_env.env, BOT_BOTTLE_DEMO_TOKEN=DEMO_TOKEN, TERM="dumb")
    argv = [sys.executable, "-m", "bot_bottle_core", "start", "demo", "--yes"]
    term = Terminal([*argv, "--label", "alice", "--color", "blue"], env, bottle_env.home)
    slug = None
    try:
        plan = term.expect("\r\nready\r\n")
        slug = plan.split("plan for ", 1)[1].split()[0]
        shown = term.expect("\x1b]4;0;#071926\x07", timeout=60)
        assert "\x1b]0;alice (demo)\x07" in shown and "\x1b]11;#071926\x07" in shown
        os.write(term.fd, b"exit 3\n")
        assert term.wait() == 3, term.tail()
        after = term.seen.split(b"\x1b]4;0;#071926\x07", 1)[1]
        reset = after.index(b"\x1b]104\x07\x1b]111\x07")
        assert reset < after.index(f"bot-bottle resume {slug}".encode())
    finally:
        term.close()
        if slug:
            bottle_env.run("stop", slug)


ROOT = Path(__file__).resolve().parents[2]
START_DEMO = ROOT / "scripts" / "start-demo"
PLUGINS = {"docker", "smolvm", "claude", "codex", "gitea"}


def newcomer_env(home: Path) -> dict[str, str]:
    """This environment minus anything that points into the real home, HOME set to ``home``.

    The machine's uv is reused (it is on PATH or in ensure-uv.sh's cache) and so is
    its package cache, offline: everything the set-up installs is pinned by uv.lock
    and already cached by the sync that made the test venv. No packet leaves.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_BOTTLE_", "UV_", "VIRTUAL_ENV", "PYTHON", "XDG_"))
    }
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    uv = shutil.which("uv") or str(cache_home / "bot-bottle/tools/bin/uv")
    if Path(uv).is_file():
        cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True)
        env.update(PATH=f"{Path(uv).parent}{os.pathsep}{env['PATH']}", UV_OFFLINE="1")
        env["UV_CACHE_DIR"] = cache.stdout.strip()
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), UV_TOOL_DIR=str(home / "tools"), UV_TOOL_BIN_DIR=str(home / "bin"))
    return env


def run_start_demo(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["bash", str(START_DEMO), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def login_shell(home: Path, command: str) -> subprocess.CompletedProcess:
    """``command`` in a new login shell that inherits nothing but HOME."""
    return subprocess.run(
        ["env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin", "bash", "-lc", command],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_set_up_leaves_bot_bottle_on_a_login_shells_path(tmp_path):
    home = tmp_path / "home"
    env = newcomer_env(home)
    proc = run_start_demo("--setup-only", env=env, cwd=tmp_path)
    assert "the CLI is `bot-bottle …`" in proc.stderr, proc.stderr
    assert "The demo bottle is a shell" not in proc.stderr  # nothing started

    found = login_shell(home, "command -v bot-bottle")
    assert found.stdout.strip() == str(home / "bin" / "bot-bottle"), found
    version = login_shell(home, "bot-bottle --version")
    assert version.returncode == 0 and "version" in version.stdout, version
    listed = login_shell(home, "bot-bottle plugins list --json")
    assert listed.returncode == 0, listed
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    assert set(plugins) >= PLUGINS, sorted(plugins)
    assert all(plugins[name]["status"] == "ok" for name in PLUGINS), plugins
    assert plugins["docker"]["available"], plugins["docker"]

    # A re-run changes nothing a login shell reads.
    profiles = {f: f.read_text() for f in home.glob(".*") if f.is_file()}
    run_start_demo("--setup-only", env=env, cwd=tmp_path)
    assert {f: f.read_text() for f in home.glob(".*") if f.is_file()} == profiles


def test_the_readme_command_plans_the_demo(tmp_path):
    # scripts/start-demo as a newcomer runs it (here with --dry-run: no terminal):
    # engine, gVisor and base image checked, the CLI installed, the token made up.
    env = newcomer_env(tmp_path / "home")
    env["BOT_BOTTLE_HOME"] = str(tmp_path)
    proc = run_start_demo("--dry-run", env=env, cwd=tmp_path)
    token = proc.stderr.split("Token the proxy injects: ", 1)[1].split()[0]
    assert token.startswith("demo-") and len(token) > 12
    assert "the CLI is `bot-bottle …`" in proc.stderr, proc.stderr
    assert "plan for demo-" in proc.stdout
    assert re.search(r"^  runtime +runsc$", proc.stdout, re.MULTILINE), proc.stdout
    assert "example.com / [GET,HEAD] [auth:Bearer]" in proc.stdout
    assert "Dry run: nothing was created." in proc.stdout
    assert token not in proc.stdout
    assert not any(tmp_path.glob("state/*"))  # no bottle state left behind
