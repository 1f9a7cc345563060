"""``start``, ``resume``, ``attach``, ``stop``, ``list active`` and ``cleanup``."""

from __future__ import annotations

import json
import sys

import attrs
import click

from ..errors import BotBottleError, NotAvailableYet
from ..preflight import render_preflight
from ..preparation import choose_backend, find_agent, prepare_bottle
from ..state import is_slug, read_metadata
from .context import AppContext, pass_ctx


def register(cli: click.Group) -> None:
    for cmd in (start, resume, attach, stop, list_group, cleanup):
        cli.add_command(cmd)


def _ask_secret(name: str, prompt: str) -> str:
    return click.prompt(f"{prompt} ({name})", hide_input=True, err=True)


def _ask_dry_run(name: str, prompt: str) -> str:
    return ""  # nothing is asked on a dry run; the value is never used


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
    with app.store.claimed(spec.name) as claim:
        prepared = prepare_bottle(
            plugins=app.plugins,
            config=config,
            claim=claim,
            agent=spec,
            backend=backend,
            cwd=app.cwd,
            environ=app.environ,
            ask=ask,
            copy_cwd=copy_cwd,
        )
        click.echo(f"bot-bottle start: plan for {claim.slug}", err=dry_run is False)
        click.echo(render_preflight(prepared), err=dry_run is False)
        if dry_run:
            click.echo("Dry run: nothing was created.")
            return
        if not yes and not click.confirm("Start this bottle?", default=False, err=True):
            click.echo("Not started; the plan was discarded.", err=True)
            sys.exit(1)
        # Launch, attach and settle arrive with the backend's launch hook.
        raise NotAvailableYet(f"bot-bottle start on the {backend.name} backend")


def _existing_slug(app: AppContext, slug: str):
    if not is_slug(slug) or not app.store.path(slug).is_dir():
        raise BotBottleError(
            f"Unknown slug '{slug}': no bottle state in {app.store.root}. "
            "`bot-bottle list active` shows running bottles."
        )
    return read_metadata(app.store.path(slug))


@click.command()
@click.argument("slug")
@pass_ctx
def resume(app: AppContext, slug: str) -> None:
    """Relaunch a preserved bottle with the same SLUG and its transcript."""
    meta = _existing_slug(app, slug)
    backend = app.plugins.backend(meta.backend)
    if not backend.implements("launch"):
        raise NotAvailableYet(f"bot-bottle resume on the {backend.name} backend")
    raise NotAvailableYet("bot-bottle resume")


@click.command()
@click.argument("slug")
@pass_ctx
def attach(app: AppContext, slug: str) -> None:
    """Re-enter the running bottle SLUG."""
    meta = _existing_slug(app, slug)
    app.plugins.backend(meta.backend).attach_argv(slug, [], tty=True)
    raise NotAvailableYet("bot-bottle attach")


@click.command()
@click.argument("slug")
@pass_ctx
def stop(app: AppContext, slug: str) -> None:
    """Tear down the running bottle SLUG."""
    meta = _existing_slug(app, slug)
    backend = app.plugins.backend(meta.backend)
    if not backend.implements("stop"):
        raise NotAvailableYet(f"bot-bottle stop on the {backend.name} backend")
    backend.stop(slug, preserve=False, progress=lambda line: click.echo(line, err=True))


@click.group("list")
def list_group() -> None:
    """List bottles."""


@list_group.command("active")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_ctx
def list_active(app: AppContext, as_json: bool) -> None:
    """Every running bottle on every backend: backend, slug, agent, services."""
    found = app.plugins.enumerate_active()
    for problem in found.problems:
        click.echo(f"warning: {problem}", err=True)
    if as_json:
        click.echo(json.dumps([attrs.asdict(b) for b in found.results], indent=2))
        return
    for b in found.results:
        click.echo("\t".join((b.backend, b.slug, b.display_name, ",".join(b.services))))


@click.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed and exit.")
@pass_ctx
def cleanup(app: AppContext, yes: bool, dry_run: bool) -> None:
    """Remove leftovers of every backend and orphan state directories."""
    live = app.plugins.enumerate_active()
    app.plugins.prepare_cleanup(frozenset(b.slug for b in live.results))
    raise NotAvailableYet("bot-bottle cleanup")
