"""``bot-bottle plugins list``."""

from __future__ import annotations

import json

import click

from ..dispatch import KIND_WORDS
from .context import AppContext, pass_ctx
from .table import render_table


def register(cli: click.Group) -> None:
    cli.add_command(plugins)


@click.group()
def plugins() -> None:
    """Inspect the installed backend, provider and git host plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_ctx
def list_plugins(app: AppContext, as_json: bool) -> None:
    """Each plugin: name, kind, distribution, version, and whether it can work here."""
    rows = []
    for rec in app.plugins.records:
        avail = app.plugins.availability(rec)
        rows.append(
            {
                "name": rec.name,
                "kind": rec.kind,
                "distribution": rec.distribution,
                "version": rec.version,
                "status": rec.status,
                "builtin": rec.builtin,
                "available": avail.available,
                "reason": None if avail.available else avail.reason,
                "error": rec.error,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [
        (
            r["name"],
            KIND_WORDS[r["kind"]],
            r["distribution"] + (" (built-in)" if r["builtin"] else ""),
            r["version"],
            "yes" if r["available"] else f"no: {r['reason']}",
        )
        for r in rows
    ]
    click.echo(render_table(("NAME", "KIND", "DISTRIBUTION", "VERSION", "AVAILABLE"), table))
