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
* The directory is on the host's disk and the agent decides what is asked: a
  file is never written larger than its reader accepts, and a bottle has at most
  :data:`MAX_PENDING` proposals waiting for the operator (:class:`Refused`).
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

__all__ = ["CorruptFile", "Entry", "Queue", "Refused", "Scan"]

PROPOSAL_SUFFIX = ".proposal.json"
ANSWER_SUFFIX = ".answer.json"
MAX_FILE_BYTES = 1024 * 1024
# Proposals of one bottle waiting for an answer. An agent needs a few at a time;
# more would let it fill the host's disk with distinct asks nobody answers.
MAX_PENDING = 16
FILE_MODE = 0o644  # the other side runs as another user; nothing here is secret


class Refused(ValueError):
    """A file the queue does not take (too large, too many waiting); the message says why."""


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


def _encoded(data: object) -> bytes:
    """``data`` as a queue file holds it; :class:`Refused` when its reader would not take it."""
    raw = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
    if len(raw) > MAX_FILE_BYTES:
        raise Refused(
            f"it would take {len(raw)} bytes, more than the {MAX_FILE_BYTES} a queue file may"
            " hold; ask for less (fewer path prefixes or ports, a shorter justification or"
            " Dockerfile)"
        )
    return raw


@contextlib.contextmanager
def _staged(directory: Path, data: object) -> Iterator[str]:
    """A complete temporary file holding ``data``, removed when the block ends."""
    raw = _encoded(data)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
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
        """Queue ``proposal`` unless the same thing is already asked; return the queued one.

        :class:`Refused` when it is new and :data:`MAX_PENDING` proposals already wait,
        or when it is too large for a queue file.
        """
        stored = self.proposal(proposal.id)
        if stored is not None:
            return stored
        waiting = self.pending_ids()
        if len(waiting) >= MAX_PENDING:
            raise Refused(
                f"{len(waiting)} proposals of this bottle are waiting for the operator, the"
                f" most there may be ({', '.join(sorted(waiting))}); wait for their answers"
                " before asking for something new"
            )
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

    def pending_ids(self) -> set[str]:
        """Proposals without an answer file (from the names alone: cheap on every ask)."""
        if not self.dir.is_dir():
            return set()
        names = {p.name for p in self.dir.iterdir()}
        return {
            n[: -len(PROPOSAL_SUFFIX)]
            for n in names
            if n.endswith(PROPOSAL_SUFFIX)
            and f"{n[: -len(PROPOSAL_SUFFIX)]}{ANSWER_SUFFIX}" not in names
        }

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
