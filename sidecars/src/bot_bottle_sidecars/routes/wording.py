"""How a person is told what is wrong with a value they wrote (YAML or JSON).

Shared by the route schema and the core's config loader, so a mistake reads the
same in ``config check`` and in the egress sidecar's log.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterable, Sequence

__all__ = ["describe", "join_index", "join_key", "join_parts", "quote", "unknown_key_message"]

_PLAIN_KEY_RE = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


def quote(value: object, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else repr(str(value))
    if len(text) > limit:
        text = text[: limit - 4] + "...'"
    return text


def describe(value: object) -> str:
    """What a YAML value is, in the words of someone who wrote it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        return f"a number ({value})" if abs(value) < 10**15 else "a very large number"
    if isinstance(value, float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({quote(value)})" if value else "an empty string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.datetime):
        return "a date and time"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, bytes | bytearray):
        return "binary data"
    if isinstance(value, set | frozenset):
        return "a set"
    return f"a value of type {type(value).__name__}"


def unknown_key_message(key: object, allowed: Sequence[str]) -> str:
    message = f"unknown key {quote(key)}"
    if isinstance(key, str) and key:
        lowered = key.lower()
        close = [a for a in allowed if len(lowered) >= 3 and a.startswith(lowered)]
        close = close or difflib.get_close_matches(lowered, allowed, n=1, cutoff=0.7)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return message + f"; allowed keys: {', '.join(allowed)}"


# --- where in a file ---------------------------------------------------------------


def join_key(path: str, key: object) -> str:
    """``bottles`` + ``web`` → ``bottles.web``; odd keys go in brackets."""
    if isinstance(key, str) and _PLAIN_KEY_RE.fullmatch(key):
        return f"{path}.{key}" if path else key
    if isinstance(key, str):
        return f"{path}[{quote(key)}]"
    text = repr(key)
    return f"{path}[{text if len(text) <= 40 else text[:36] + '...'}]"


def join_index(path: str, index: int) -> str:
    return f"{path}[{index}]"


def join_parts(path: str, parts: Iterable[str | int]) -> str:
    """``path`` followed by keys and list indexes, e.g. ``("auth", "scheme")``."""
    for part in parts:
        path = join_index(path, part) if isinstance(part, int) else join_key(path, part)
    return path
