"""Step 1 of ``start``: turn an agent name into a planned bottle.

Resolves the agent, its provider and bottle, the backend, the environment,
the routes and the Dockerfile, writes the bottle's state directory, and asks
the backend's ``prepare`` hook for its plan. Creates no container; the
caller owns the state directory (for a new bottle through a
:class:`~.state.Claim`) and decides whether it survives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import attrs
from bot_bottle_sidecars.routes import Lease, check_route

from . import git_gate
from .bottle_keys import BottleKeys
from .config import Agent, Bottle, Config, Route
from .dispatch import Backend, Plugins, Provider
from .errors import BotBottleError
from .plan import AgentMode, BackendPlan, EnvVar, PrepareRequest, queue_dir
from .routes_file import write_routes
from .skills import read_skills
from .state import Metadata, write_metadata

DEFAULT_BACKEND = "docker"

Ask = Callable[[str, str], str]


@attrs.frozen
class Prepared:
    """A planned bottle: what the preflight shows and the launch needs."""

    request: PrepareRequest
    plan: BackendPlan
    backend: Backend
    provider: Provider
    keys: BottleKeys

    @property
    def visible_env(self) -> list[str]:
        return sorted(v.name for v in self.request.env if not v.hidden)


def find_agent(config: Config, name: str) -> Agent:
    if name in config.agents:
        return config.agents[name]
    known = ", ".join(sorted(config.agents)) or "none"
    raise BotBottleError(
        f"Unknown agent '{name}'. Known agents: {known}. Agents are Markdown files in "
        "agents/ under the bot-bottle config directory or a project's .bot-bottle/; "
        "`bot-bottle config check` shows where they are looked for."
    )


def choose_backend(plugins: Plugins, config: Config, requested: str | None) -> Backend:
    name = requested or config.settings.default_backend
    if name is None:
        installed = plugins.names("backend")
        name = DEFAULT_BACKEND if DEFAULT_BACKEND in installed or not installed else installed[0]
    backend = plugins.backend(name)
    avail = backend.is_available()
    if not avail.available:
        raise BotBottleError(f"The backend '{name}' is not available here: {avail.reason}")
    return backend


def merge_routes(
    bottle_routes: tuple[Route, ...],
    provider_routes: tuple[Route, ...],
    *,
    bottle: str,
    provider: str,
) -> tuple[Route, ...]:
    """The bottle's routes plus the provider's own; one host may not be in both.

    A provider's routes are built in code, so they are checked here by the same
    rules as a manifest's: a bad one is the provider's bug, named as such.
    """
    for route in provider_routes:
        problems = check_route(route)
        if problems:
            found = "; ".join(f"{p.where('route') or 'route'}: {p.message}" for p in problems)
            raise BotBottleError(
                f"Provider '{provider}' asks for an egress route that is not valid ({found})."
                " This is a bug in the provider plugin; report it to its authors."
            )
    mine = {r.host for r in bottle_routes}
    clash = sorted(r.host for r in provider_routes if r.host in mine)
    if clash:
        raise BotBottleError(
            f"Bottle '{bottle}' routes {', '.join(clash)} itself, but provider '{provider}' "
            "needs that host with its own credential. Remove the route from the bottle; "
            "the provider adds it."
        )
    return bottle_routes + provider_routes


def with_granted(routes: tuple[Route, ...], queue: Path) -> tuple[Route, ...]:
    """``routes`` with every route the operator granted through supervise merged in."""
    from bot_bottle_sidecars.proposals import Queue
    from bot_bottle_sidecars.routes import merge_route

    from .supervision import granted_routes

    for route in granted_routes(Queue(queue)):
        routes = merge_route(routes, route).routes
    return routes


def resumed_routes(
    routes: tuple[Route, ...], state_dir: Path
) -> tuple[tuple[Route, ...], tuple[Lease, ...]]:
    """What a resumed bottle serves: its last live routes (the operator's grants and edits)
    on top of ``routes`` (the manifest's and the provider's, which stay the floor), and
    its leases that still hold. Without a readable last file: ``routes`` plus the grants
    recorded in its queue."""
    from bot_bottle_sidecars.routes import merge_route, read_document

    from .routes_file import ROUTES_FILE

    try:
        last = read_document(state_dir / "sidecar" / ROUTES_FILE)[0]
    except ValueError:
        return with_granted(routes, queue_dir(state_dir)), ()
    for route in last.routes:
        routes = merge_route(routes, route).routes
    now = datetime.now(UTC)
    return routes, tuple(lease for lease in last.leases if lease.holds(now))


def pick_dockerfile(state_dir: Path, bottle: Bottle, provider: Provider) -> Path:
    """The per-instance Dockerfile an approved capability left, else the bottle's, else the
    provider's (SPEC §4)."""
    from .supervision import instance_dockerfile

    mine = instance_dockerfile(state_dir)
    if mine.is_file():
        return mine
    dockerfile = bottle.dockerfile or provider.agent_dockerfile()
    if not dockerfile.is_file():
        raise BotBottleError(
            f"The Dockerfile {dockerfile} for bottle '{bottle.name}' does not exist "
            f"(set in {bottle.source}). Fix the bottle's dockerfile path."
        )
    return dockerfile


def resolve_tokens(
    routes: tuple[Route, ...], environ: Mapping[str, str], *, bottle: str
) -> dict[str, str]:
    """The real token behind every route's ``auth.token_ref``, from the host."""
    tokens: dict[str, str] = {}
    missing: list[str] = []
    for route in routes:
        if route.auth is None:
            continue
        ref = route.auth.token_ref
        if environ.get(ref):
            tokens[ref] = environ[ref]
        else:
            missing.append(f"{ref} (for {route.host})")
    if missing:
        raise BotBottleError(
            f"Bottle '{bottle}' injects credentials from host variables that are not set: "
            f"{', '.join(missing)}. Export them in the shell that runs bot-bottle; the values "
            "go only to the egress sidecar, never into the bottle."
        )
    return tokens


def prepare_bottle(
    *,
    plugins: Plugins,
    config: Config,
    slug: str,
    state_dir: Path,
    agent: Agent,
    backend: Backend,
    cwd: Path,
    environ: Mapping[str, str],
    ask: Ask | None,
    copy_cwd: bool = False,
    mode: AgentMode = "fresh",
) -> Prepared:
    from .config.load import resolve_env  # with the loader: see config/__init__

    bottle = config.bottles[agent.bottle]
    provider = plugins.provider(agent.provider)
    resolved = resolve_env(bottle.env, environ=environ, ask=ask, bottle=bottle)
    auth = provider.provision_auth(agent, environ)
    routes = merge_routes(
        bottle.egress.routes, auth.routes, bottle=bottle.name, provider=provider.name
    )
    leases: tuple[Lease, ...] = ()
    if mode == "resume":
        # What the operator granted or changed while it ran still holds.
        routes, leases = resumed_routes(routes, state_dir)
    tokens = resolve_tokens(routes, {**environ, **auth.tokens}, bottle=bottle.name)
    env = tuple(EnvVar(k, v) for k, v in resolved.values.items()) + auth.env
    dockerfile = pick_dockerfile(state_dir, bottle, provider)
    skills = read_skills(agent.skills, config.skills)  # before anything is written
    git_keys = git_gate.identity_keys(bottle.git.repos, bottle.name)
    meta = Metadata(
        slug=slug,
        agent=agent.name,
        backend=backend.name,
        provider=provider.name,
        bottle=bottle.name,
        cwd=str(cwd),
        copy_cwd=copy_cwd,
        label=agent.label,
        color=agent.color,
    )
    write_metadata(state_dir, meta)
    request = PrepareRequest(
        slug=slug,
        agent=agent,
        bottle=bottle,
        provider=provider.name,
        settings=config.settings,
        state_dir=state_dir,
        dockerfile=dockerfile,
        routes=routes,
        env=env,
        copy_cwd=copy_cwd,
        cwd=cwd,
        tokens=tokens,
        mode=mode,
        skills=skills,
        git_keys=git_keys,
    )
    write_routes(request.sidecar_dir, routes, leases)
    git_gate.write_gate_config(request.sidecar_dir, bottle.git.repos)
    plan = backend.prepare(request)
    keys = BottleKeys(plugins, state_dir)
    return Prepared(request=request, plan=plan, backend=backend, provider=provider, keys=keys)
