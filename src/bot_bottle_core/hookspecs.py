"""Every hook a bot-bottle plugin can implement, in one place.

A plugin is a module (or object) registered through one of three
entry-point groups; the group says its kind and the entry point's name is
the plugin's name:

* ``bot_bottle.backend``  -- where bottles run (``docker``, ``smolvm``);
* ``bot_bottle.provider`` -- which agent CLI runs inside (``claude``, ``codex``);
* ``bot_bottle.git_host`` -- services that mint deploy keys (``gitea``).

Hooks come in two shapes. *Broadcast* hooks (``is_available``,
``enumerate_active``, ``prepare_cleanup``, ``cleanup``) are asked of every
plugin of a kind and the core merges the answers. *Targeted* hooks concern
one named plugin -- the backend the user picked, the agent's provider --
and the core calls only that plugin (see :mod:`bot_bottle_core.dispatch`).
A plugin never has to check whether a call is meant for it.

Implement a hook with ``@bot_bottle_core.hookimpl`` and a function of the
same name; leave out arguments you do not need, as pluggy allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

# Annotations only: importing the config models and records here would make every
# ``from bot_bottle_core import hookimpl`` pay for them (the dashboard's first paint).
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from .config import Agent
    from .plan import (
        ActiveBottle,
        AgentMode,
        AuthProvision,
        Availability,
        BackendPlan,
        BoundaryReport,
        CleanupItem,
        CleanupOutcome,
        DeployKey,
        DeployKeyRequest,
        PrepareRequest,
        ProvisionStep,
    )
    from .skills import Skill

PROJECT = "bot_bottle"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# A callable a long step reports progress through, one line at a time.
Progress = Callable[[str], None]

# ---------------------------------------------------------------- every kind


@hookspec
def is_available() -> Availability:
    """Say whether this plugin can work on this machine.

    Broadcast. Return ``Availability.no(reason)`` with a reason a user can
    act on ("the smolvm binary is not on PATH; pip install smolmachines").
    Cross-backend commands (``list active``, ``cleanup``) skip unavailable
    backends, so a Docker-only host never fails because of smolvm. Must be
    cheap and must not raise; a plugin without this hook counts as available.
    """


# ---------------------------------------------------------------- backends


@hookspec
def prepare(request: PrepareRequest) -> BackendPlan:
    """Plan a bottle without creating anything.

    Targeted at the chosen backend. Decide the runtime (``runc``/``runsc``),
    the image tag and anything else the preflight shows; write files the
    launch will need into ``request.state_dir`` only. No container, network
    or machine may exist after this returns.
    """


@hookspec
def launch(
    request: PrepareRequest,
    plan: BackendPlan,
    provision: Sequence[ProvisionStep],
    progress: Progress,
) -> BoundaryReport | None:
    """Create and start the bottle that ``prepare`` planned.

    Targeted. Build images (reporting through ``progress``), create networks,
    sidecars and the agent, then apply the provider's ``provision`` steps
    inside it. On any failure remove everything created so far before
    raising, so nothing half-made is left behind.

    Return the boundary self-check's report when the launch ran it itself
    (cheaper where it can share a step with the launch; see
    ``check_boundary``), or ``None`` and the core calls ``check_boundary``.
    Either way the core tears the bottle down when a probe got through.
    """


@hookspec
def attach_argv(slug: str, argv: Sequence[str], tty: bool) -> list[str]:
    """Return the host command that runs ``argv`` inside a running bottle.

    Targeted. The core runs it in the foreground (for Docker this is the one
    place the ``docker exec -it`` CLI is used).
    """


@hookspec
def wait_stopped(slug: str) -> None:
    """Block until the running bottle ``slug``'s agent has stopped; return at once when it
    is not running.

    Targeted, optional. The core runs it in a thread beside the attach command and ends
    that command when the bottle stopped under it (an operator's ``stop``, an approved
    image): some engines leave an interactive exec open after its sandbox is gone
    (gVisor's, when the agent had started child processes).
    """


@hookspec
def check_boundary(slug: str) -> BoundaryReport:
    """Prove the running bottle ``slug``'s boundary from inside its agent.

    Targeted. Run the probes of :mod:`bot_bottle_sidecars.boundary` in the
    agent, as the agent user, against this bottle's own addresses: no default
    route, no outside name resolves, this host's and the bottle's other
    addresses and the upstream side of egress unreachable, no capability,
    ``no_new_privs`` set, no engine socket, and egress refusing an unrouted
    host with its 403. Touch nothing outside the bottle's networks and this
    host. Return every verdict; raise only when the probe could not run.
    """


@hookspec
def reload_routes(slug: str) -> None:
    """Make the running bottle ``slug``'s egress serve its routes file again.

    Targeted at the backend recorded in the bottle's metadata. The core has
    just rewritten ``<state>/<slug>/sidecar/routes.json`` (an approved
    proposal, an operator's edit); signal the sidecar bundle (SIGHUP; see
    :mod:`bot_bottle_sidecars.layout`). Return once the signal is delivered:
    egress reports the routes it serves in its ready file, and supervise
    waits for that before telling the agent. Raise a ``BotBottleError``
    naming the bottle when it is not running.
    """


@hookspec
def stop(slug: str, preserve: bool, progress: Progress) -> None:
    """Tear down the bottle ``slug``.

    Targeted at the backend recorded in the bottle's metadata. With
    ``preserve`` the workspace volume is kept for ``resume``.
    """


@hookspec
def snapshot(slug: str, paths: Sequence[str], dest: Path) -> None:
    """Copy ``paths`` out of the running bottle into the tar file ``dest``.

    Targeted. Used to keep the agent's transcripts when it exits; a path
    that does not exist is skipped. ``launch`` restores
    ``request.transcript_archive`` into the bottle when it exists.
    """


@hookspec
def enumerate_active() -> list[ActiveBottle]:
    """List every bottle this backend is running.

    Broadcast; the core concatenates the lists of all available backends for
    ``list active`` and the dashboard. Should be one cheap query (Docker: one
    labelled list call).
    """


@hookspec
def prepare_cleanup(
    live_slugs: frozenset[str], preserved_slugs: frozenset[str], home_id: str | None
) -> list[CleanupItem]:
    """List leftovers this backend would remove, removing nothing.

    Broadcast. ``live_slugs`` holds the bottles running on *any* backend, so
    a backend never offers to reap another backend's live resources. The core
    adds launches still under way (before any backend lists them) and takes
    out launches killed midway (see ``launch_record``), so a backend offers
    everything of a slug not in it. ``preserved_slugs`` are stopped bottles
    kept for ``resume``, whose workspaces must stay.

    ``home_id`` names the bot-bottle home asking (``PrepareRequest.home_id``
    at launch; label what you create with it): offer only what that home made,
    and what carries no home at all, since another home's starts under way and
    kept workspaces are not in these sets. ``None`` means every home
    (``cleanup --all-homes``).
    """


@hookspec
def cleanup(items: Sequence[CleanupItem], progress: Progress) -> list[CleanupOutcome]:
    """Remove the given leftovers, best effort.

    Broadcast; each backend receives only the items it offered. One failed
    removal must not stop the rest: report it in its outcome and go on.
    """


# ---------------------------------------------------------------- providers


@hookspec
def agent_dockerfile() -> Path:
    """Return the Dockerfile that builds this provider's agent image.

    Targeted at the agent's provider. The file's directory is the build
    context; the Dockerfile must accept a ``BASE_IMAGE`` build argument and
    create the unprivileged user whose home ``agent_guest_home`` names.
    """


@hookspec
def agent_guest_home() -> str:
    """Return the agent user's home directory inside the bottle."""


@hookspec
def agent_argv(agent: Agent, mode: AgentMode) -> list[str]:
    """Return the command that starts the agent CLI inside the bottle.

    Targeted. ``mode`` is ``"fresh"`` for a new bottle and ``"resume"`` to
    continue the last session (falling back to a fresh one when there is no
    transcript). Include the provider's permission-bypass arguments: the
    bottle, not the CLI, is the safety boundary.
    """


@hookspec
def provision_auth(agent: Agent, environ: Mapping[str, str]) -> AuthProvision:
    """Declare how the agent CLI authenticates without holding a secret.

    Targeted. Called at prepare time, so the routes show in the preflight:
    return egress routes whose ``auth.token_ref`` names the host variable
    with the real token (the egress sidecar injects it) and placeholder
    environment variables, marked ``hidden``, that the CLI needs.
    ``environ`` is the host's environment, to tell which kind of credential
    a variable holds (an API key or an OAuth token travel differently); never
    put a value from it into a route, a file or the bottle's environment. A
    token the provider reads from the host's own credential file goes in
    ``tokens`` under its ``token_ref``: to egress only, like a host variable.
    """


@hookspec
def provision_prompt(agent: Agent, guest_home: str) -> list[ProvisionStep]:
    """Steps that install the agent's system prompt (the agent file's body)."""


@hookspec
def provision_skills(agent: Agent, skills: Sequence[Skill], guest_home: str) -> list[ProvisionStep]:
    """Steps that put the agent's ``skills`` where the CLI looks for them.

    Each skill's files are already read on the host (plain text, checked);
    the provider only chooses the directory, e.g. ``~/.claude/skills/NAME/``.
    Called only when the agent lists skills.
    """


@hookspec
def provision_settings(agent: Agent, guest_home: str) -> list[ProvisionStep]:
    """Steps that pre-seed the CLI's settings.

    Onboarding and permission prompts answered, label and colour in its
    status line and theme: the first start must ask nothing.
    """


@hookspec
def provision_supervise(agent: Agent, guest_home: str, url: str) -> list[ProvisionStep]:
    """Steps that register the supervise MCP server at ``url`` with the CLI."""


@hookspec
def agent_transcript_dirs(guest_home: str) -> list[str]:
    """Paths (directories or files) inside the bottle that hold the CLI's transcripts.

    They are snapshotted into state when the agent exits and restored on
    ``resume``.
    """


# ---------------------------------------------------------------- git hosts


@hookspec
def deploy_key_create(request: DeployKeyRequest) -> DeployKey:
    """Register ``request.public_key`` as a deploy key of one repo, for one bottle.

    Targeted at the git host named by a repo's ``provisioned_key.plugin``.
    Called at launch by :mod:`bot_bottle_core.deploy_keys`, which made the
    key pair and keeps the private key for the git gate only. Give the key a
    title naming bot-bottle and ``request.slug``, honour
    ``request.read_only``, and return the host's key id; the key is revoked
    at teardown. On failure raise a ``BotBottleError`` naming the repo; never
    put ``request.token`` into a message, a log line or a repr.
    """


@hookspec
def deploy_key_delete(key: DeployKey, token: str) -> None:
    """Revoke a deploy key made by ``deploy_key_create``.

    Targeted. Called at teardown, after a failed launch and by ``cleanup``.
    A key that is already gone (HTTP 404) counts as deleted; any other
    failure must raise a ``BotBottleError`` that names the repo, the key id
    and the API URL, so the operator can revoke it by hand.
    """


# Which hooks belong to which kind; a plugin implementing another kind's
# hook is refused at load time, which catches a plugin registered under the
# wrong entry-point group.
KIND_HOOKS: dict[str, frozenset[str]] = {
    "backend": frozenset(
        {
            "prepare",
            "launch",
            "attach_argv",
            "wait_stopped",
            "check_boundary",
            "reload_routes",
            "stop",
            "snapshot",
            "enumerate_active",
            "prepare_cleanup",
            "cleanup",
        }
    ),
    "provider": frozenset(
        {
            "agent_dockerfile",
            "agent_guest_home",
            "agent_argv",
            "provision_auth",
            "provision_prompt",
            "provision_skills",
            "provision_settings",
            "provision_supervise",
            "agent_transcript_dirs",
        }
    ),
    "git_host": frozenset({"deploy_key_create", "deploy_key_delete"}),
}
COMMON_HOOKS = frozenset({"is_available"})
KINDS = tuple(KIND_HOOKS)
