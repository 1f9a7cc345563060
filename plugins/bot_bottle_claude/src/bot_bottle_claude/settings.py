"""What claude finds in its home on the first start, so it asks nothing.

``~/.claude.json`` is claude's own state (onboarding done, the workspace
trusted); ``~/.claude/settings.json`` holds the user's settings: the
bypass-permissions prompt already answered, the theme, and a status line that
shows the bottle's label in its colour.
"""

from __future__ import annotations

import shlex

from bot_bottle_core.colors import rgb
from bot_bottle_core.config import Agent
from bot_bottle_core.plan import PLACEHOLDER

WORKSPACE = "/workspace"
THEME = "dark"


def state(workspace: str) -> dict:
    """``~/.claude.json``: onboarding and the trust dialog already done, and the
    placeholder API key approved (claude remembers a key by its last 20 characters)."""
    return {
        "hasCompletedOnboarding": True,
        "customApiKeyResponses": {"approved": [PLACEHOLDER[-20:]], "rejected": []},
        "bypassPermissionsModeAccepted": True,
        "autoUpdates": False,
        "projects": {
            workspace: {
                "hasTrustDialogAccepted": True,
                "hasCompletedProjectOnboarding": True,
                "allowedTools": [],
            }
        },
    }


def status_line(agent: Agent) -> str:
    """A shell command printing the bottle's name, in its colour when it has one."""
    shown = agent.display_name
    colour = rgb(agent.color)
    if colour is None:
        return f"printf '%s' {shlex.quote(shown)}"
    r, g, b = colour
    return f"printf '\\033[1;38;2;{r};{g};{b}m%s\\033[0m' {shlex.quote(shown)}"


def user(agent: Agent) -> dict:
    """``~/.claude/settings.json``."""
    return {
        "skipDangerousModePermissionPrompt": True,
        "theme": THEME,
        "statusLine": {"type": "command", "command": status_line(agent), "padding": 0},
    }
