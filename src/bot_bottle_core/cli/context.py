"""What every command shares: the home, the working directory, the plugins."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..config import Config
    from ..dispatch import Plugins
    from ..home import Home
    from ..launch_record import LaunchStatus
    from ..state import StateStore


class AppContext:
    """Loaded lazily so `--help` and simple commands stay fast."""

    def __init__(self) -> None:
        self.cwd = Path.cwd()

    @cached_property
    def home(self) -> Home:
        from ..home import Home  # only commands that use the home pay for it

        return Home.from_env()

    @cached_property
    def plugins(self) -> Plugins:
        from ..dispatch import Plugins

        return Plugins.load()

    @cached_property
    def config(self) -> Config:
        from ..config.load import load_config

        return load_config(self.home, self.cwd)

    @cached_property
    def store(self) -> StateStore:
        from ..state import StateStore

        return StateStore(self.home.state_dir)

    @property
    def environ(self) -> dict[str, str]:
        return dict(os.environ)


pass_ctx = click.make_pass_decorator(AppContext, ensure=True)


def echo_err(line: str) -> None:
    """Progress and warnings: on stderr, so a command's own output stays clean."""
    click.echo(line, err=True)


def launch_status(app: AppContext, slug: str) -> LaunchStatus | None:
    """How far ``slug``'s launch got; None without a record here."""
    from ..launch_record import status

    return status(app.store.path(slug))
