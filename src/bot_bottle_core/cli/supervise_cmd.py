"""``bot-bottle supervise list|show|approve|modify|reject``: answer agents from scripts.

Thin: the work is :mod:`bot_bottle_core.supervision`'s, which the dashboard calls too.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import click
from bot_bottle_sidecars.routes import route_to_json

from .. import proposal_view
from ..bottle_ops import BottleOps
from ..errors import BotBottleError
from ..supervision import Context, Pending, Supervision, route_for_editing, route_from_edit
from .context import AppContext, pass_ctx
from .table import render_table

LIST_HEADER = ("SLUG", "ID", "KIND", "ASKED", "STATUS", "ASKS FOR")


def register(cli: click.Group) -> None:
    cli.add_command(supervise)


def supervision(app: AppContext) -> Supervision:
    """The home's supervision, with every lapsed time-limited route audited first (nothing
    else may be running to notice a lapse: whoever looks next records it)."""
    from ..audit import AuditLog

    sup = Supervision(
        queue_root=app.home.queue_dir,
        state_root=app.home.state_dir,
        audit=AuditLog(app.home.audit_log),
    )
    sup.sweep(ops(app).reload)
    return sup


def ops(app: AppContext) -> BottleOps:
    return BottleOps(app.plugins, app.store, lambda line: click.echo(line, err=True))


_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1h30m``, ``90s``, ``1d``."""
    parts = _DURATION.findall(text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower():
        raise click.BadParameter(
            f"{text!r} is not a duration: give a number and a unit, like 30m, 2h, 1h30m or 90s"
        )
    total = timedelta()
    for n, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(n)})
    if total <= timedelta():
        raise click.BadParameter("a grant must last more than 0 seconds")
    return total


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


def _to_json(item: Pending, context: Context | None = None) -> dict[str, object]:
    out = {
        "slug": item.slug,
        **item.proposal.to_json(),
        "status": "pending" if item.answer is None else item.answer.status,
        "answer": None if item.answer is None else item.answer.to_json(),
    }
    if context is not None:
        out["context"] = context.to_json()
    return out


def _denial_line(d: dict) -> str:
    port = f":{d['port']}" if d.get("port") not in (None, 443, 80) else ""
    what = f"{d.get('method') or d.get('kind')} {d.get('path') or ''}{port}".strip()
    # The path and method are what the agent sent.
    return proposal_view.one_line(f"  {d.get('time')}  {what}  ({d.get('reason')})")


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
    listing = supervision(app).listing(slug=slug, answered=answered)
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
                proposal_view.one_line(i.proposal.created_at),
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
    """One proposal in full (PROPOSAL: its id, or the start of it): why the agent asks,
    what egress refused for that host, and the routes diff approval would make."""
    sup = supervision(app)
    item = sup.find(slug, proposal)
    context = sup.context(item)
    if as_json:
        click.echo(json.dumps(_to_json(item, context), indent=2))
        return
    p = item.proposal
    quoted = proposal_view.quoted  # the agent's words: escaped, under a margin
    asked = proposal_view.one_line(p.created_at)
    click.echo(f"proposal {p.id} of {item.slug}: {p.kind}, asked {asked}")
    click.echo(f"status: {_status(item)}")
    click.echo("justification:\n" + "\n".join(quoted(p.justification)))
    if p.route is not None:
        click.echo("route asked:\n" + json.dumps(route_to_json(p.route), indent=2))
        if context.denials:
            click.echo(f"egress refused for {p.route.host} ({len(context.denials)} most recent):")
            for d in context.denials:
                click.echo(_denial_line(d))
        else:
            click.echo(f"egress refused nothing for {p.route.host} yet")
        if context.problem:
            click.echo(f"routes diff: cannot be made ({context.problem})")
        elif context.diff:
            click.echo("routes diff on approval:\n" + context.diff.rstrip())
        else:
            click.echo("routes diff on approval: none (the live routes already allow it)")
        credential = proposal_view.credential_line(sup, item)
        if credential:
            click.echo(credential)
    if p.dockerfile is not None:
        click.echo("Dockerfile asked:\n" + "\n".join(quoted(p.dockerfile.rstrip())))
    if item.answer is not None and item.answer.notes:
        click.echo("operator's notes:\n" + "\n".join(quoted(item.answer.notes)))
    if item.answer is not None and item.answer.expires_at:
        click.echo(f"granted until: {item.answer.expires_at}")


def _done(answer, slug: str) -> None:
    what = {"approved": "Approved", "modified": "Approved as modified", "rejected": "Rejected"}
    tail = f": {answer.route.host} is routed" if answer.route is not None else ""
    if answer.expires_at:
        tail += f" until {answer.expires_at}"
    click.echo(f"{what[answer.status]} proposal {answer.id} of {slug}{tail}.")


FOR = click.option(
    "--for",
    "lasting",
    metavar="DURATION",
    help="Grant the route for this long only (30m, 2h, 1h30m); it lapses by itself.",
)


@supervise.command()
@click.argument("slug")
@click.argument("proposal")
@click.option("--notes", default="", help="A note the agent reads with the answer.")
@FOR
@pass_ctx
def approve(app: AppContext, slug: str, proposal: str, notes: str, lasting: str | None) -> None:
    """Grant a proposal as asked: the route joins the bottle's live routes; an image
    (capability) is kept for the bottle, which stops with its state kept: `resume`
    builds it."""
    bottles = ops(app)
    answer = supervision(app).approve(
        slug,
        proposal,
        notes=notes,
        reload=bottles.reload,
        lasting=parse_duration(lasting) if lasting else None,
        stop=bottles.stop_for_image,
    )
    _done(answer, slug)
    if answer.route is None and answer.status != "rejected":
        click.echo(f"The bottle is stopped; `bot-bottle resume {slug}` builds the new image.")


@supervise.command()
@click.argument("slug")
@click.argument("proposal")
@click.option("--notes", default="", help="A note the agent reads with the answer.")
@FOR
@pass_ctx
def modify(app: AppContext, slug: str, proposal: str, notes: str, lasting: str | None) -> None:
    """Edit the asked route in $EDITOR, then grant your version."""
    duration = parse_duration(lasting) if lasting else None
    sup = supervision(app)
    item = sup.find(slug, proposal)
    if item.proposal.route is None:
        raise BotBottleError(
            f"Proposal {item.proposal.id} of {slug} asks for an image, not a route; only routes"
            " can be modified here."
        )
    edited = click.edit(
        route_for_editing(item.proposal.route), extension=".json", require_save=True
    )
    if edited is None:
        raise BotBottleError(
            "The route was not saved, so nothing was answered. Approve it as asked with"
            f" `bot-bottle supervise approve {slug} {item.proposal.id}`."
        )
    route = route_from_edit(edited)
    answer = sup.approve(
        slug, proposal, notes=notes, route=route, reload=ops(app).reload, lasting=duration
    )
    _done(answer, slug)


@supervise.command()
@click.argument("slug")
@click.argument("proposal")
@click.option("--reason", required=True, help="Why; the agent reads it.")
@pass_ctx
def reject(app: AppContext, slug: str, proposal: str, reason: str) -> None:
    """Refuse a proposal; the agent gets the reason."""
    answer = supervision(app).reject(slug, proposal, reason=reason)
    _done(answer, slug)
