"""Typed records that cross the plugin boundary.

Hooks take and return these instead of dicts, so a plugin author sees in
one place what the core hands over and what it expects back.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import attrs
from bot_bottle_sidecars.boundary import ProbeResult

from .config import Agent, Bottle, Route, RouteAuth, Settings
from .skills import Skill

AgentMode = Literal["fresh", "resume"]
# What an agent CLI sees where a real credential would be.
PLACEHOLDER = "bot-bottle-placeholder"
# The snapshot of the agent's transcripts in its state directory, restored on resume.
TRANSCRIPT_ARCHIVE = "transcript.tar"


@attrs.frozen
class Availability:
    """Whether a plugin can work on this machine, and if not, why."""

    available: bool
    reason: str | None = None

    @classmethod
    def yes(cls) -> Availability:
        return cls(True)

    @classmethod
    def no(cls, reason: str) -> Availability:
        return cls(False, reason)


@attrs.frozen
class EnvVar:
    """One variable set in the agent's environment.

    ``hidden`` names are left out of the preflight (a provider's credential
    placeholder, for instance); values are never printed at all.
    """

    name: str
    value: str
    hidden: bool = False


@attrs.frozen
class AuthProvision:
    """What a provider adds so its CLI can authenticate without a secret.

    ``routes`` are egress routes the provider owns (with ``auth`` pointing at
    the host variable that holds the real token); ``env`` holds placeholders
    the CLI needs to believe it is logged in.
    """

    routes: tuple[Route, ...] = ()
    env: tuple[EnvVar, ...] = ()
    # Real tokens the provider read from the host itself (its CLI's own
    # credential file), by token_ref; like a host variable, they go only to egress.
    tokens: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    @classmethod
    def injected_token(
        cls,
        *,
        host: str,
        token_ref: str | None,
        placeholder_env: str,
        scheme: str | None = None,
        header: str | None = None,
        tokens: Mapping[str, str] | None = None,
    ) -> AuthProvision:
        """The usual shape: one API host whose token egress injects (as
        ``Authorization: <scheme> <token>``, or as ``<header>: <token>``), and a
        hidden placeholder the CLI reads instead of the real token. Nothing
        when the agent names no ``token_ref``."""
        if not token_ref:
            return cls()
        auth = RouteAuth(token_ref=token_ref, scheme=scheme, header=header)
        route = Route(host=host, auth=auth)
        env = (EnvVar(placeholder_env, PLACEHOLDER, hidden=True),)
        return cls(routes=(route,), env=env, tokens=dict(tokens or {}))


@attrs.frozen
class WriteFile:
    """Provisioning step: write ``content`` to ``path`` inside the bottle."""

    path: str
    content: str
    mode: int = 0o644


@attrs.frozen
class RunCommand:
    """Provisioning step: run ``argv`` inside the bottle as the agent user."""

    argv: tuple[str, ...]


ProvisionStep = WriteFile | RunCommand


@attrs.frozen
class PrepareRequest:
    """Everything the core has resolved before a backend prepares a bottle."""

    slug: str
    agent: Agent
    bottle: Bottle
    provider: str
    settings: Settings
    state_dir: Path
    dockerfile: Path
    routes: tuple[Route, ...]
    env: tuple[EnvVar, ...]
    copy_cwd: bool = False
    cwd: Path = attrs.field(factory=Path.cwd)
    # Real credentials for the egress sidecar, by token_ref. Never shown,
    # never given to the agent.
    tokens: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    mode: AgentMode = "fresh"
    skills: tuple[Skill, ...] = ()
    # Private keys of the git repos, by repo name: for the git gate only.
    git_keys: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    @property
    def sidecar_dir(self) -> Path:
        """Files the sidecars read (routes); mounted read-only into the bundle."""
        return self.state_dir / "sidecar"

    @property
    def home_id(self) -> str:
        """Which bot-bottle home this bottle belongs to (label what you create with it)."""
        from .state import home_id

        return home_id(self.state_dir.parent)

    @property
    def queue_dir(self) -> Path:
        """The bottle's proposals (``<home>/queue/<slug>``); mounted read-write into the
        sidecar bundle for supervise (see :mod:`bot_bottle_sidecars.layout`)."""
        return queue_dir(self.state_dir)

    @property
    def egress_log_dir(self) -> Path:
        """Where the bottle's egress decisions are kept (``<home>/logs/<slug>``); mounted
        read-write into the sidecar bundle (see :mod:`bot_bottle_sidecars.layout`)."""
        return egress_log_dir(self.state_dir)

    @property
    def transcript_archive(self) -> Path:
        """Snapshot of the agent's transcripts, restored on resume."""
        return self.state_dir / TRANSCRIPT_ARCHIVE


@attrs.frozen
class BackendPlan:
    """A backend's answer to ``prepare``: what it will create, for the preflight."""

    backend: str
    runtime: str
    image: str
    details: Mapping[str, str] = attrs.field(factory=dict)
    # Where the agent reaches the supervise MCP server (the provider registers it);
    # None when this backend does not run supervise.
    supervise_url: str | None = None


@attrs.frozen
class ActiveBottle:
    """One running bottle as a backend sees it."""

    backend: str
    slug: str
    agent: str
    label: str | None = None
    services: tuple[str, ...] = ()
    started_at: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.label} ({self.agent})" if self.label else self.agent


@attrs.frozen
class CleanupItem:
    """A leftover resource a backend offers to remove."""

    backend: str
    kind: str
    name: str
    slug: str | None = None


@attrs.frozen
class CleanupOutcome:
    item: CleanupItem
    ok: bool
    error: str | None = None


@attrs.frozen
class DeployKeyRequest:
    """Ask a git host for a per-bottle deploy key."""

    slug: str
    api_url: str
    repo: str
    public_key: str
    # The git host API token (from the repo's token_ref): sent to the host only,
    # never shown.
    token: str = attrs.field(repr=False)
    read_only: bool = True


@attrs.frozen
class DeployKey:
    """A deploy key the git host created; enough to delete it later (with the token)."""

    api_url: str
    repo: str
    key_id: str


@attrs.frozen
class BoundaryReport:
    """The boundary self-check of one bottle: every probe's verdict.

    A probe ``held`` when the boundary stopped it; one that did not names what
    it reached in its ``detail``.
    """

    slug: str
    results: tuple[ProbeResult, ...]
    checked_at: str = attrs.field(factory=lambda: _now())

    @property
    def ok(self) -> bool:
        return all(r.held for r in self.results)

    @property
    def failures(self) -> list[ProbeResult]:
        return [r for r in self.results if not r.held]


def queue_dir(state_dir: Path) -> Path:
    """``<home>/queue/<slug>`` for the bottle whose state is ``<home>/state/<slug>``."""
    return state_dir.parent.parent / "queue" / state_dir.name


def egress_log_dir(state_dir: Path) -> Path:
    """``<home>/logs/<slug>`` for the bottle whose state is ``<home>/state/<slug>``: beside
    the state, not in it, so the decisions outlive the bottle."""
    return state_dir.parent.parent / "logs" / state_dir.name


def _now() -> str:
    from .state import now_iso  # state imports cattrs lazily; keep plan light

    return now_iso()
