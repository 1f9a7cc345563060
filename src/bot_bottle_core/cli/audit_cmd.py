"""``bot-bottle audit``: the operator actions log, its check, and a bottle's egress decisions."""

from __future__ import annotations

import json

import click
from bot_bottle_sidecars.egress.decisions import decisions

from ..errors import BotBottleError
from ..state import is_slug
from .context import AppContext, pass_ctx
from .supervise_cmd import supervision
from .table import render_table

LOG_HEADER = ("TIME", "SLUG", "COMPONENT", "ACTION", "PROPOSAL", "NOTES")
EGRESS_HEADER = ("TIME", "DECISION", "REQUEST", "ROUTE", "REASON")


def register(cli: click.Group) -> None:
    cli.add_command(audit)


def _short(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@click.group(invoke_without_command=True)
@click.option("--slug", help="Only this bottle's actions.")
@click.option("--egress", "egress_slug", metavar="SLUG", help="This bottle's egress decisions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def audit(ctx: click.Context, slug: str | None, egress_slug: str | None, as_json: bool) -> None:
    """Every operator action (approve, modify, reject, route edit, lapse), oldest first;
    `audit verify` checks that none was changed. --egress SLUG shows what that bottle's
    egress allowed and refused."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.ensure_object(AppContext)
    sup = supervision(app)
    if egress_slug is not None:
        _egress(sup.decisions_file(egress_slug), egress_slug, as_json)
        return
    records = [r for r in sup.audit.records() if slug is None or r.get("slug") == slug]
    if as_json:
        click.echo(json.dumps(records, indent=2))
    elif not records:
        click.echo("No operator actions recorded.")
    else:
        rows = [
            (
                str(r.get("time")),
                str(r.get("slug")),
                str(r.get("component")),
                str(r.get("action")),
                str(r.get("proposal") or "-"),
                _short(str(r.get("notes") or "")) or "-",
            )
            for r in records
        ]
        click.echo(render_table(LOG_HEADER, rows))


def _egress(path, slug: str, as_json: bool) -> None:
    if not is_slug(slug):
        raise BotBottleError(f"'{slug}' is not a bottle's slug (like agent-x7k2p).")
    rows = decisions(path)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows and not path.exists():
        raise BotBottleError(
            f"No egress decisions of {slug} are kept ({path} does not exist). Is the slug right?"
        )
    table = [
        (
            str(r.get("time")),
            str(r.get("decision")),
            _short(
                f"{r.get('method') or r.get('kind')} {r.get('host')}:{r.get('port')}"
                f"{r.get('path') or ''}",
                70,
            ),
            str(r.get("route") or "-"),
            _short(str(r.get("reason") or ""), 60),
        )
        for r in rows
    ]
    click.echo(render_table(EGRESS_HEADER, table) if table else "No decisions yet.")


@audit.command()
@pass_ctx
def verify(app: AppContext) -> None:
    """Check the audit log's hash chain: fails, naming the line, if any was edited,
    removed or reordered."""
    from ..audit import AuditLog

    verdict = AuditLog(app.home.audit_log).verify()
    if not verdict.ok:
        raise BotBottleError(
            f"The audit log {app.home.audit_log} was tampered with: {verdict.problem}."
        )
    click.echo(f"The audit log holds {verdict.lines} entries; the chain is intact.")
