from __future__ import annotations

from bot_bottle_gitea import plugin


def test_available_without_local_dependencies():
    assert plugin.is_available().available
