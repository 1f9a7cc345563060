"""The supervision loop with the real Claude Code CLI in a real bottle; the only fake is the model.

The scripted model makes claude run ``curl`` to a host the bottle has no route to
(egress answers 403), then call the supervise tool ``egress-block`` through
claude's own MCP client. The test, as the operator, answers with the real CLI
(``bot-bottle supervise approve|modify|reject``). The tool's result reaches the
model, which makes claude retry; the retry passes (or, rejected, is still refused).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from fake_internet import BottleEnv, launched_bottle, requests_with

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


@pytest.fixture
def claude_env(upstream, base_image, tmp_path) -> BottleEnv:
    env = BottleEnv(tmp_path / "home", upstream, base_image)
    (env.home / "agents" / "sup.md").write_text(AGENT)
    env.env[KEY_VAR] = "sk-ant-api03-" + uuid.uuid4().hex
    return env


def script(upstream, *turns: dict) -> None:
    path = upstream.log.parent / "anthropic-script.json"
    old = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(old + list(turns)))
    path.chmod(0o644)


def tool_results(upstream) -> list[str]:
    """The text of every tool result the model received, in order, each once."""
    seen: list[str] = []
    for line in upstream.log.read_text().splitlines():
        row = json.loads(line)
        if not row["path"].startswith("/v1/messages") or "tool_result" not in row["body"]:
            continue
        for message in json.loads(row["body"]).get("messages", []):
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if block.get("type") != "tool_result":
                    continue
                inner = block.get("content")
                parts = inner if isinstance(inner, list) else [{"text": str(inner)}]
                text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
                if text not in seen:
                    seen.append(text)
    return seen


def result_with(upstream, needle: str) -> str:
    found = [t for t in tool_results(upstream) if needle in t]
    assert found, f"no tool result holds {needle!r}: {tool_results(upstream)}"
    return found[0]


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


def run_claude(bottle, prompt: str) -> tuple[threading.Thread, dict]:
    out: dict = {}
    argv = bottle.prepared.provider.agent_argv(bottle.prepared.request.agent, "fresh")

    def go() -> None:
        result = bottle.agent.exec_run([*argv, "-p", prompt], workdir="/workspace")
        out["text"] = result.output.decode(errors="replace")

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def pending_id(env: BottleEnv, slug: str, timeout: float = 180) -> str:
    """The proposal's id once supervise queued it (seen through the operator's CLI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = env.run("supervise", "list", "--json")
        assert r.returncode == 0, r.stderr
        mine = [p for p in json.loads(r.stdout) if p["slug"] == slug]
        if mine:
            return mine[0]["id"]
        time.sleep(0.5)
    raise AssertionError("claude never called egress-block")


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
