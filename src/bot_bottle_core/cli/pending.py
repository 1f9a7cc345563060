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


def _cmd(name: str, help: str, params: list[click.Parameter], full: str | None = None):
    return click.Command(name, callback=_pending(full or name), params=params, help=help)


def register(cli: click.Group) -> None:
    """Every command has landed; a new one is declared here until it does."""
