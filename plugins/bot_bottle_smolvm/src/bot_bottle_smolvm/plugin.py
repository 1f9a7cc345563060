"""The smolvm backend's hook implementations."""

from __future__ import annotations

from collections.abc import Sequence

from bot_bottle_core import hookimpl
from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.hookspecs import Progress
from bot_bottle_core.plan import ActiveBottle, Availability, CleanupItem, CleanupOutcome

from . import binary, listing
from .leases import Leases
from .smolvm_cli import Smolvm


def cli() -> Smolvm:
    found = binary.find_binary()
    if found is None:
        raise BotBottleError(binary.availability().reason or "no smolvm CLI")
    return Smolvm(found)


@hookimpl
def is_available() -> Availability:
    return binary.availability()


@hookimpl
def enumerate_active() -> list[ActiveBottle]:
    return listing.active_bottles(cli().ls())


@hookimpl
def prepare_cleanup(
    live_slugs: frozenset[str], preserved_slugs: frozenset[str], home_id: str | None
) -> list[CleanupItem]:
    return listing.leftovers(cli().ls(), Leases(), live_slugs, preserved_slugs, home_id)


@hookimpl
def cleanup(items: Sequence[CleanupItem], progress: Progress) -> list[CleanupOutcome]:
    return listing.remove(cli(), Leases(), items, progress)
