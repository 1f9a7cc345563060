"""The supervision loop with the real Claude Code CLI in a real bottle; the only fake is the model.

The scripted model makes claude run ``curl`` to a host the bottle has no route to
(egress answers 403), then call the supervise tool ``egress-block`` through
claude's own MCP client. The test, as the operator, answers with the real CLI
(``bot-bottle supervise approve|modify|reject``). The tool's result reaches the
model, which makes claude retry; the retry passes (or, rejected, is still refused).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from bot_bottle_claude import plugin as claude_plugin
from claude_session import (
    cli_terminal,
    exit_claude,
    messages,
    result_with,
    say,
    script,
    tool_results,
)
from fake_internet import BottleEnv, launched_bottle, requests_with, slug_from
from supervise_agent import exec_in_background, pending_id

pytestmark = pytest.mark.docker

KEY_VAR = "BB_TEST_ANTHROPIC_KEY"
AGENT = """---
bottle: sec
provider: claude
label: sup
auth_token: BB_TEST_ANTHROPIC_KEY
---
You ask before you reach new hosts.
"""
HOST = "api.fakeprov.test"  # served by the fake internet, not routed in bottle 'sec'
TOOL = "mcp__supervise__egress-block"
CAPABILITY_TOOL = "mcp__supervise__capability-block"
PROVIDER_DIR = Path(claude_plugin.__file__).parent


@pytest.fixture
def claude_env(upstream, base_image, tmp_path) -> BottleEnv:
    env = BottleEnv(tmp_path / "home", upstream, base_image)
    (env.home / "agents" / "sup.md").write_text(AGENT)
    env.env[KEY_VAR] = "sk-ant-api03-" + uuid.uuid4().hex
    return env


def loop_script(upstream, m: str, path_allowlist: list[str] | None = None) -> None:
    ask = {"host": HOST, "justification": f"the task needs {HOST} ({m})"}
    if path_allowlist:
        ask["path_allowlist"] = path_allowlist
    script(
        upstream,
        {
            "when": f"fetch {m}",
            "tool_use": {"name": "Bash", "input": {"command": f"curl -s https://{HOST}/{m}-1"}},
        },
        {"when": f"{m}-1", "tool_use": {"name": TOOL, "input": ask}},
        {
            "when": f"the task needs {HOST} ({m})",  # the tool's result came back
            "tool_use": {"name": "Bash", "input": {"command": f"curl -s https://{HOST}/{m}-2"}},
        },
        {"when": f"{m}-2", "text": f"done {m}"},
    )


def run_claude(bottle, prompt: str):
    """``claude -p`` with the provider's flags, in a thread: the test answers meanwhile."""
    argv = bottle.prepared.provider.agent_argv(bottle.prepared.request.agent, "fresh")
    return exec_in_background(bottle.agent, [*argv, "-p", prompt])


def test_approve_the_agent_asks_the_operator_approves_the_retry_passes(
    claude_env, docker_client, upstream
):
    m = uuid.uuid4().hex
    loop_script(upstream, m)
    with launched_bottle(claude_env, docker_client, agent="sup") as bottle:
        thread, out = run_claude(bottle, f"fetch {m}")
        pid = pending_id(claude_env, bottle.slug)
        shown = json.loads(claude_env.run("supervise", "show", bottle.slug, pid, "--json").stdout)
        assert shown["route"] == {"host": HOST} and m in shown["justification"]
        r = claude_env.run("supervise", "approve", bottle.slug, pid, "--notes", f"ok {m}")
        assert r.returncode == 0, r.stderr
        thread.join(300)
        assert not thread.is_alive(), "claude did not finish"
        logs = bottle.sidecars.logs(stderr=False).decode(errors="replace")
    assert f"done {m}" in out["text"], out["text"][-3000:]
    # The first curl met egress's refusal ...
    first = result_with(upstream, f"/{m}-1")  # the other tests' refusals are in the log too
    assert "request denied" in first and HOST in first, first
    # ... the tool's answer reached the model ...
    answered = json.loads(result_with(upstream, f"ok {m}"))
    assert answered["status"] == "approved" and answered["route"] == {"host": HOST}, answered
    # ... and the retry reached the fake internet.
    assert requests_with(upstream, f"{m}-2"), "the retried request never arrived"
    assert not requests_with(upstream, f"{m}-1")
    events = [json.loads(line) for line in logs.splitlines() if '"supervise"' in line]
    asked = [e for e in events if e.get("event") == "asked"]
    assert asked and asked[0]["new"] is True, events
    print("claude sent a progress token:", asked[0]["progress_token"])


def test_reject_the_reason_reaches_the_model_and_the_host_stays_closed(
    claude_env, docker_client, upstream
):
    m = uuid.uuid4().hex
    loop_script(upstream, m)
    with launched_bottle(claude_env, docker_client, agent="sup") as bottle:
        thread, out = run_claude(bottle, f"fetch {m}")
        pid = pending_id(claude_env, bottle.slug)
        reason = f"use the mirror {m}"
        r = claude_env.run("supervise", "reject", bottle.slug, pid, "--reason", reason)
        assert r.returncode == 0, r.stderr
        thread.join(300)
    assert f"done {m}" in out["text"], out["text"][-3000:]
    answered = json.loads(result_with(upstream, reason))
    assert answered["status"] == "rejected" and answered["notes"] == reason
    assert not requests_with(upstream, f"{m}-2")  # refused again by egress
    denied = [t for t in tool_results(upstream) if "request denied" in t and m in t]
    assert len(denied) == 2, denied


def test_modify_the_route_granted_is_the_operators_not_the_agents(
    claude_env, docker_client, upstream, tmp_path
):
    """The agent asks for the whole host; the operator grants one path in $EDITOR. The
    model is told what was granted, the path passes, and the rest of the host does not."""
    m = uuid.uuid4().hex
    granted = {"host": HOST, "path_allowlist": [f"/{m}-2"]}
    editor = tmp_path / "editor.py"
    editor.write_text(f"import sys\nopen(sys.argv[1], 'w').write({json.dumps(granted)!r})\n")
    claude_env.env["EDITOR"] = f"{sys.executable} {editor}"
    script(
        upstream,
        {
            "when": f"fetch {m}",
            "tool_use": {"name": "Bash", "input": {"command": f"curl -s https://{HOST}/{m}-1"}},
        },
        {
            "when": f"{m}-1",
            "tool_use": {
                "name": TOOL,
                "input": {"host": HOST, "justification": f"the task needs {HOST} ({m})"},
            },
        },
        {
            "when": f"the task needs {HOST} ({m})",
            "tool_use": {"name": "Bash", "input": {"command": f"curl -s https://{HOST}/{m}-2"}},
        },
        {
            "when": f"{m}-2",
            "tool_use": {"name": "Bash", "input": {"command": f"curl -s https://{HOST}/{m}-3"}},
        },
        {"when": f"{m}-3", "text": f"done {m}"},
    )
    with launched_bottle(claude_env, docker_client, agent="sup") as bottle:
        thread, out = run_claude(bottle, f"fetch {m}")
        pid = pending_id(claude_env, bottle.slug)
        r = claude_env.run("supervise", "modify", bottle.slug, pid, "--notes", f"narrowed {m}")
        assert r.returncode == 0, r.stderr
        thread.join(300)
        assert not thread.is_alive(), "claude did not finish"
        live = json.loads(claude_env.run("routes", "show", bottle.slug, "--json").stdout)
    assert f"done {m}" in out["text"], out["text"][-3000:]
    answered = json.loads(result_with(upstream, f"narrowed {m}"))
    assert answered["status"] == "modified" and answered["route"] == granted, answered
    assert [r for r in live["routes"] if r["host"] == HOST] == [granted], live
    # The granted path passed; the rest of the host, which the agent asked for, did not.
    assert requests_with(upstream, f"{m}-2"), "the granted path never arrived"
    assert not requests_with(upstream, f"{m}-3")
    refused = [t for t in tool_results(upstream) if "request denied" in t and f"{m}-3" in t]
    assert refused, tool_results(upstream)


def test_capability_approved_stops_the_bottle_and_resume_carries_the_conversation(
    claude_env, docker_client, upstream
):
    """From a real terminal: claude asks for an image with a package added; the operator
    approves; the bottle stops with its state kept; `resume` builds that image (the
    package is there) and claude continues: the model receives the earlier turns."""
    m = uuid.uuid4().hex[:12]
    base = (PROVIDER_DIR / "Dockerfile").read_text()
    wanted = base.replace(
        "USER agent",
        f"RUN printf 'added-package {m}\\n' > /usr/local/share/added-package\nUSER agent",
        1,
    )
    assert wanted != base
    ask = {"dockerfile": wanted, "justification": f"the task needs the package {m}"}
    script(
        upstream,
        {"when": f"build {m}", "tool_use": {"name": CAPABILITY_TOOL, "input": ask}},
        {"when": f"recall {m}", "text": f"recalled {m}"},
    )
    slug = None
    term = cli_terminal(claude_env, "start", "sup", "--yes")
    try:
        plan = term.expect("plan for ", timeout=60) + term.expect("\n", timeout=10)
        slug = slug_from(plan)
        term.expect("\x1b]0;sup (sup)\x07", timeout=180)  # the title, as attach begins
        term.expect("sup (sup)", timeout=180)  # claude's status line: it is ready
        say(term, f"build {m}")
        pid = pending_id(claude_env, slug)
        r = claude_env.run("supervise", "approve", slug, pid, "--notes", f"ok {m}")
        assert r.returncode == 0, r.stderr
        assert f"bot-bottle resume {slug}" in r.stdout
        term.wait(120)  # the session ends under it (its status is whatever the exec saw)
        assert "stopped for its new image" in term.tail(), term.tail()
    finally:
        term.close()
        if slug and docker_client.containers.list(filters={"label": f"bot-bottle.slug={slug}"}):
            claude_env.run("stop", slug)
    assert not docker_client.containers.list(all=True, filters={"label": f"bot-bottle.slug={slug}"})
    state = claude_env.home / "state" / slug
    assert (state / "image" / "Dockerfile").read_text() == wanted
    assert (state / "transcript.tar").exists()
    term = cli_terminal(claude_env, "resume", slug, "--yes")
    try:
        term.expect("\x1b]0;sup (sup)\x07", timeout=600)  # after building the image
        term.expect("sup (sup)", timeout=180)
        agent = docker_client.containers.get(f"bb-{slug}-agent")
        got = agent.exec_run(["cat", "/usr/local/share/added-package"])
        assert got.output.decode().strip() == f"added-package {m}", got.output
        say(term, f"recall {m}")
        term.expect(f"recalled {m}", timeout=120)
        exit_claude(term)
    finally:
        term.close()
        if docker_client.containers.list(filters={"label": f"bot-bottle.slug={slug}"}):
            claude_env.run("stop", slug)
    (recall,) = messages(upstream, f"recall {m}")
    # The conversation from before the stop went out with the new turn.
    assert f"build {m}" in recall["body"] and f"the task needs the package {m}" in recall["body"]
