"""Whether this machine can run the macos-container backend, and if not, what to do."""

from __future__ import annotations

import sys

from bot_bottle_core.plan import Availability

from .container_cli import START_HINT, ContainerCli, ContainerCliError

MACOS_ONLY = (
    "the macos-container backend runs on macOS only (Apple's container CLI);"
    " use docker or smolvm here"
)
NO_CLI = (
    "Apple's container CLI is not on PATH; install it from"
    " https://github.com/apple/container/releases (or use docker or smolvm)"
)


def availability() -> Availability:
    if sys.platform != "darwin":
        return Availability.no(MACOS_ONLY)
    cli = ContainerCli.find()
    if cli is None:
        return Availability.no(NO_CLI)
    try:
        status = cli.system_status()
    except ContainerCliError as exc:
        return Availability.no(str(exc))
    if not status.running:
        return Availability.no(
            f"Apple's container services are {status.status} (`container system status`);"
            f" {START_HINT}"
        )
    return Availability.yes()
