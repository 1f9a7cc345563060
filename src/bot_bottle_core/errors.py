"""The one exception family the CLI turns into a clean message.

Anything raised as a :class:`BotBottleError` reaches the user as one
paragraph on stderr and a non-zero exit, never as a traceback.
"""

from __future__ import annotations


class BotBottleError(Exception):
    """A mistake the user can fix; ``str(err)`` is the whole message."""

    exit_code = 1


class NotAvailableYet(BotBottleError):
    """A command or hook whose implementation has not landed."""

    exit_code = 2

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: not available yet.")


class PluginError(BotBottleError):
    """A plugin is missing, broken, ambiguous or failed inside a hook."""
