"""``bot-bottle supervise list|show|approve|modify|reject``: answer agents from scripts.

Thin: the work is :mod:`bot_bottle_core.supervision`'s, which the dashboard calls too.
"""

from __future__ import annotations

import json

import click
from bot_bottle_sidecars.routes import parse_route, route_to_json

from ..errors import BotBottleError
from ..state import read_metadata
from ..supervision import Pending, Supervision
from .context import AppContext, pass_ctx
from .table import render_table

LIST_HEADER = ("SLUG", "ID", "KIND", "ASKED", "STATUS", "ASKS FOR")


def register(cli: click.Group) -> None:
    cli.add_command(supervise)


def _supervision(app: AppContext) -> Supervision:
    return Supervision(queue_root=app.home.queue_dir, state_root=app.home.state_dir)


def _reload(app: AppContext):
    def reload(slug: str) -> None:
        meta = read_metadata(app.store.path(slug))
        app.plugins.backend(meta.backend).reload_routes(slug)

    return reload


def _status(item: Pending) -> str:
    answer = item.answer
    if answer is None:
        return "pending"
    return answer.status if answer.applied_at else f"{answer.status} (not applied yet)"


def _asks_for(item: Pending) -> str:
    p = item.proposal
    if p.route is not None:
        r = p.route
        paths = " ".join(r.path_allowlist) if r.path_allowlist else "/ (whole host)"
        ports = f" ports {','.join(map(str, r.ports))}" if r.ports else ""
        auth = f" [auth:{r.auth.shown}]" if r.auth else ""
        return f"{r.host} {paths}{ports}{auth}"
    lines = (p.dockerfile or "").strip().splitlines()
    return f"an image: {len(lines)}-line Dockerfile"


def _to_json(item: Pending) -> dict[str, object]:
    return {
        "slug": item.slug,
        **item.proposal.to_json(),
        "status": "pending" if item.answer is None else item.answer.status,
        "answer": None if item.answer is None else item.answer.to_json(),
    }


@click.group()
def supervise() -> None:
    """Answer agents' requests for more access (proposals)."""


@supervise.command("list")
@click.option("--all", "answered", is_flag=True, help="Answered proposals too.")
@click.option("--slug", help="Only this bottle's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_(app: AppContext, answered: bool, slug: str | None, as_json: bool) -> None:
    """Pending proposals of every bottle, oldest first."""
    listing = _supervision(app).listing(slug=slug, answered=answered)
    for problem in listing.problems:
        click.echo(f"warning: skipped the queue file {problem.path}: {problem.reason}", err=True)
    if as_json:
        click.echo(json.dumps([_to_json(i) for i in listing.items], indent=2))
    elif not listing.items:
        click.echo("No proposals." if answered else "No pending proposals.")
    else:
        rows = [
            (
                i.slug,
                i.proposal.id,
                i.proposal.kind,
                i.proposal.created_at,
                _status(i),
                _asks_for(i),
            )
            for i in listing.items
        ]
        click.echo(render_table(LIST_HEADER, rows))


@supervise.command()
@click.argument("slug")
@click.argument("proposal")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def show(app: AppContext, slug: str, proposal: str, as_json: bool) -> None:
    """One proposal in full (PROPOSAL: its id, or the start of it)."""
    item = _supervision(app).find(slug, proposal)
    if as_json:
        click.echo(json.dumps(_to_json(item), indent=2))
        return
    p = item.proposal
    click.echo(f"proposal {p.id} of {item.slug}: {p.kind}, asked {p.created_at}")
    click.echo(f"status: {_status(item)}")
    click.echo(f"justification: {p.justification}")
    if p.route is not None:
        click.echo("route asked:\n" + json.dumps(route_to_json(p.route), indent=2))
    if p.dockerfile is not None:
        click.echo("Dockerfile asked:\n" + p.dockerfile.rstrip())
    if item.answer is not None and item.answer.notes:
        click.echo(f"operator's notes: {item.answer.notes}")


def _done(answer, slug: str) -> None:
    what = {"approved": "Approved", "modified": "Approved as modified", "rejected": "Rejected"}
    tail = f": {answer.route.host} is routed" if answer.route is not None else ""
    click.echo(f"{what[answer.status]} proposal {answer.id} of {slug}{tail}.")


@supervise.command()
@click.argument("slug")
@click.argument("proposal")
@click.option("--notes", default="", help="A note the agent reads with the answer.")
@pass_ctx
def approve(app: AppContext, slug: str, proposal: str, notes: str) -> None:
    """Grant a proposal as asked: the route joins the bottle's live routes."""
    answer = _supervision(app).approve(slug, proposal, notes=notes, reload=_reload(app))
    _done(answer, slug)


@supervise.command()
@click.argument("slug")
@click.argument("proposal")
@click.option("--notes", default="", help="A note the agent reads with the answer.")
@pass_ctx
def modify(app: AppContext, slug: str, proposal: str, notes: str) -> None:
    """Edit the asked route in $EDITOR, then grant your version."""
    sup = _supervision(app)
    item = sup.find(slug, proposal)
    if item.proposal.route is None:
        raise BotBottleError(
            f"Proposal {item.proposal.id} of {slug} asks for an image, not a route; only routes"
            " can be modified here."
        )
    before = json.dumps(route_to_json(item.proposal.route), indent=2) + "\n"
    edited = click.edit(before, extension=".json", require_save=True)
    if edited is None:
        raise BotBottleError(
            "The route was not saved, so nothing was answered. Approve it as asked with"
            f" `bot-bottle supervise approve {slug} {item.proposal.id}`."
        )
    try:
        data = json.loads(edited)
    except json.JSONDecodeError as exc:
        raise BotBottleError(
            f"The edited route is not valid JSON ({exc}); nothing was answered."
        ) from None
    route, problems = parse_route(data)
    if route is None:
        found = "; ".join(f"{p.where('route') or 'route'}: {p.message}" for p in problems)
        raise BotBottleError(f"The edited route is not valid ({found}); nothing was answered.")
    answer = sup.approve(slug, proposal, notes=notes, route=route, reload=_reload(app))
    _done(answer, slug)


@supervise.command()
@click.argument("slug")
@click.argument("proposal")
@click.option("--reason", required=True, help="Why; the agent reads it.")
@pass_ctx
def reject(app: AppContext, slug: str, proposal: str, reason: str) -> None:
    """Refuse a proposal; the agent gets the reason."""
    answer = _supervision(app).reject(slug, proposal, reason=reason)
    _done(answer, slug)
