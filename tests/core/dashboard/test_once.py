"""``bot-bottle dashboard --once`` and ``--json``: both panes printed once, by the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys


def dashboard(fleet, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot_bottle_core", "dashboard", *args],
        cwd=fleet.cwd,
        env=fleet.cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_once_prints_both_panes(fleet):
    fleet.bottle("demo-aaaaa", label="ann")
    fleet.bottle("demo-bbbbb")
    fleet.ask("demo-aaaaa", {"host": "pypi.org", "path_allowlist": ["/simple"]}, "pip install")
    fleet.deny("demo-bbbbb", "evil.example")
    r = dashboard(fleet, "--once")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Proposals: 1 pending"
    assert lines[1].split() == ["BOTTLE", "ID", "KIND", "ASKED", "ASKS", "FOR", "WHY"]
    assert lines[2].split()[0] == "demo-aaaaa" and "pypi.org /simple" in lines[2]
    assert "Agents: 2 on [alpha]" in lines
    agent_rows = lines[lines.index("Agents: 2 on [alpha]") + 2 :]
    assert agent_rows[0].split()[:6] == [
        "[alpha]",
        "ann",
        "(demo)",
        "demo-aaaaa",
        "attached",
        "sidecars",
    ]
    assert "GET evil.example/: no route for evil.example" in agent_rows[1]


def test_json_prints_both_panes_for_scripts(fleet):
    fleet.bottle("demo-aaaaa")
    fleet.ask("demo-aaaaa", {"host": "pypi.org"}, "pip install")
    r = dashboard(fleet, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    (p,) = data["proposals"]
    assert p["slugs"] == ["demo-aaaaa"] and p["route"] == {"host": "pypi.org"}
    assert p["justification"] == "pip install"
    (a,) = data["agents"]
    assert (a["backend"], a["slug"], a["status"], a["sidecars"]) == (
        "alpha",
        "demo-aaaaa",
        "attached",
        ["sidecars"],
    )
    assert data["backends"] == ["alpha"]


def test_without_a_terminal_it_says_what_to_use(fleet):
    r = dashboard(fleet)
    assert r.returncode == 1
    assert "needs a terminal" in r.stderr and "--once" in r.stderr
    assert "Traceback" not in r.stderr
