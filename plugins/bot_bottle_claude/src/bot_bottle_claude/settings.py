"""What claude finds in its home on the first start, so it asks nothing.

``~/.claude.json`` is claude's own state (onboarding done, the workspace
trusted); ``~/.claude/settings.json`` holds the user's settings: the
bypass-permissions prompt already answered, the theme, and a status line that
shows the bottle's label in its colour.
"""

from __future__ import annotations

import shlex

from bot_bottle_core.config import Agent
from bot_bottle_core.plan import PLACEHOLDER

WORKSPACE = "/workspace"
THEME = "dark"
# The agent file's colour names (see config validation), as terminal RGB.
RGB = {
    "red": (220, 50, 47),
    "green": (133, 153, 0),
    "yellow": (181, 137, 0),
    "blue": (38, 139, 210),
    "magenta": (211, 54, 130),
    "cyan": (42, 161, 152),
    "orange": (203, 75, 22),
    "purple": (108, 113, 196),
    "pink": (255, 121, 198),
    "gray": (147, 161, 161),
}


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


def rgb(color: str | None) -> tuple[int, int, int] | None:
    if not color:
        return None
    if color.startswith("#") and len(color) == 7:
        return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))
    return RGB.get(color)


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
