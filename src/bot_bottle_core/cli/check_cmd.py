"""``bot-bottle check SLUG``: prove a running bottle's boundary again."""

from __future__ import annotations

import json
import sys

import click

from .. import boundary
from .context import AppContext, pass_ctx
from .lifecycle import existing


def register(cli: click.Group) -> None:
    cli.add_command(check)


@click.command()
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def check(app: AppContext, slug: str, as_json: bool) -> None:
    """Run the boundary self-check inside the running bottle SLUG.

    The same probes as at every start, as the agent user; the report is kept
    in the bottle's state. Exits 1 when any probe gets through.
    """
    meta = existing(app, slug)
    report = app.plugins.backend(meta.backend).check_boundary(slug)
    boundary.record(app.store.path(slug), report)
    if as_json:
        click.echo(json.dumps(boundary.to_json(report), indent=2))
    else:
        click.echo(boundary.render(report))
        if report.ok:
            click.echo(f"{slug}: all {len(report.results)} probes held.")
        else:
            click.echo(
                f"{slug}: {len(report.failures)} of {len(report.results)} probes got through. "
                f"This bottle is not sealed; stop it with `bot-bottle stop {slug}`."
            )
    if not report.ok:
        sys.exit(1)
