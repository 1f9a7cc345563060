"""The supervision loop with the real Codex CLI in a real bottle; the only fake is the model.

Codex 0.171 does not list MCP tools to the model: the supervise server shows up
as a deferred tool namespace (``mcp__supervise``), and its tools are reached
from codex's freeform ``exec`` tool (JavaScript), where every nested tool,
deferred ones included, is a method of the global ``tools`` object under its
name made a JavaScript identifier: ``egress-block`` of ``mcp__supervise`` is
``tools.mcp__supervise__egress_block``. The scripted model (``fake_upstream/
fake_openai.py``) makes codex run ``curl`` to a host the bottle has no route
to (egress answers 403), then call that tool from ``exec``. The test, as the
operator, answers with the real CLI (``bot-bottle supervise approve|reject``);
the tool's result reaches the model as the ``exec`` output, and the model makes
codex retry: the retry passes (or, rejected, is still refused). The ``curl``
runs go through ``codex_shell.shell``, which asks again when codex loses a
command in the gVisor bottle (see there).

``exec`` hands the model what it has after a while (30 s unless the source asks
otherwise) and keeps the cell running: an operator slower than that is waited
for with codex's ``wait`` tool on that cell, and the answer arrives there.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from codex_shell import shell
from fake_internet import BottleEnv, launched_bottle, requests_with
from supervise_agent import exec_in_background, pending_id

pytestmark = pytest.mark.docker

KEY_VAR = "BB_TEST_OPENAI_KEY"
AGENT = """---
bottle: sec
provider: codex
label: sup
auth_token: BB_TEST_OPENAI_KEY
---
You ask before you reach new hosts.
"""
HOST = "api.fakeprov.test"  # served by the fake internet, not routed in bottle 'sec'
TOOL = "tools.mcp__supervise__egress_block"  # how `exec` names supervise's egress-block


@pytest.fixture
def codex_env(upstream, base_image, tmp_path) -> BottleEnv:
    env = BottleEnv(tmp_path / "home", upstream, base_image)
    (env.home / "agents" / "sup.md").write_text(AGENT)
    env.env[KEY_VAR] = "sk-proj-" + uuid.uuid4().hex
    return env


def script(upstream, *turns: dict) -> None:
    path = upstream.log.parent / "openai-script.json"
    old = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(old + list(turns)))
    path.chmod(0o644)


def exec_turn(when: str, source: str) -> dict:
    return {"when": when, "custom_tool_call": {"name": "exec", "input": source}}


def inputs(upstream) -> list[dict]:
    """The input items of every request to the Responses API, in order."""
    items: list[dict] = []
    for row in requests_with(upstream, "/v1/responses"):
        if row["headers"].get("host") != "api.openai.com" or not row["body"]:
            continue
        items += json.loads(row["body"]).get("input") or []
    return items


def tool_results(upstream) -> list[str]:
    """Every text the model received as a tool's output, in order, each once."""
    seen: list[str] = []
    for item in inputs(upstream):
        if not item["type"].endswith("_call_output"):
            continue
        output = item.get("output")
        parts = output if isinstance(output, list) else [{"text": str(output)}]
        for part in parts:
            text = part.get("text", "") if isinstance(part, dict) else str(part)
            if text and text not in seen:
                seen.append(text)
    return seen


def result_with(upstream, needle: str) -> str:
    found = [t for t in tool_results(upstream) if needle in t]
    assert found, f"no tool result holds {needle!r}: {tool_results(upstream)}"
    return found[0]


def ask_source(m: str, yield_ms: int | None = None) -> str:
    """``exec`` source calling egress-block; the answer (the MCP result's text) is its own item."""
    ask = {"host": HOST, "justification": f"the task needs {HOST} ({m})"}
    pragma = f'// @exec: {{"yield_time_ms": {yield_ms}}}\n' if yield_ms else ""
    return (
        f'{pragma}text("asking the operator {m}");\n'
        f"const r = await {TOOL}({json.dumps(ask)});\n"
        f'text("operator answered {m}");\n'
        "for (const c of r.content) text(c.text);"
    )


def loop_script(upstream, m: str, *waiting: dict, yield_ms: int | None = None) -> None:
    script(
        upstream,
        exec_turn(f"fetch {m}", shell(f"curl -s https://{HOST}/{m}-1")),
        exec_turn(f"{m}-1", ask_source(m, yield_ms)),
        *waiting,
        exec_turn(f"operator answered {m}", shell(f"curl -s https://{HOST}/{m}-2")),
        {"when": f"{m}-2", "text": f"done {m}"},
    )


def run_codex(bottle, prompt: str):
    """``codex exec`` with the provider's flags, in a thread: the test answers meanwhile."""
    codex, *flags = bottle.prepared.provider.agent_argv(bottle.prepared.request.agent, "fresh")
    flags.remove("--no-daemon")  # `exec` runs no background server anyway
    return exec_in_background(
        bottle.agent, [codex, "exec", *flags, "--skip-git-repo-check", prompt]
    )


def test_approve_the_agent_asks_the_operator_approves_the_retry_passes(
    codex_env, docker_client, upstream
):
    m = uuid.uuid4().hex
    loop_script(upstream, m)
    with launched_bottle(codex_env, docker_client, agent="sup") as bottle:
        thread, out = run_codex(bottle, f"fetch {m}")
        pid = pending_id(codex_env, bottle.slug)
        shown = json.loads(codex_env.run("supervise", "show", bottle.slug, pid, "--json").stdout)
        assert shown["route"] == {"host": HOST} and m in shown["justification"]
        r = codex_env.run("supervise", "approve", bottle.slug, pid, "--notes", f"ok {m}")
        assert r.returncode == 0, r.stderr
        thread.join(300)
        assert not thread.is_alive(), "codex did not finish"
        logs = bottle.sidecars.logs(stderr=False).decode(errors="replace")
    assert f"done {m}" in out["text"], out["text"][-3000:]
    # The first curl met egress's refusal ...
    # (The session's other tests' refusals are in the same log: pick this run's.)
    refused = [t for t in tool_results(upstream) if "request denied" in t and f"{m}-1" in t]
    assert refused and HOST in refused[0], tool_results(upstream)
    # ... the tool's answer reached the model ...
    answered = json.loads(result_with(upstream, f"ok {m}"))
    assert answered["status"] == "approved" and answered["route"] == {"host": HOST}, answered
    # ... and the retry reached the fake internet.
    assert requests_with(upstream, f"{m}-2"), "the retried request never arrived"
    assert not requests_with(upstream, f"{m}-1")
    events = [json.loads(line) for line in logs.splitlines() if '"supervise"' in line]
    asked = [e for e in events if e.get("event") == "asked"]
    assert asked and asked[0]["new"] is True, events
    print("codex sent a progress token:", asked[0]["progress_token"])


def test_reject_the_reason_reaches_the_model_and_the_host_stays_closed(
    codex_env, docker_client, upstream
):
    m = uuid.uuid4().hex
    loop_script(upstream, m)
    with launched_bottle(codex_env, docker_client, agent="sup") as bottle:
        thread, out = run_codex(bottle, f"fetch {m}")
        pid = pending_id(codex_env, bottle.slug)
        reason = f"use the mirror {m}"
        r = codex_env.run("supervise", "reject", bottle.slug, pid, "--reason", reason)
        assert r.returncode == 0, r.stderr
        thread.join(300)
    assert f"done {m}" in out["text"], out["text"][-3000:]
    answered = json.loads(result_with(upstream, reason))
    assert answered["status"] == "rejected" and answered["notes"] == reason
    assert not requests_with(upstream, f"{m}-2")  # refused again by egress
    denied = [t for t in tool_results(upstream) if "request denied" in t and m in t]
    assert len(denied) == 2, denied


def test_a_slow_operator_is_waited_for_on_the_running_exec_cell(codex_env, docker_client, upstream):
    """``exec`` yields while the tool still waits; ``wait`` on that cell gets the answer."""
    m = uuid.uuid4().hex
    wait = {
        "when": f"asking the operator {m}",  # the yielded output, the cell still running
        "capture": r"cell ID (\w+)",
        "tool_call": {"name": "wait", "arguments": {"cell_id": "$1", "yield_time_ms": 120000}},
    }
    loop_script(upstream, m, wait, yield_ms=1000)
    with launched_bottle(codex_env, docker_client, agent="sup") as bottle:
        thread, out = run_codex(bottle, f"fetch {m}")
        pid = pending_id(codex_env, bottle.slug)
        deadline = time.monotonic() + 120
        while not running_cell(upstream, m):  # the operator answers only after exec yielded
            assert time.monotonic() < deadline, "exec never yielded"
            time.sleep(0.5)
        r = codex_env.run("supervise", "approve", bottle.slug, pid, "--notes", f"ok {m}")
        assert r.returncode == 0, r.stderr
        thread.join(300)
        assert not thread.is_alive(), "codex did not finish"
    assert f"done {m}" in out["text"], out["text"][-3000:]
    waited = [
        i for i in inputs(upstream) if i["type"] == "function_call_output" and f"ok {m}" in str(i)
    ]
    assert waited, "the answer never came back through wait"
    answered = json.loads(result_with(upstream, f"ok {m}"))
    assert answered["status"] == "approved" and answered["route"] == {"host": HOST}, answered
    assert requests_with(upstream, f"{m}-2"), "the retried request never arrived"


def running_cell(upstream, m: str) -> bool:
    return any(
        "Script running with cell ID" in str(i) and f"asking the operator {m}" in str(i)
        for i in inputs(upstream)
    )
