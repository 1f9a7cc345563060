"""The audit log: one JSON line per operator action, each chained to the line before it.

Every line carries ``sha256``, the hash of its own content (its canonical JSON
without that field), and ``prev``, the previous line's ``sha256`` (the first
line: :data:`GENESIS`); the head file next to the log names the last line's hash
and the number of lines. :meth:`AuditLog.verify` walks the chain and names the
line where it breaks: an edited line no longer matches its own hash (or, rehashed,
the next line's ``prev``); a line removed, inserted or moved breaks ``prev`` there;
dropping lines from the end disagrees with the head. (Whoever can rewrite the whole file and the
head can forge it; the chain makes a quiet edit of one entry visible.)

Entries hold what the operator decided and why (justification, notes, the routes
diff): names of credentials at most (``token_ref``), never a token.
Appends are serialised with a lock on the log itself.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
from bot_bottle_sidecars.routes import Route, routes_document

from .errors import BotBottleError
from .state import now_iso, write_json_atomic

__all__ = ["GENESIS", "AuditLog", "Entry", "Verdict", "routes_diff"]

GENESIS = "0" * 64
MODE = 0o600  # the operator's alone


def routes_text(routes: Sequence[Route]) -> str:
    """The routes as the routes file holds them (what a diff compares)."""
    return json.dumps(routes_document(routes), indent=2, sort_keys=True) + "\n"


def routes_diff(before: Sequence[Route] | str, after: Sequence[Route] | str) -> str:
    """A unified diff of the routes file from ``before`` to ``after`` ('' when equal)."""
    a = before if isinstance(before, str) else routes_text(before)
    b = after if isinstance(after, str) else routes_text(after)
    lines = difflib.unified_diff(
        a.splitlines(keepends=True),
        b.splitlines(keepends=True),
        "routes.json (before)",
        "routes.json (after)",
    )
    return "".join(lines)


def record_hash(record: dict) -> str:
    """The hash of an entry's content: its canonical JSON without ``sha256``."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@attrs.frozen
class Entry:
    """One operator action. ``component`` is what it touched (``egress``: routes;
    ``capability``: the image); ``action`` one of approve, modify, reject, edit, lapse."""

    slug: str
    component: str
    action: str
    notes: str = ""
    justification: str = ""
    diff: str = ""
    proposal: str | None = None
    expires_at: str | None = None
    time: str = attrs.field(factory=now_iso)

    def to_json(self, prev: str) -> dict[str, object]:
        out: dict[str, object] = {
            "time": self.time,
            "slug": self.slug,
            "component": self.component,
            "action": self.action,
            "notes": self.notes,
            "justification": self.justification,
            "diff": self.diff,
        }
        if self.proposal is not None:
            out["proposal"] = self.proposal
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at
        out["prev"] = prev
        return out


@attrs.frozen
class Verdict:
    ok: bool
    lines: int
    problem: str | None = None
    line: int | None = None  # 1-based: where the chain breaks


@attrs.frozen
class AuditLog:
    path: Path

    @property
    def head_path(self) -> Path:
        return self.path.with_name(self.path.name + ".head")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)

    def append(self, entry: Entry) -> dict[str, object]:
        """Write ``entry`` as the next line; returns what was written."""
        with self._locked() as fd:
            lines = _split(_read_all(fd))
            prev = GENESIS
            if lines:
                try:
                    prev = json.loads(lines[-1])["sha256"]
                except (ValueError, KeyError, TypeError):
                    raise BotBottleError(
                        f"The last line of the audit log {self.path} is damaged; nothing was"
                        " added. `bot-bottle audit verify` says more."
                    ) from None
            record = entry.to_json(prev)
            record["sha256"] = record_hash(record)
            line = json.dumps(record, sort_keys=True, ensure_ascii=True).encode()
            os.write(fd, line + b"\n")
            os.fsync(fd)
            head = {"lines": len(lines) + 1, "sha256": record["sha256"]}
            write_json_atomic(self.head_path, head, mode=MODE)
        return record

    def records(self) -> list[dict]:
        """Every entry, oldest first (a line that is not JSON is skipped; verify names it)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in _split(data):
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    out.append(record)
        return out

    def verify(self) -> Verdict:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Verdict(True, 0) if not self.head_path.exists() else _broken(0, 1, "is gone")
        lines = _split(data)
        prev = GENESIS
        for n, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError:
                return _broken(len(lines), n, "is not JSON: it was edited")
            if not isinstance(record, dict) or record.get("sha256") != record_hash(record):
                return _broken(len(lines), n, "was edited (it does not match its own hash)")
            if record.get("prev") != prev:
                where = "does not start the chain" if n == 1 else f"does not follow line {n - 1}"
                return _broken(
                    len(lines),
                    n,
                    f"{where}: lines were removed, inserted or reordered here, or the line"
                    " before was rewritten",
                )
            prev = record["sha256"]
        head = _read_head(self.head_path)
        if head is None:
            if lines:
                return _broken(len(lines), len(lines), "has no head file to end the chain")
            return Verdict(True, 0)
        if head.get("lines") != len(lines) or head.get("sha256") != prev:
            return _broken(
                len(lines),
                len(lines),
                f"is not the last line written (the head names line {head.get('lines')}):"
                " the last line was edited, or lines were removed from the end",
            )
        return Verdict(True, len(lines))


def _broken(lines: int, at: int, what: str) -> Verdict:
    return Verdict(False, lines, f"line {at} {what}", at)


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _split(data: bytes) -> list[bytes]:
    return [line for line in data.split(b"\n") if line]


def _read_head(path: Path) -> dict | None:
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise BotBottleError(f"The audit head file {path} is unreadable; it was edited.") from None
    return head if isinstance(head, dict) else {}
