"""The queue of one bottle: ``<id>.proposal.json`` and ``<id>.answer.json`` files in one directory.

The supervise sidecar writes proposals and reads answers; the operator's side
(the core, on the host) reads proposals and writes answers. The directory is the
host's ``queue/<slug>/``, bind-mounted into the sidecar bundle, so either side
can restart and find everything where it was.

* Every file is written whole (temporary file, fsync, then rename or link), so a
  reader sees all of it or nothing.
* A proposal and an answer are each created at most once (a hard link fails when
  the name exists): two askers of the same thing share one proposal, and two
  operators answering at once cannot both win. An answer is rewritten only to
  record that it took effect (:meth:`Queue.record`).
* Files are read without following symbolic links, as regular files of bounded
  size: neither side trusts what the other may have put there.
* A file that does not parse is reported with its path (:class:`CorruptFile`) and
  skipped by :meth:`Queue.scan`.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .model import Answer, Proposal

__all__ = ["CorruptFile", "Entry", "Queue", "Scan"]

PROPOSAL_SUFFIX = ".proposal.json"
ANSWER_SUFFIX = ".answer.json"
MAX_FILE_BYTES = 1024 * 1024
FILE_MODE = 0o644  # the other side runs as another user; nothing here is secret


class CorruptFile(ValueError):
    """A queue file that cannot be read as what its name says."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    proposal: Proposal
    answer: Answer | None = None

    @property
    def pending(self) -> bool:
        return self.answer is None


@dataclass(frozen=True)
class Scan:
    entries: list[Entry] = field(default_factory=list)
    problems: list[CorruptFile] = field(default_factory=list)


def _read_json(path: Path) -> object | None:
    """The JSON in ``path``, or None when there is no such file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CorruptFile(
            path, f"cannot be opened ({exc.strerror}); is it a symbolic link?"
        ) from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CorruptFile(path, "is not a regular file")
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise CorruptFile(path, f"is larger than {MAX_FILE_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFile(path, f"is not valid JSON ({exc})") from None


@contextlib.contextmanager
def _staged(directory: Path, data: object) -> Iterator[str]:
    """A complete temporary file holding ``data``, removed when the block ends."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _sync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Queue:
    def __init__(self, directory: Path | str) -> None:
        self.dir = Path(directory)

    def proposal_path(self, pid: str) -> Path:
        return self.dir / f"{pid}{PROPOSAL_SUFFIX}"

    def answer_path(self, pid: str) -> Path:
        return self.dir / f"{pid}{ANSWER_SUFFIX}"

    # -- writing
    def _create(self, path: Path, data: object) -> bool:
        """Write ``path`` unless it exists; True when this call created it."""
        with _staged(self.dir, data) as tmp:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        _sync_dir(self.dir)
        return True

    def submit(self, proposal: Proposal) -> Proposal:
        """Queue ``proposal`` unless the same thing is already asked; return the queued one."""
        path = self.proposal_path(proposal.id)
        if self._create(path, proposal.to_json()):
            return proposal
        stored = self.proposal(proposal.id)
        if stored is None:  # removed between the two steps: ask again
            return self.submit(proposal)
        return stored

    def answer_once(self, answer: Answer) -> tuple[Answer, bool]:
        """Store the first answer to a proposal: (the stored answer, whether it is this one)."""
        if self._create(self.answer_path(answer.id), answer.to_json()):
            return answer, True
        stored = self.answer(answer.id)
        assert stored is not None  # answers are never removed
        return stored, False

    def record(self, answer: Answer) -> None:
        """Replace a stored answer (to note that it took effect)."""
        with _staged(self.dir, answer.to_json()) as tmp:
            os.replace(tmp, self.answer_path(answer.id))
        _sync_dir(self.dir)

    # -- reading
    def proposal(self, pid: str) -> Proposal | None:
        path = self.proposal_path(pid)
        data = _read_json(path)
        if data is None:
            return None
        try:
            proposal = Proposal.from_json(data)
        except ValueError as exc:
            raise CorruptFile(path, f"is not a proposal: {exc}") from None
        if proposal.id != pid:
            raise CorruptFile(path, f"holds proposal {proposal.id}, not {pid}")
        return proposal

    def answer(self, pid: str) -> Answer | None:
        path = self.answer_path(pid)
        data = _read_json(path)
        if data is None:
            return None
        try:
            answer = Answer.from_json(data)
        except ValueError as exc:
            raise CorruptFile(path, f"is not an answer: {exc}") from None
        if answer.id != pid:
            raise CorruptFile(path, f"answers proposal {answer.id}, not {pid}")
        return answer

    def ids(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        names = (p.name for p in self.dir.iterdir())
        return sorted(n[: -len(PROPOSAL_SUFFIX)] for n in names if n.endswith(PROPOSAL_SUFFIX))

    def scan(self) -> Scan:
        """Every proposal with its answer, oldest first; corrupt files are reported and skipped."""
        out = Scan()
        for pid in self.ids():
            try:
                proposal = self.proposal(pid)
            except CorruptFile as exc:
                out.problems.append(exc)
                continue
            if proposal is None:
                continue
            try:
                answer = self.answer(pid)
            except CorruptFile as exc:
                out.problems.append(exc)
                continue
            out.entries.append(Entry(proposal, answer))
        out.entries.sort(key=lambda e: (e.proposal.created_at, e.proposal.id))
        return out
