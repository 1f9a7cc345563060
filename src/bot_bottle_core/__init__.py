"""bot-bottle: run AI coding agents unattended inside egress-controlled bottles.

Plugins import :data:`hookimpl` from here and the record types from
:mod:`bot_bottle_core.plan`.
"""

from __future__ import annotations

from .hookspecs import hookimpl

__all__ = ["hookimpl", "known_backend_names"]


def known_backend_names() -> frozenset[str]:
    """Names of the backend plugins that loaded."""
    from .dispatch import Plugins

    return frozenset(Plugins.load().names("backend"))
