"""The macos-container backend's hook implementations.

Listing, attach and cleanup only: without ``prepare``/``launch`` the core
reports this backend as not able to start bottles yet.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot_bottle_core import hookimpl
from bot_bottle_core.hookspecs import Progress
from bot_bottle_core.plan import ActiveBottle, Availability, CleanupItem, CleanupOutcome

from . import availability, listing, names, teardown
from .availability import NO_CLI
from .container_cli import BINARY, ContainerCli, ContainerCliError


def _cli() -> ContainerCli:
    cli = ContainerCli.find()
    if cli is None:
        raise ContainerCliError(f"The macos-container backend cannot run: {NO_CLI}.")
    return cli


@hookimpl
def is_available() -> Availability:
    return availability.availability()


@hookimpl
def enumerate_active() -> list[ActiveBottle]:
    # --all: without it the CLI lists only "running", and a container in state
    # "unknown" may run too.
    return listing.active_bottles(_cli().containers(include_stopped=True))


@hookimpl
def attach_argv(slug: str, argv: Sequence[str], tty: bool) -> list[str]:
    cli = ContainerCli.find() or ContainerCli(BINARY)  # the shell's PATH may still find it
    return cli.exec_argv(names.agent_container(slug), argv, tty=tty)


@hookimpl
def prepare_cleanup(live_slugs: frozenset[str], home_id: str | None) -> list[CleanupItem]:
    return teardown.prepare_cleanup(_cli(), live_slugs, home_id)


@hookimpl
def cleanup(items: Sequence[CleanupItem], progress: Progress) -> list[CleanupOutcome]:
    return teardown.cleanup(_cli(), items, progress)
