"""The decision log: one JSON line per decision or event on stdout.

Lines are ASCII (everything else escaped) and valid JSON whatever the agent
sent: a method or path with undecodable bytes arrives as lone surrogates, which
are written as ``\\x..`` text. Writing never raises: the caller has applied its
verdict before logging, and a log failure is reported on stderr instead.

Decision records: ``{"time", "decision": "allow"|"deny", "kind", "host",
"port", "method", "path", "route", "reason"}`` where ``kind`` is ``connect``,
``request``, ``tls``, ``tcp``, ``layer`` or ``connection`` and ``path`` is the
path as sent, without the query. Other lines carry ``"event"`` instead
(``ready``, ``reload``, ``fatal``, ``closed``). Never a header value, never a token.
"""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["DecisionLog", "clean"]

MAX_FIELD = 2000  # characters kept of any one string field


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clean(value: object) -> object:
    """``value`` with every string made printable-safe and bounded (recursively)."""
    if isinstance(value, str):
        if value.isascii() and len(value) <= MAX_FIELD and value.isprintable():
            return value
        try:
            text = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # surrogates that are not escaped bytes
            text = value.encode("utf-8", "backslashreplace").decode("ascii")
        return text if len(text) <= MAX_FIELD else text[:MAX_FIELD] + "…"
    if isinstance(value, dict):
        return {k if type(k) is str else str(clean(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return clean(str(value))


class DecisionLog:
    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    def write(self, record: dict[str, object]) -> None:
        try:
            line = json.dumps(clean(record), separators=(",", ":"), ensure_ascii=True)
            out = self._out or sys.stdout
            out.write(line + "\n")
            out.flush()
        except Exception as exc:  # never let logging undo a decision
            with contextlib.suppress(Exception):
                print(f"bot-bottle egress: cannot write a log line: {exc!r}", file=sys.stderr)

    def event(self, event: str, **fields: object) -> None:
        self.write({"time": _now(), "event": event, **fields})

    def decision(
        self,
        kind: str,
        allowed: bool,
        *,
        host: str | None,
        port: int | None = None,
        method: str | None = None,
        path: str | None = None,
        route: str | None = None,
        reason: str,
        **extra: object,
    ) -> None:
        self.write(
            {
                "time": _now(),
                "decision": "allow" if allowed else "deny",
                "kind": kind,
                "host": host,
                "port": port,
                "method": method,
                "path": path,
                "route": route,
                "reason": reason,
                **extra,
            }
        )
