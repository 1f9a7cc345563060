from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest
from bot_bottle_codex import host_auth, plugin, settings

from bot_bottle_core.config import Agent
from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.plan import PLACEHOLDER, RunCommand, WriteFile


def agent(**kw) -> Agent:
    return Agent(name="cx", source=Path("cx.md"), bottle="web", provider="codex", **kw)


def test_argv_bypasses_approvals_without_a_background_server():
    assert plugin.agent_argv(agent(), "fresh") == [
        "codex",
        "--no-daemon",
        "--dangerously-bypass-approvals-and-sandbox",
    ]
    # codex itself starts fresh when there is nothing to resume.
    assert plugin.agent_argv(agent(), "resume") == [
        "codex",
        "resume",
        "--last",
        "--no-daemon",
        "--dangerously-bypass-approvals-and-sandbox",
    ]


def test_the_agents_key_is_injected_as_a_bearer_token():
    assert plugin.provision_auth(agent(), {}).routes == ()
    auth = plugin.provision_auth(agent(auth_token="OPENAI_TOKEN"), {"OPENAI_TOKEN": "sk-secret"})
    (route,) = auth.routes
    assert route.host == "api.openai.com"
    assert (route.auth.scheme, route.auth.header, route.auth.token_ref) == (
        "Bearer",
        None,
        "OPENAI_TOKEN",
    )
    (env,) = auth.env
    assert (env.name, env.value, env.hidden) == ("OPENAI_API_KEY", PLACEHOLDER, True)
    assert auth.tokens == {} and "sk-secret" not in repr(auth)


def login(tmp_path: Path, data: object) -> dict[str, str]:
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "auth.json").write_text(json.dumps(data))
    return {"HOME": str(tmp_path)}


def test_the_hosts_codex_api_key_login_is_forwarded_to_egress_only(tmp_path):
    environ = login(tmp_path, {"OPENAI_API_KEY": "sk-from-login", "tokens": None})
    auth = plugin.provision_auth(agent(), environ)
    (route,) = auth.routes
    assert route.auth.token_ref == host_auth.TOKEN_REF and route.auth.scheme == "Bearer"
    assert auth.tokens == {host_auth.TOKEN_REF: "sk-from-login"}
    assert "sk-from-login" not in repr(auth)  # never printed with the provision
    # The agent's own key wins; CODEX_HOME moves the login file.
    assert plugin.provision_auth(agent(auth_token="K"), environ).tokens == {}
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-other"}))
    moved = plugin.provision_auth(agent(), {**environ, "CODEX_HOME": str(other)})
    assert moved.tokens == {host_auth.TOKEN_REF: "sk-other"}
    assert plugin.provision_auth(agent(), {"HOME": str(tmp_path / "nobody")}).routes == ()


def test_a_login_that_cannot_be_forwarded_says_what_to_do(tmp_path):
    environ = login(tmp_path, {"OPENAI_API_KEY": None, "tokens": {"access_token": "x"}})
    with pytest.raises(BotBottleError, match=r"ChatGPT sign-in cannot be forwarded.*auth_token"):
        plugin.provision_auth(agent(), environ)
    (tmp_path / ".codex" / "auth.json").write_text("{not json")
    with pytest.raises(BotBottleError, match="could not be read"):
        plugin.provision_auth(agent(), environ)


def test_the_prompt_is_codexs_global_agents_md():
    assert plugin.provision_prompt(agent(), "/home/agent") == []
    (step,) = plugin.provision_prompt(agent(prompt="Be careful.\n"), "/home/agent")
    assert isinstance(step, WriteFile)
    assert step.path == "/home/agent/.codex/AGENTS.md" and step.content == "Be careful.\n"


def test_the_first_start_asks_nothing_and_the_login_is_the_placeholder():
    steps = {s.path: s.content for s in plugin.provision_settings(agent(), "/home/agent")}
    config = tomllib.loads(steps["/home/agent/.codex/config.toml"])
    assert config["projects"]["/workspace"]["trust_level"] == "trusted"
    assert config["notice"]["hide_full_access_warning"] is True
    assert config["check_for_update_on_startup"] is False
    assert config["forced_login_method"] == "api"
    assert config["cli_auth_credentials_store"] == "file"
    assert config["sqlite_home"] == "/home/agent/.codex/state"
    # The terminal title stays bot-bottle's ('label (agent)').
    assert config["tui"]["terminal_title"] == []
    auth = json.loads(steps["/home/agent/.codex/auth.json"])
    assert auth == {"auth_mode": "apikey", "OPENAI_API_KEY": PLACEHOLDER}


def test_supervise_is_appended_as_codex_registers_it_with_a_long_timeout(tmp_path):
    (step,) = plugin.provision_supervise(agent(), str(tmp_path), "http://supervise:8081/mcp")
    assert isinstance(step, RunCommand)
    (tmp_path / ".codex").mkdir()
    config = tmp_path / ".codex" / "config.toml"
    config.write_text(settings.config(str(tmp_path)))
    subprocess.run(step.argv, check=True)
    server = tomllib.loads(config.read_text())["mcp_servers"]["supervise"]
    assert server == {"url": "http://supervise:8081/mcp", "tool_timeout_sec": 3600}
    assert tomllib.loads(config.read_text())["projects"]["/workspace"]["trust_level"] == "trusted"


@pytest.mark.parametrize("text", ['a "quoted" \\ path', "tab\there\nline", "del\x7f", "ünï 🎉"])
def test_toml_strings_round_trip(text):
    assert tomllib.loads(f"v = {settings.toml_string(text)}")["v"] == text


def test_transcripts_are_the_rollouts_and_the_state_database():
    assert plugin.agent_transcript_dirs("/home/agent") == [
        "/home/agent/.codex/sessions",
        "/home/agent/.codex/state",
    ]


def test_dockerfile_takes_a_base_image_drops_root_and_has_curl():
    text = plugin.agent_dockerfile().read_text()
    assert "ARG BASE_IMAGE" in text and "FROM ${BASE_IMAGE}" in text
    assert "USER agent" in text and "@openai/codex" in text and " curl " in text
    assert plugin.agent_guest_home() == "/home/agent"


def test_skills_go_where_codex_finds_user_skills():
    from bot_bottle_core.skills import Skill, SkillFile

    files = (SkillFile("SKILL.md", "---\nname: r\n---\n", 0o644),)
    steps = plugin.provision_skills(
        Agent(name="cx", source=Path("cx.md"), bottle="b"),
        [Skill("review", Path("/src"), files)],
        "/home/agent",
    )
    assert steps == [
        WriteFile("/home/agent/.codex/skills/review/SKILL.md", files[0].content, 0o644)
    ]
