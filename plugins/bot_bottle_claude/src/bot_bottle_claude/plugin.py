"""The claude provider's hook implementations."""

from __future__ import annotations

import shlex
from pathlib import Path

from bot_bottle_core import hookimpl
from bot_bottle_core.config import Agent
from bot_bottle_core.plan import AgentMode, AuthProvision

HOME = "/home/agent"
PROMPT_FILE = f"{HOME}/.bot-bottle/system-prompt.md"
API_HOST = "api.anthropic.com"
TRANSCRIPTS = f"{HOME}/.claude/projects"


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
        f"if ls {TRANSCRIPTS}/*/*.jsonl >/dev/null 2>&1; "
        f"then exec {cmd} --continue; else exec {cmd}; fi",
    ]


@hookimpl
def provision_auth(agent: Agent) -> AuthProvision:
    return AuthProvision.injected_token(
        host=API_HOST,
        scheme="Bearer",
        token_ref=agent.auth_token,
        placeholder_env="ANTHROPIC_AUTH_TOKEN",
    )


@hookimpl
def agent_transcript_dirs(guest_home: str) -> list[str]:
    return [f"{guest_home}/.claude/projects"]
