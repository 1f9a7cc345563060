"""The plugin loads through its entry point beside the others, and the CLI sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot_bottle_macos_container.availability import MACOS_ONLY

from bot_bottle_core import known_backend_names
from bot_bottle_core.dispatch import Plugins


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
    env["BOT_BOTTLE_HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [sys.executable, "-m", "bot_bottle_core", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_registered_as_a_backend_alongside_the_others():
    plugins = Plugins.load(environ={})
    records = {(r.kind, r.name): r for r in plugins.records}
    mine = records[("backend", "macos-container")]
    assert mine.status == "ok", mine.error
    assert (mine.distribution, mine.version) == ("bot-bottle-macos-container", "0.1.0")
    assert {("backend", "docker"), ("backend", "smolvm")} <= set(records)
    assert "macos-container" in known_backend_names()


def test_it_cannot_start_bottles_yet():
    backend = Plugins.load(environ={}).backend("macos-container")
    assert not backend.implements("launch") and not backend.implements("prepare")
    for hook in ("enumerate_active", "prepare_cleanup", "cleanup", "attach_argv"):
        assert backend.implements(hook), hook


def test_attach_argv_through_the_core():
    backend = Plugins.load(environ={}).backend("macos-container")
    argv = backend.attach_argv("demo-abcde", ["bash", "-l"], tty=True)
    assert argv[1:] == ["exec", "--interactive", "--tty", "bb-demo-abcde-agent", "bash", "-l"]
    assert Path(argv[0]).name == "container"


def test_plugins_list_json_shows_it_unavailable_here_with_the_reason(tmp_path: Path):
    r = run_cli(tmp_path, "plugins", "list", "--json")
    assert r.returncode == 0, r.stderr
    rows = {(p["kind"], p["name"]): p for p in json.loads(r.stdout)}
    mine = rows[("backend", "macos-container")]
    assert mine["status"] == "ok" and mine["distribution"] == "bot-bottle-macos-container"
    assert mine["available"] is False and mine["reason"] == MACOS_ONLY
    assert rows[("backend", "docker")]["status"] == "ok"


def test_start_on_it_says_why_not(tmp_path: Path):
    r = run_cli(tmp_path, "start", "demo", "--dry-run", "--backend", "macos-container")
    assert r.returncode == 1
    assert f"The backend 'macos-container' is not available here: {MACOS_ONLY}" in r.stderr
    assert "Traceback" not in r.stderr
