"""The ``shell`` provider: a plain login shell inside the bottle.

It needs no API key, so a newcomer can try a bottle (``bot-bottle start
demo``) before setting up any agent CLI. It is also the smallest complete
example of a provider plugin.
"""

from __future__ import annotations

from pathlib import Path

from ...config import Agent
from ...hookspecs import hookimpl
from ...plan import AgentMode, ProvisionStep, WriteFile

HOME = "/home/agent"


@hookimpl
def agent_dockerfile() -> Path:
    return Path(__file__).with_name("Dockerfile")


@hookimpl
def agent_guest_home() -> str:
    return HOME


@hookimpl
def agent_argv(agent: Agent, mode: AgentMode) -> list[str]:
    # A shell has no session to continue; resume simply opens a new one.
    return ["bash", "--login"]


@hookimpl
def agent_transcript_dirs(guest_home: str) -> list[str]:
    # A shell's transcript is its history; it survives a crash and comes back on resume.
    return [f"{guest_home}/.bash_history"]


@hookimpl
def provision_prompt(agent: Agent, guest_home: str) -> list[ProvisionStep]:
    if not agent.prompt.strip():
        return []
    return [WriteFile(f"{guest_home}/PROMPT.md", agent.prompt)]
