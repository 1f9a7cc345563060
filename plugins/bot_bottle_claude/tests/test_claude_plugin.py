from __future__ import annotations

import subprocess
from pathlib import Path

from bot_bottle_claude import plugin

from bot_bottle_core.config import Agent
from bot_bottle_core.plan import PLACEHOLDER


def agent(**kw) -> Agent:
    return Agent(name="coder", source=Path("coder.md"), bottle="web", provider="claude", **kw)


def test_fresh_argv_bypasses_permissions_and_appends_the_prompt():
    argv = plugin.agent_argv(agent(prompt="Be careful."), "fresh")
    assert argv[:2] == ["claude", "--dangerously-skip-permissions"]
    assert argv[2:] == ["--append-system-prompt-file", plugin.PROMPT_FILE]
    assert plugin.agent_argv(agent(), "fresh") == ["claude", "--dangerously-skip-permissions"]


def test_resume_continues_only_when_a_transcript_exists(tmp_path):
    argv = plugin.agent_argv(agent(), "resume")
    assert argv[:2] == ["sh", "-c"]
    script = (
        argv[2].replace(plugin.TRANSCRIPTS, str(tmp_path)).replace("exec claude", "echo claude")
    )
    run = lambda: subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout  # noqa: E731
    assert run().strip() == "claude --dangerously-skip-permissions"
    (tmp_path / "-workspace").mkdir()
    (tmp_path / "-workspace" / "s1.jsonl").write_text("{}\n")
    assert run().strip() == "claude --dangerously-skip-permissions --continue"


def test_auth_token_becomes_an_injected_route_and_a_hidden_placeholder():
    assert plugin.provision_auth(agent()).routes == ()
    auth = plugin.provision_auth(agent(auth_token="MY_CLAUDE_TOKEN"))
    (route,) = auth.routes
    assert route.host == "api.anthropic.com"
    assert (route.auth.scheme, route.auth.token_ref) == ("Bearer", "MY_CLAUDE_TOKEN")
    (env,) = auth.env
    assert env.hidden and env.value == PLACEHOLDER


def test_dockerfile_takes_a_base_image_and_drops_root():
    text = plugin.agent_dockerfile().read_text()
    assert "ARG BASE_IMAGE" in text and "FROM ${BASE_IMAGE}" in text
    assert "USER agent" in text
    assert plugin.agent_guest_home() == "/home/agent"
