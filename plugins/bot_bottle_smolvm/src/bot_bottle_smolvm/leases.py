"""Host ports for each bottle's sidecar bundle, handed out under a file lock.

A VM reaches its bundle through the gateway ``100.96.0.1``, which smolvm maps to
the host's ``127.0.0.1`` on the same port; so every bottle's bundle needs ports
of its own on the host loopback, and two starts at once must never be given the
same ones. A lease is a file per slot, written while holding an exclusive lock
on the directory's lock file; it names the bottle and, until its start finishes,
the starting process. A start that crashed leaves a lease whose process is gone:
the next allocation takes it back. A finished start's lease lives until its
bottle is torn down (:meth:`Leases.release`).

The leases are per host, not per bot-bottle home: the ports are the host's.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import attrs

from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.process_stamp import ProcessStamp

LEASES_ENV = "BOT_BOTTLE_SMOLVM_LEASES"
# Above the ephemeral range's usual start (32768) stays clear of services; below
# it, of outgoing connections' ports.
BASE_PORT = 21000
SLOTS = 1000
# egress, git-gate, supervise
PORTS_PER_SLOT = 3


class NoFreeSlot(BotBottleError):
    pass


@attrs.frozen
class Lease:
    slot: int
    slug: str
    # The start still under way; None once the bottle runs (the lease is then kept
    # until teardown).
    starter: ProcessStamp | None = None
    base_port: int = BASE_PORT

    @property
    def ports(self) -> tuple[int, ...]:
        first = self.base_port + self.slot * PORTS_PER_SLOT
        return tuple(range(first, first + PORTS_PER_SLOT))

    @property
    def crashed(self) -> bool:
        return self.starter is not None and not self.starter.is_alive()


def default_dir() -> Path:
    if v := os.environ.get(LEASES_ENV):
        return Path(v)
    import platformdirs  # here only: `list active` stays light

    return Path(platformdirs.user_runtime_dir("bot-bottle")) / "smolvm-leases"


@attrs.define
class Leases:
    root: Path = attrs.field(factory=default_dir)
    base_port: int = BASE_PORT
    slots: int = SLOTS

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the fd closes, even on a crash
            yield
        finally:
            os.close(fd)

    def _path(self, slot: int) -> Path:
        return self.root / f"{slot}.json"

    def _read(self, slot: int) -> Lease | None:
        try:
            data = json.loads(self._path(slot).read_text())
            starter = data.get("starter")
            return Lease(
                slot,
                data["slug"],
                None if starter is None else ProcessStamp(starter["pid"], starter["started"]),
                self.base_port,
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            # A lease half-written by a crash (writes are atomic, so only by hand):
            # its slot stays taken rather than risk two bottles on one port.
            return Lease(slot, "?", None, self.base_port)

    def _write(self, lease: Lease) -> None:
        starter = None if lease.starter is None else attrs.asdict(lease.starter)
        tmp = self.root / f".{lease.slot}.tmp"
        tmp.write_text(json.dumps({"slug": lease.slug, "starter": starter}))
        os.replace(tmp, self._path(lease.slot))

    def held(self) -> list[Lease]:
        with self._locked():
            return self._held()

    def _held(self) -> list[Lease]:
        leases = []
        for p in self.root.glob("*.json"):
            if p.stem.isdigit() and (lease := self._read(int(p.stem))) is not None:
                leases.append(lease)
        return sorted(leases, key=lambda lease: lease.slot)

    def allocate(self, slug: str) -> Lease:
        """A slot whose ports are free, held by this process until :meth:`bind`."""
        with self._locked():
            taken: dict[int, Lease] = {}
            for lease in self._held():
                if lease.slug == slug:
                    raise BotBottleError(f"The bottle {slug} already holds smolvm ports.")
                if lease.crashed:
                    self._path(lease.slot).unlink(missing_ok=True)
                    continue
                taken[lease.slot] = lease
            for slot in range(self.slots):
                if slot in taken:
                    continue
                lease = Lease(slot, slug, ProcessStamp.current(), self.base_port)
                if all(port_free(p) for p in lease.ports):
                    self._write(lease)
                    return lease
        raise NoFreeSlot(
            f"All {self.slots} smolvm port slots are taken (leases in {self.root});"
            " stop a bottle or run `bot-bottle cleanup`."
        )

    def bind(self, slug: str) -> None:
        """The start finished: the lease now lasts until :meth:`release`."""
        with self._locked():
            for lease in self._held():
                if lease.slug == slug:
                    self._write(attrs.evolve(lease, starter=None))

    def release(self, slug: str) -> bool:
        """Give back ``slug``'s lease; False when it held none."""
        with self._locked():
            found = False
            for lease in self._held():
                if lease.slug == slug:
                    self._path(lease.slot).unlink(missing_ok=True)
                    found = True
            return found

    def of(self, slug: str) -> Lease | None:
        return next((lease for lease in self.held() if lease.slug == slug), None)


def port_free(port: int) -> bool:
    """Whether nothing listens on (or holds) ``127.0.0.1:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True
