"""The smolvm backend's hook implementations."""

from __future__ import annotations

from bot_bottle_core import hookimpl
from bot_bottle_core.plan import Availability

from . import binary


@hookimpl
def is_available() -> Availability:
    return binary.availability()
