"""The claude provider's hook implementations."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot_bottle_core import hookimpl
from bot_bottle_core.config import Agent
from bot_bottle_core.plan import AgentMode, AuthProvision, ProvisionStep, RunCommand, WriteFile
from bot_bottle_core.skills import Skill, install_steps

from . import settings

HOME = "/home/agent"
PROMPT_FILE = f"{HOME}/.bot-bottle/system-prompt.md"
API_HOST = "api.anthropic.com"
TRANSCRIPTS = f"{HOME}/.claude/projects"
# `claude setup-token` mints these; they go out as a bearer token. Anything else
# is an API key, which the CLI sends as x-api-key.
OAUTH_PREFIX = "sk-ant-oat"
SUPERVISE = "supervise"


@hookimpl
def agent_dockerfile() -> Path:
    return Path(__file__).with_name("Dockerfile")


@hookimpl
def agent_guest_home() -> str:
    return HOME


def _base_argv(agent: Agent) -> list[str]:
    argv = ["claude", "--dangerously-skip-permissions"]
    if agent.prompt.strip():
        argv += ["--append-system-prompt-file", PROMPT_FILE]
    return argv


@hookimpl
def agent_argv(agent: Agent, mode: AgentMode) -> list[str]:
    argv = _base_argv(agent)
    if mode == "fresh":
        return argv
    # --continue fails when there is no transcript yet; start fresh then,
    # but never rerun after a real session ended badly.
    cmd = shlex.join(argv)
    return [
        "sh",
        "-c",
        # A glob, not ls: the shell alone decides, whatever tools the image has.
        f'set -- {TRANSCRIPTS}/*/*.jsonl; if [ -e "$1" ]; '
        f"then exec {cmd} --continue; else exec {cmd}; fi",
    ]


@hookimpl
def provision_auth(agent: Agent, environ: Mapping[str, str]) -> AuthProvision:
    # Only the kind of credential is read here; the value stays with egress.
    if (environ.get(agent.auth_token or "") or "").startswith(OAUTH_PREFIX):
        return AuthProvision.injected_token(
            host=API_HOST,
            scheme="Bearer",
            token_ref=agent.auth_token,
            placeholder_env="ANTHROPIC_AUTH_TOKEN",
        )
    return AuthProvision.injected_token(
        host=API_HOST,
        header="x-api-key",
        token_ref=agent.auth_token,
        placeholder_env="ANTHROPIC_API_KEY",
    )


@hookimpl
def provision_prompt(agent: Agent, guest_home: str) -> list[ProvisionStep]:
    """The agent file's body, where ``--append-system-prompt-file`` reads it."""
    if not agent.prompt.strip():
        return []
    return [WriteFile(PROMPT_FILE.replace(HOME, guest_home, 1), agent.prompt, 0o644)]


@hookimpl
def provision_skills(agent: Agent, skills: Sequence[Skill], guest_home: str) -> list[ProvisionStep]:
    """Personal skills, where claude finds them in every project."""
    return list(install_steps(skills, f"{guest_home}/.claude/skills"))


@hookimpl
def provision_settings(agent: Agent, guest_home: str) -> list[ProvisionStep]:
    """Onboarding, trust and the bypass prompt answered; label and colour in the status line."""
    return [
        WriteFile(f"{guest_home}/.claude.json", _json(settings.state(settings.WORKSPACE)), 0o600),
        WriteFile(f"{guest_home}/.claude/settings.json", _json(settings.user(agent)), 0o600),
    ]


@hookimpl
def provision_supervise(agent: Agent, guest_home: str, url: str) -> list[ProvisionStep]:
    """The supervise MCP server, over HTTP, for every project of the agent user."""
    argv = ("claude", "mcp", "add", "--transport", "http", "-s", "user", SUPERVISE, url)
    return [RunCommand(argv)]


def _json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


@hookimpl
def agent_transcript_dirs(guest_home: str) -> list[str]:
    return [f"{guest_home}/.claude/projects"]
