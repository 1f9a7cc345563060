"""``bot-bottle routes show|edit SLUG``: the operator reads and changes a bottle's live routes.

Thin: :meth:`bot_bottle_core.supervision.Supervision.edit_routes` checks the edit with
the route model, audits it and reloads egress.
"""

from __future__ import annotations

import json

import click
from bot_bottle_sidecars.routes import parse_document

from ..errors import BotBottleError
from .context import AppContext, pass_ctx
from .supervise_cmd import ops, supervision


def register(cli: click.Group) -> None:
    cli.add_command(routes)


@click.group()
def routes() -> None:
    """A bottle's live egress routes (what its egress serves)."""


def _lines(doc_text: str) -> list[str]:
    doc, _ = parse_document(json.loads(doc_text))
    if doc is None:
        return ["(the routes file is not valid; `bot-bottle routes edit` fixes it)"]
    out = []
    for r in doc.routes:
        paths = " ".join(r.path_allowlist) if r.path_allowlist else "/"
        auth = f" [auth:{r.auth.shown} {r.auth.token_ref}]" if r.auth else ""
        methods = f" [{','.join(r.methods)}]" if r.methods else ""
        ports = f" ports {','.join(map(str, r.ports))}" if r.ports else ""
        passthrough = " [tls passthrough]" if r.tls_passthrough else ""
        out.append(f"{r.host} {paths}{methods}{ports}{auth}{passthrough}")
    for lease in doc.leases:
        paths = " ".join(lease.route.path_allowlist) if lease.route.path_allowlist else "/"
        out.append(f"{lease.route.host} {paths} (until {lease.until})")
    return out or ["(no routes: every request is refused)"]


@routes.command()
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the routes file (JSON).")
@pass_ctx
def show(app: AppContext, slug: str, as_json: bool) -> None:
    """The live routes of SLUG: hosts, paths, methods, ports, which credential (by name)."""
    text = supervision(app).routes_text(slug)
    if as_json:
        click.echo(text.rstrip())
        return
    try:
        click.echo("\n".join(_lines(text)))
    except ValueError:
        click.echo(text.rstrip())


@routes.command()
@click.argument("slug")
@click.option("--notes", default="", help="Why, for the audit log.")
@pass_ctx
def edit(app: AppContext, slug: str, notes: str) -> None:
    """Edit the live routes of SLUG in $EDITOR; checked before they are applied, audited,
    and egress reloaded."""
    sup = supervision(app)
    before = sup.routes_text(slug)
    edited = click.edit(before, extension=".json", require_save=True)
    if edited is None:
        raise BotBottleError("The routes were not saved, so nothing was changed.")
    diff = sup.edit_routes(slug, edited, notes=notes, reload=ops(app).reload)
    if not diff:
        click.echo("The routes are unchanged.")
        return
    click.echo(diff.rstrip())
    click.echo(f"The routes of {slug} are changed and egress reloaded.")
