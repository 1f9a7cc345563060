"""``bot-bottle dashboard [--once] [--json]``: the operator's terminal UI (:mod:`..dashboard`)."""

from __future__ import annotations

import os
import sys

import click

from ..errors import BotBottleError
from .context import AppContext, pass_ctx


def register(cli: click.Group) -> None:
    cli.add_command(dashboard)


@click.command()
@click.option("--once", is_flag=True, help="Print both panes once and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print both panes once, as JSON.")
@pass_ctx
def dashboard(app: AppContext, once: bool, as_json: bool) -> None:
    """Watch every bottle and answer their agents' proposals.

    Keys: Tab switches pane; Enter shows a proposal or attaches to a bottle (inside
    tmux in a right-hand pane); a/m/r approve, modify or reject; n starts an agent;
    x stops a bottle this dashboard started; q quits and leaves every bottle running.
    """
    from ..dashboard.gather import gather
    from ..dashboard.supervising import Supervisor

    supervisor = Supervisor(app)
    if once or as_json:
        from ..dashboard.once import render_json, render_text

        snap = gather(app, supervisor)
        for problem in snap.problems:
            click.echo(f"warning: {problem}", err=True)
        click.echo(render_json(snap) if as_json else render_text(snap))
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BotBottleError(
            "The dashboard needs a terminal. `bot-bottle dashboard --once` (or --json)"
            " prints both panes once, for scripts."
        )
    sys.exit(_run(app, supervisor))


def _run(app: AppContext, supervisor) -> int:
    from ..dashboard.app import Dashboard
    from ..dashboard.crash import crash_message, write_crash_log

    dash = Dashboard(app, environ=dict(os.environ), supervisor=supervisor)
    try:
        dash.run()
    except Exception as exc:  # outside the app's own handler: starting or stopping Textual
        click.echo(crash_message(exc, write_crash_log(app.home.logs_dir, exc)), err=True)
        return 1
    if dash.crash is not None and dash.crash_log is not None:
        click.echo(crash_message(dash.crash, dash.crash_log), err=True)
        return 1
    return 0
