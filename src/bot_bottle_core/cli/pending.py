"""Commands whose implementation has not landed yet.

Each is declared with its real arguments so ``--help`` shows the whole
surface, and fails with one line and exit status 2 rather than pretending.
"""

from __future__ import annotations

import click

from ..errors import NotAvailableYet


def _pending(name: str):
    def callback(**_: object) -> None:
        raise NotAvailableYet(f"bot-bottle {name}")

    return callback


JSON = click.Option(["--json", "as_json"], is_flag=True, help="Print JSON.")
SLUG = click.Argument(["slug"])


def _cmd(name: str, help: str, params: list[click.Parameter], full: str | None = None):
    return click.Command(name, callback=_pending(full or name), params=params, help=help)


def register(cli: click.Group) -> None:
    cli.add_command(_cmd("dashboard", "Terminal UI: proposals and agents across all backends.", []))
    routes = click.Group("routes", help="A running bottle's egress routes.")
    routes.add_command(
        _cmd("list", "The live routes, without secrets.", [SLUG, JSON], "routes list")
    )
    routes.add_command(_cmd("edit", "Edit the live routes in $EDITOR.", [SLUG], "routes edit"))
    cli.add_command(routes)
    cli.add_command(
        _cmd(
            "audit",
            "The audit log of operator actions.",
            [click.Option(["--slug"]), JSON],
        )
    )
