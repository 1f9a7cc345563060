"""The host's own codex login, forwarded when the agent names no ``auth_token``.

``codex login --with-api-key`` keeps the key in ``$CODEX_HOME/auth.json``
(``~/.codex`` by default) under ``OPENAI_API_KEY``. That key goes to egress
only; the bottle's ``auth.json`` holds the placeholder. A ChatGPT login (only
``tokens``) cannot be forwarded: codex refreshes it against auth.openai.com and
sends it to another API, so it is refused with what to do instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from bot_bottle_core.errors import BotBottleError

# The token_ref the forwarded key travels under (no host variable has it).
TOKEN_REF = "BOT_BOTTLE_CODEX_AUTH_JSON"


def auth_file(environ: Mapping[str, str]) -> Path | None:
    home = environ.get("CODEX_HOME")
    if home:
        return Path(home) / "auth.json"
    user_home = environ.get("HOME")
    return Path(user_home) / ".codex" / "auth.json" if user_home else None


def api_key(environ: Mapping[str, str]) -> str | None:
    """The API key in the host's codex login; None when there is no login file."""
    path = auth_file(environ)
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BotBottleError(
            f"The codex login file {path} could not be read ({exc}). Fix or remove it, or set "
            "auth_token in the agent file to a host variable holding an OpenAI API key."
        ) from None
    key = data.get("OPENAI_API_KEY") if isinstance(data, dict) else None
    if isinstance(key, str) and key:
        return key
    raise BotBottleError(
        f"The codex login in {path} holds no API key (a ChatGPT sign-in cannot be forwarded into "
        "a bottle). Set auth_token in the agent file to a host variable holding an OpenAI API "
        "key, or run `codex login --with-api-key` on this host."
    )
