"""What codex finds in ``~/.codex`` on the first start, so it asks nothing.

``config.toml``: the workspace trusted, the full-access warning answered, no
update check, credentials read from ``auth.json``, the SQLite state in one
directory (with ``sessions/``, what a resume needs); supervise registered as a
streamable-HTTP MCP server with a long tool timeout (a supervised call waits for
a person). ``auth.json`` holds the placeholder API key, so there is no login
screen; egress swaps the real key in on the way out.

Codex 0.171's status line shows only its built-in items, so the label travels in
the terminal title bot-bottle sets on attach; ``terminal_title = []`` keeps codex
from writing its own over it.
"""

from __future__ import annotations

import json

from bot_bottle_core.plan import PLACEHOLDER

WORKSPACE = "/workspace"
SUPERVISE = "supervise"
# Seconds a supervise tool call may take: a person answers it (codex's default is 60).
SUPERVISE_TIMEOUT_S = 3600


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string."""
    # JSON's escapes are TOML's, except that TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def state_dir(guest_home: str) -> str:
    """Where codex keeps its SQLite state (the session index ``resume --last`` reads)."""
    return f"{guest_home}/.codex/state"


def config(guest_home: str) -> str:
    """``~/.codex/config.toml``."""
    lines = [
        "# Written by bot-bottle: the first start asks nothing.",
        "check_for_update_on_startup = false",
        # One directory for every database, so the transcript snapshot can keep it.
        f"sqlite_home = {toml_string(state_dir(guest_home))}",
        'cli_auth_credentials_store = "file"',
        'forced_login_method = "api"',
        "",
        f"[projects.{toml_string(WORKSPACE)}]",
        'trust_level = "trusted"',
        "",
        "[notice]",
        "hide_full_access_warning = true",
        "",
        "[tui]",
        "terminal_title = []",
        "",
        "[analytics]",
        "enabled = false",
    ]
    return "\n".join(lines) + "\n"


def supervise_table(url: str) -> str:
    """The table `codex mcp add supervise --url URL` writes, with the timeout raised."""
    lines = [
        f"[mcp_servers.{SUPERVISE}]",
        f"url = {toml_string(url)}",
        f"tool_timeout_sec = {SUPERVISE_TIMEOUT_S}",
    ]
    return "\n" + "\n".join(lines) + "\n"


def auth() -> str:
    """``~/.codex/auth.json``: an API-key login whose key is the placeholder."""
    return json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": PLACEHOLDER}, indent=2) + "\n"
