"""The gitea git host's hook implementations."""

from __future__ import annotations

from bot_bottle_core import hookimpl
from bot_bottle_core.plan import Availability


@hookimpl
def is_available() -> Availability:
    # Needs nothing local: each repo names its Gitea's API URL.
    return Availability.yes()
