"""The decision log: one JSON line per decision or event on stdout.

Lines are ASCII (everything else escaped) and valid JSON whatever the agent
sent: a method or path with undecodable bytes arrives as lone surrogates, which
are written as ``\\x..`` text. Writing never raises: the caller has applied its
verdict before logging, and a log failure is reported on stderr instead.

Decision records: ``{"time", "decision": "allow"|"deny", "kind", "host",
"port", "method", "path", "route", "reason"}`` where ``kind`` is ``connect``,
``request``, ``tls``, ``tcp``, ``layer`` or ``connection`` and ``path`` is the
path as sent, without the query. Other lines carry ``"event"`` instead
(``ready``, ``reload``, ``lapse``, ``fatal``, ``closed``). Never a header value, never a
token.

Every line also goes to the decisions file when one is set (:meth:`DecisionLog.keep_in`):
a directory of the host's, so the bottle's decisions outlive its containers
(``bot-bottle audit --egress SLUG`` and the operator's view of a proposal read them
with :mod:`.decisions`). The file is bounded: past :data:`MAX_FILE_BYTES` it moves
to ``<name>.1`` (replacing the one before) and a new one starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["MAX_FILE_BYTES", "DecisionLog", "clean", "rotated"]

MAX_FIELD = 2000  # characters kept of any one string field
# The agent decides how many requests are refused: bound what that costs the host's disk.
MAX_FILE_BYTES = 8 * 1024 * 1024
FILE_MODE = 0o640  # the operator reads it through the directory's group (see layout)


def rotated(path: str) -> str:
    return f"{path}.1"


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
        self._path: str | None = None
        self._fd: int | None = None
        self._size = 0

    def keep_in(self, path: str | None) -> None:
        """Also append every line to ``path`` (None: stop)."""
        self._close()
        self._path = path or None

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None

    def _append(self, data: bytes) -> None:
        assert self._path is not None
        if self._fd is not None and self._size + len(data) > MAX_FILE_BYTES:
            self._close()
            os.replace(self._path, rotated(self._path))
        if self._fd is None:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            self._fd = os.open(self._path, flags, FILE_MODE)
            self._size = os.fstat(self._fd).st_size
        os.write(self._fd, data)
        self._size += len(data)

    def write(self, record: dict[str, object]) -> None:
        try:
            line = json.dumps(clean(record), separators=(",", ":"), ensure_ascii=True)
            out = self._out or sys.stdout
            out.write(line + "\n")
            out.flush()
            if self._path is not None:
                self._append(line.encode("ascii") + b"\n")
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
