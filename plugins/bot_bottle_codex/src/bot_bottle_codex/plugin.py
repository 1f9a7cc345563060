"""The codex provider's hook implementations."""

from __future__ import annotations

import shlex
from pathlib import Path

from bot_bottle_core import hookimpl
from bot_bottle_core.config import Agent
from bot_bottle_core.plan import AgentMode, AuthProvision

HOME = "/home/agent"
API_HOST = "api.openai.com"
BYPASS = "--dangerously-bypass-approvals-and-sandbox"
SESSIONS = f"{HOME}/.codex/sessions"


@hookimpl
def agent_dockerfile() -> Path:
    return Path(__file__).with_name("Dockerfile")


@hookimpl
def agent_guest_home() -> str:
    return HOME


@hookimpl
def agent_argv(agent: Agent, mode: AgentMode) -> list[str]:
    if mode == "fresh":
        return ["codex", BYPASS]
    resume = shlex.join(["codex", "resume", "--last", BYPASS])
    fresh = shlex.join(["codex", BYPASS])
    return [
        "sh",
        "-c",
        f'if [ -d {SESSIONS} ] && [ -n "$(ls -A {SESSIONS})" ]; '
        f"then exec {resume}; else exec {fresh}; fi",
    ]


@hookimpl
def provision_auth(agent: Agent) -> AuthProvision:
    return AuthProvision.injected_token(
        host=API_HOST, scheme="Bearer", token_ref=agent.auth_token, placeholder_env="OPENAI_API_KEY"
    )


@hookimpl
def agent_transcript_dirs(guest_home: str) -> list[str]:
    return [f"{guest_home}/.codex/sessions"]
