"""The codex provider's hook implementations."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot_bottle_core import hookimpl
from bot_bottle_core.config import Agent
from bot_bottle_core.plan import AgentMode, AuthProvision, ProvisionStep, RunCommand, WriteFile
from bot_bottle_core.skills import Skill, install_steps

from . import host_auth, settings

HOME = "/home/agent"
API_HOST = "api.openai.com"
BYPASS = "--dangerously-bypass-approvals-and-sandbox"
NO_DAEMON = "--no-daemon"
# Codex reads ~/.codex/AGENTS.md as the user's own instructions for every project.
PROMPT_FILE = f"{HOME}/.codex/AGENTS.md"


@hookimpl
def agent_dockerfile() -> Path:
    return Path(__file__).with_name("Dockerfile")


@hookimpl
def agent_guest_home() -> str:
    return HOME


@hookimpl
def agent_argv(agent: Agent, mode: AgentMode) -> list[str]:
    # No shared background server: the session ends with the command the bottle runs.
    if mode == "fresh":
        return ["codex", NO_DAEMON, BYPASS]
    # With nothing to resume, `resume --last` starts a fresh session itself.
    return ["codex", "resume", "--last", NO_DAEMON, BYPASS]


@hookimpl
def provision_auth(agent: Agent, environ: Mapping[str, str]) -> AuthProvision:
    """The agent's API key, or else the host's own codex login, injected as a bearer token."""
    if agent.auth_token:
        token_ref, tokens = agent.auth_token, {}
    else:
        key = host_auth.api_key(environ)
        if key is None:
            return AuthProvision()
        token_ref, tokens = host_auth.TOKEN_REF, {host_auth.TOKEN_REF: key}
    return AuthProvision.injected_token(
        host=API_HOST,
        scheme="Bearer",
        token_ref=token_ref,
        placeholder_env="OPENAI_API_KEY",
        tokens=tokens,
    )


@hookimpl
def provision_prompt(agent: Agent, guest_home: str) -> list[ProvisionStep]:
    """The agent file's body, as the user instructions codex sends with every session."""
    if not agent.prompt.strip():
        return []
    return [WriteFile(PROMPT_FILE.replace(HOME, guest_home, 1), agent.prompt, 0o644)]


@hookimpl
def provision_skills(agent: Agent, skills: Sequence[Skill], guest_home: str) -> list[ProvisionStep]:
    """User skills, where codex finds them ($CODEX_HOME/skills)."""
    return list(install_steps(skills, f"{guest_home}/.codex/skills"))


@hookimpl
def provision_settings(agent: Agent, guest_home: str) -> list[ProvisionStep]:
    """Trust, warnings and login answered in ~/.codex, with the placeholder key."""
    return [
        WriteFile(f"{guest_home}/.codex/config.toml", settings.config(guest_home), 0o600),
        WriteFile(f"{guest_home}/.codex/auth.json", settings.auth(), 0o600),
    ]


@hookimpl
def provision_supervise(agent: Agent, guest_home: str, url: str) -> list[ProvisionStep]:
    """The supervise MCP server, as `codex mcp add --url` registers it, with a long timeout.

    Appended in the bottle to the config ``provision_settings`` wrote (it ends
    with a table, so a new one may follow): `codex mcp add` has no option for the
    timeout, and a file rewritten from outside a gVisor sandbox may not be seen in it.
    """
    config = f"{guest_home}/.codex/config.toml"
    table = settings.supervise_table(url)
    return [RunCommand(("sh", "-c", f"printf '%s' {shlex.quote(table)} >> {shlex.quote(config)}"))]


@hookimpl
def agent_transcript_dirs(guest_home: str) -> list[str]:
    # The rollouts, and the database codex finds them through.
    return [f"{guest_home}/.codex/sessions", settings.state_dir(guest_home)]
