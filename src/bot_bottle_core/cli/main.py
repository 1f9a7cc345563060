"""Entry point: the click group and the one place errors become messages."""

from __future__ import annotations

import os
import sys

import click

from ..errors import BotBottleError
from . import (
    audit_cmd,
    check_cmd,
    config_cmd,
    dashboard_cmd,
    lifecycle,
    pending,
    plugins_cmd,
    routes_cmd,
    supervise_cmd,
)
from .context import pass_ctx  # noqa: F401  (re-exported for subcommands)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="bot-bottle", prog_name="bot-bottle")
def cli() -> None:
    """Run AI coding agents unattended inside bottles: sandboxes whose only way
    out is an egress proxy you control, that hold no real credential, and that
    ask you for more access through a dashboard.

    Try the demo: `export BOT_BOTTLE_DEMO_TOKEN=any-value`, then `bot-bottle start
    demo --dry-run` and `bot-bottle start demo`. Its proxy adds that value as a
    bearer token to requests to example.com; the bottle never sees it.
    """


for module in (
    lifecycle,
    check_cmd,
    plugins_cmd,
    config_cmd,
    supervise_cmd,
    routes_cmd,
    audit_cmd,
    dashboard_cmd,
    pending,
):
    module.register(cli)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a :class:`BotBottleError` becomes one paragraph and an exit code."""
    try:
        rv = cli.main(args=argv, prog_name="bot-bottle", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BotBottleError as exc:
        if os.environ.get("BOT_BOTTLE_DEBUG"):
            raise
        click.echo(f"bot-bottle: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    # Without standalone mode click returns --help's and --version's exit code.
    sys.exit(rv if isinstance(rv, int) else 0)
