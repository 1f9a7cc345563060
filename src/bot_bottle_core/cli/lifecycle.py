"""``start``, ``resume``, ``attach``, ``stop``, ``list active`` and ``cleanup``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime

import attrs
import click

from .. import launch_record, running, terminal_identity
from ..bottle_keys import BottleKeys, tear_down
from ..config import Agent
from ..dispatch import Backend
from ..errors import BotBottleError, NotAvailableYet
from ..launch_record import LaunchStatus
from ..preflight import render_preflight
from ..preparation import Ask, Prepared, choose_backend, find_agent, prepare_bottle
from ..state import Metadata, is_slug, read_metadata
from . import cleanup_cmd
from .context import AppContext, echo_err, launch_status, pass_ctx
from .table import render_table


def register(cli: click.Group) -> None:
    for cmd in (start, resume, attach, stop, list_group, cleanup_cmd.cleanup):
        cli.add_command(cmd)


def _ask_secret(name: str, prompt: str) -> str:
    return click.prompt(f"{prompt} ({name})", hide_input=True, err=True)


def _ask_dry_run(name: str, prompt: str) -> str:
    return ""  # nothing is asked on a dry run; the value is never used


def _confirm(prepared: Prepared, yes: bool) -> None:
    click.echo(f"bot-bottle start: plan for {prepared.request.slug}", err=True)
    click.echo(render_preflight(prepared), err=True)
    if not yes and not click.confirm("Start this bottle?", default=False, err=True):
        click.echo("Not started; the plan was discarded.", err=True)
        sys.exit(1)


@click.command()
@click.argument("agent")
@click.option("--backend", "backend_name", metavar="B", help="Backend to run on (default: docker).")
@click.option("--copy-cwd", is_flag=True, help="Copy the current directory into /workspace.")
@click.option("--dry-run", is_flag=True, help="Print the plan and exit; create nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before starting.")
@click.option("--label", help="Label shown as 'LABEL (agent)' for this bottle.")
@click.option("--color", help="Terminal colour for this bottle.")
@pass_ctx
def start(
    app: AppContext,
    agent: str,
    backend_name: str | None,
    copy_cwd: bool,
    dry_run: bool,
    yes: bool,
    label: str | None,
    color: str | None,
) -> None:
    """Start AGENT in a new bottle."""
    config = app.config
    spec = find_agent(config, agent)
    if label is not None or color is not None:
        spec = attrs.evolve(
            spec,
            label=label if label is not None else spec.label,
            color=color if color is not None else spec.color,
        )
    backend = choose_backend(app.plugins, config, backend_name)
    if not dry_run and not backend.implements("launch"):
        raise NotAvailableYet(f"bot-bottle start on the {backend.name} backend")
    interactive = sys.stdin.isatty()
    if not dry_run and not yes and not interactive:
        raise BotBottleError(
            "No terminal to confirm the plan on. Pass --yes to start without asking, "
            "or --dry-run to only print the plan."
        )
    ask = _ask_dry_run if dry_run else (_ask_secret if interactive else None)

    def confirm(prepared: Prepared) -> bool:
        if dry_run:
            click.echo(f"bot-bottle start: plan for {prepared.request.slug}")
            click.echo(render_preflight(prepared))
            click.echo("Dry run: nothing was created.")
            return False
        _confirm(prepared, yes)
        return True

    prepared = launch_new(
        app, spec, backend, ask=ask, confirm=confirm, echo=echo_err, copy_cwd=copy_cwd
    )
    if prepared is not None:
        sys.exit(running.attach_and_settle(prepared, app.store, echo_err))


def launch_new(
    app: AppContext,
    spec: Agent,
    backend: Backend,
    *,
    ask: Ask | None,
    confirm: Callable[[Prepared], bool],
    echo: Callable[[str], None],
    copy_cwd: bool = False,
) -> Prepared | None:
    """Claim a slug, plan the bottle, ask ``confirm``, launch: ``start`` before it attaches.

    The dashboard starts agents through this too. ``None`` when ``confirm`` says
    no; then nothing of the bottle is left.
    """
    with app.store.claimed(spec.name) as claim:
        # Ours from here, prompt included: cleanup leaves a live launch alone.
        launch_record.begin(claim.path)
        prepared = prepare_bottle(
            plugins=app.plugins,
            config=app.config,
            slug=claim.slug,
            state_dir=claim.path,
            agent=spec,
            backend=backend,
            cwd=app.cwd,
            environ=app.environ,
            ask=ask,
            copy_cwd=copy_cwd,
        )
        if not confirm(prepared):
            return None
        try:
            running.launch(prepared, echo)
        except BaseException:
            if prepared.keys.record.exists():
                claim.keep()  # a deploy key not revoked: its record is how cleanup finds it
            raise
        # From here the bottle exists: settle decides what happens to the state.
        claim.keep()
    return prepared


def existing(app: AppContext, slug: str) -> Metadata:
    if not is_slug(slug) or not app.store.path(slug).is_dir():
        raise BotBottleError(
            f"Unknown slug '{slug}': no bottle state in {app.store.root}. "
            "`bot-bottle list active` shows running bottles."
        )
    return read_metadata(app.store.path(slug))


def _incomplete_todo(app: AppContext, slug: str) -> str:
    if app.store.is_preserved(slug):  # an interrupted resume: the work is kept
        return f"`bot-bottle resume {slug}` starts it again"
    return "`bot-bottle cleanup` removes what it left"


def _refuse_unfinished(app: AppContext, slug: str) -> None:
    """Stop ``attach`` at a bottle whose launch has not finished, with what to do instead."""
    status = launch_status(app, slug)
    if status is LaunchStatus.STARTING:
        raise BotBottleError(
            f"The bottle {slug} is still starting; the bot-bottle that launches it "
            "attaches to it when it is ready."
        )
    if status is LaunchStatus.INCOMPLETE:
        raise BotBottleError(
            f"The bottle {slug} never finished starting (the bot-bottle that launched it "
            f"is gone): {_incomplete_todo(app, slug)}."
        )


@click.command()
@click.argument("slug")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before starting.")
@pass_ctx
def resume(app: AppContext, slug: str, yes: bool) -> None:
    """Relaunch a preserved bottle with the same SLUG, its workspace and transcript."""
    meta = existing(app, slug)
    status = launch_status(app, slug)
    if status is LaunchStatus.STARTING:
        raise BotBottleError(f"The bottle {slug} is being started by another bot-bottle.")
    interrupted = status is LaunchStatus.INCOMPLETE
    live = {b.slug for b in app.plugins.enumerate_active().results}
    if slug in live and not interrupted:
        raise BotBottleError(
            f"The bottle {slug} is still running; use `bot-bottle attach {slug}` instead."
        )
    config = app.config
    spec = find_agent(config, meta.agent)
    spec = attrs.evolve(spec, label=meta.label, color=meta.color)
    backend = app.plugins.backend(meta.backend)
    avail = backend.is_available()
    if not avail.available:
        raise BotBottleError(f"The backend '{meta.backend}' is not available here: {avail.reason}")
    if not yes and not sys.stdin.isatty():
        raise BotBottleError("No terminal to confirm the plan on. Pass --yes to resume.")
    launch_record.begin(app.store.path(slug))
    prepared = prepare_bottle(
        plugins=app.plugins,
        config=config,
        slug=slug,
        state_dir=app.store.path(slug),
        agent=spec,
        backend=backend,
        cwd=app.cwd,
        environ=app.environ,
        ask=_ask_secret if sys.stdin.isatty() else None,
        copy_cwd=meta.copy_cwd,
        mode="resume",
    )
    _confirm(prepared, yes)
    if interrupted:
        # An earlier launch was killed midway: clear what it left, keep the workspace.
        tear_down(backend, prepared.keys, slug, preserve=True, progress=echo_err)
    running.launch(prepared, echo_err)
    app.store.unmark_preserved(slug)
    sys.exit(running.attach_and_settle(prepared, app.store, echo_err))


@click.command()
@click.argument("slug")
@pass_ctx
def attach(app: AppContext, slug: str) -> None:
    """Re-enter the running bottle SLUG (the agent continues its session)."""
    target = attach_target(app, slug, tty=sys.stdin.isatty())
    sys.exit(attach_foreground(app, target))


@attrs.frozen
class AttachTarget:
    """How to re-enter one running bottle: its agent and the host command."""

    slug: str
    spec: Agent
    argv: list[str]
    backend: Backend


def attach_target(app: AppContext, slug: str, *, tty: bool) -> AttachTarget:
    """The host command that re-enters ``slug``, continuing the agent's session
    (the provider starts a fresh one when there is none)."""
    meta = existing(app, slug)
    _refuse_unfinished(app, slug)
    backend = app.plugins.backend(meta.backend)
    provider = app.plugins.provider(meta.provider)
    spec = attrs.evolve(find_agent(app.config, meta.agent), label=meta.label, color=meta.color)
    argv = provider.agent_argv(spec, "resume")
    return AttachTarget(slug, spec, backend.attach_argv(slug, argv, tty=tty), backend)


def attach_foreground(app: AppContext, target: AttachTarget) -> int:
    """Run the attach in this terminal until the agent leaves; its exit status."""
    with launch_record.holding(app.store.path(target.slug)), terminal_identity.shown(target.spec):
        return running.run_foreground(
            target.argv, gone=lambda: target.backend.wait_stopped(target.slug)
        )


@click.command()
@click.argument("slug")
@pass_ctx
def stop(app: AppContext, slug: str) -> None:
    """Tear down the running bottle SLUG and delete its state."""
    click.echo(stop_bottle(app, slug, echo_err), err=True)


def stop_bottle(app: AppContext, slug: str, echo: Callable[[str], None]) -> str:
    """Tear down ``slug`` and delete its state; returns what was done, in a line."""
    if is_slug(slug) and not app.store.path(slug).is_dir():
        # Running without state here (another BOT_BOTTLE_HOME, a deleted
        # state dir): the backend that lists it can still tear it down.
        live = [b for b in app.plugins.enumerate_active().results if b.slug == slug]
        if live:
            app.plugins.backend(live[0].backend).stop(slug, preserve=False, progress=echo)
            return f"stopped {slug} (it had no state in {app.store.root})"
    meta = existing(app, slug)
    backend = app.plugins.backend(meta.backend)
    keys = BottleKeys(app.plugins, app.store.path(slug))
    tear_down(backend, keys, slug, preserve=False, progress=echo)  # raises: state kept
    app.store.remove(slug)
    return f"stopped {slug}"


@click.group("list")
def list_group() -> None:
    """List bottles."""


LIST_HEADER = ("BACKEND", "SLUG", "AGENT", "STATUS", "SERVICES", "STARTED")


def _local_time(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso  # another backend's format: shown as it came


def _status_hints(app: AppContext, statuses: dict[str, LaunchStatus | None]) -> list[str]:
    """What to do about bottles nobody is attached to, for after the table."""
    hints = []
    for slug, status in statuses.items():
        if status is LaunchStatus.DETACHED:
            hints.append(f"Re-enter a detached bottle with: bot-bottle attach {slug}")
        elif status is LaunchStatus.INCOMPLETE:
            hints.append(f"{slug} never finished starting: {_incomplete_todo(app, slug)}")
    return hints


@list_group.command("active")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_ctx
def list_active(app: AppContext, as_json: bool) -> None:
    """Every running bottle on every backend: backend, slug, agent, status, services.

    STATUS is attached (its bot-bottle still runs), detached (re-enter it with
    `bot-bottle attach`), starting, or incomplete (its launch was interrupted;
    `bot-bottle cleanup` removes it); "-" for a bottle with no state here.
    """
    found = app.plugins.enumerate_active()
    if not found.answered:
        # An empty list would read as "nothing is running".
        raise BotBottleError(
            "No backend could list running bottles here: " + " ".join(found.problems)
        )
    for problem in found.problems:
        click.echo(f"warning: {problem}", err=True)
    statuses = {b.slug: launch_status(app, b.slug) for b in found.results}
    if as_json:
        listed = [{**attrs.asdict(b), "status": statuses[b.slug]} for b in found.results]
        click.echo(json.dumps(listed, indent=2))
    elif not found.results:
        click.echo("No bottles are running.")
    else:
        rows = [
            (
                b.backend,
                b.slug,
                b.display_name,
                statuses[b.slug] or "-",
                ",".join(b.services) or "-",
                _local_time(b.started_at),
            )
            for b in found.results
        ]
        click.echo(render_table(LIST_HEADER, rows))
        hints = _status_hints(app, statuses)
        if hints:
            click.echo("\n" + "\n".join(hints))
    if found.failed:
        sys.exit(1)  # the list above may be missing bottles
