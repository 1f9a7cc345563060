"""A third-party provider, installed only in bot-bottle's test environment.

Nothing in bot-bottle names it: it is found through its entry point, like
any provider someone publishes on PyPI.
"""

from __future__ import annotations

from pathlib import Path

from bot_bottle_core import hookimpl
from bot_bottle_core.config import Agent
from bot_bottle_core.plan import AgentMode, AuthProvision, WriteFile

HOME = "/home/fake"
API_HOST = "api.fakeprov.test"
PLACEHOLDER_ENV = "FAKEPROV_TOKEN"


@hookimpl
def agent_dockerfile() -> Path:
    return Path(__file__).with_name("Dockerfile")


@hookimpl
def agent_guest_home() -> str:
    return HOME


@hookimpl
def agent_argv(agent: Agent, mode: AgentMode) -> list[str]:
    return ["fakeprov", "--resume" if mode == "resume" else "--fresh"]


@hookimpl
def provision_auth(agent: Agent) -> AuthProvision:
    return AuthProvision.injected_token(
        host=API_HOST, scheme="Token", token_ref=agent.auth_token, placeholder_env=PLACEHOLDER_ENV
    )


@hookimpl
def provision_prompt(agent: Agent, guest_home: str) -> list[WriteFile]:
    return [WriteFile(f"{guest_home}/prompt.txt", agent.prompt)]
