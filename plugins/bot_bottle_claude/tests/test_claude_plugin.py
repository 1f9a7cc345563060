from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bot_bottle_claude import plugin

from bot_bottle_core.config import Agent
from bot_bottle_core.plan import PLACEHOLDER, RunCommand, WriteFile


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


def test_an_api_key_is_injected_as_x_api_key_and_an_oauth_token_as_bearer():
    assert plugin.provision_auth(agent(), {}).routes == ()
    key = plugin.provision_auth(agent(auth_token="MY_KEY"), {"MY_KEY": "sk-ant-api03-secret"})
    (route,) = key.routes
    assert route.host == "api.anthropic.com"
    assert (route.auth.header, route.auth.scheme, route.auth.token_ref) == (
        "x-api-key",
        None,
        "MY_KEY",
    )
    (env,) = key.env
    assert (env.name, env.value, env.hidden) == ("ANTHROPIC_API_KEY", PLACEHOLDER, True)
    oauth = plugin.provision_auth(agent(auth_token="TOK"), {"TOK": "sk-ant-oat01-secret"})
    (route,) = oauth.routes
    assert (route.auth.header, route.auth.scheme) == (None, "Bearer")
    (env,) = oauth.env
    assert (env.name, env.value, env.hidden) == ("ANTHROPIC_AUTH_TOKEN", PLACEHOLDER, True)
    # The value is never copied anywhere: only the kind was read.
    assert "secret" not in repr(key) + repr(oauth)


def test_the_prompt_file_holds_the_agent_files_body():
    assert plugin.provision_prompt(agent(), "/home/agent") == []
    (step,) = plugin.provision_prompt(agent(prompt="Be careful.\n"), "/home/agent")
    assert isinstance(step, WriteFile)
    assert step.path == plugin.PROMPT_FILE and step.content == "Be careful.\n"


def test_the_first_start_asks_nothing_and_the_status_line_shows_the_label():
    steps = {
        s.path: json.loads(s.content)
        for s in plugin.provision_settings(agent(label="bob", color="#336699"), "/home/agent")
    }
    state = steps["/home/agent/.claude.json"]
    assert state["hasCompletedOnboarding"] is True
    assert state["projects"]["/workspace"]["hasTrustDialogAccepted"] is True
    user = steps["/home/agent/.claude/settings.json"]
    assert user["skipDangerousModePermissionPrompt"] is True
    assert user["theme"]
    command = user["statusLine"]["command"]
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout
    assert out == "\x1b[1;38;2;51;102;153mbob (coder)\x1b[0m"
    plain = plugin.provision_settings(agent(label="it's me"), "/home/agent")[1]
    command = json.loads(plain.content)["statusLine"]["command"]
    assert subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout == (
        "it's me (coder)"
    )


def test_skills_go_where_claude_finds_personal_skills():
    from bot_bottle_core.skills import Skill, SkillFile

    files = (SkillFile("SKILL.md", "---\nname: r\n---\n", 0o644), SkillFile("x/run.sh", "", 0o755))
    steps = plugin.provision_skills(agent(), [Skill("review", Path("/src"), files)], "/home/agent")
    assert steps == [
        WriteFile("/home/agent/.claude/skills/review/SKILL.md", "---\nname: r\n---\n", 0o644),
        WriteFile("/home/agent/.claude/skills/review/x/run.sh", "", 0o755),
    ]


def test_supervise_is_registered_over_http_for_the_user():
    (step,) = plugin.provision_supervise(agent(), "/home/agent", "http://supervise:8081/mcp")
    assert isinstance(step, RunCommand)
    assert step.argv == (
        "claude",
        "mcp",
        "add",
        "--transport",
        "http",
        "-s",
        "user",
        "supervise",
        "http://supervise:8081/mcp",
    )


def test_dockerfile_takes_a_base_image_and_drops_root():
    text = plugin.agent_dockerfile().read_text()
    assert "ARG BASE_IMAGE" in text and "FROM ${BASE_IMAGE}" in text
    assert "USER agent" in text
    assert plugin.agent_guest_home() == "/home/agent"
