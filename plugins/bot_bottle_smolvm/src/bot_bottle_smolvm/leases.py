"""Host ports for each bottle's sidecar bundle, handed out under a file lock.

A VM reaches its bundle through the gateway ``100.96.0.1``, which smolvm maps to
the host's ``127.0.0.1`` on the same port; so every bottle's bundle needs ports
of its own on the host loopback, and two starts at once must never be given the
same ones. A lease is a file per slot, written while holding an exclusive lock
on the directory's lock file; it names the bottle, the bot-bottle home that
started it and, until its start finishes, the starting process. A start that
crashed leaves a lease whose process is gone: the next allocation takes it back.
A finished start's lease lives until its bottle is torn down
(:meth:`Leases.release`).

The leases are the user's (in their runtime directory), while the ports are the
host's: a slot is only handed out when its ports are free right now, so another
user's running bundle is stepped around; two users starting in the same instant
could still pick the same port, and the second bundle's bind then fails its
start with a clear error.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import stat
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import attrs

from bot_bottle_core import labels as keys
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
    # The bot-bottle home that started the bottle (None: unknown, any home's).
    home: str | None = None
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

    @property
    def labels(self) -> dict[str, str]:
        """As a machine's labels, for :func:`bot_bottle_core.labels.of_home`."""
        return {} if self.home is None else {keys.HOME: self.home}


def unusable(root: Path, why: object) -> BotBottleError:
    return BotBottleError(
        f"The smolvm port leases in {root} cannot be used: {why}. Make it a directory"
        f" of your own that nobody else can write to, or point {LEASES_ENV} at one."
    )


def default_dir() -> Path:
    if v := os.environ.get(LEASES_ENV):
        return Path(v)
    import platformdirs  # here only: `list active` stays light

    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs warns and falls back to a checked
        # private directory, which serves as well.
        warnings.simplefilter("ignore")
        try:
            base = platformdirs.user_runtime_dir("bot-bottle")
        except OSError as exc:
            raise unusable(Path("the user's runtime directory"), exc) from None
    return Path(base) / "smolvm-leases"


@attrs.define
class Leases:
    root: Path = attrs.field(factory=default_dir)
    base_port: int = BASE_PORT
    slots: int = SLOTS

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            st = os.lstat(self.root)
            # Whoever can write here can take ports from under running bottles or
            # make cleanup give a live bottle's ports away.
            if not stat.S_ISDIR(st.st_mode):
                raise unusable(self.root, "it is not a directory")
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                raise unusable(self.root, "someone else owns it or may write to it")
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise unusable(self.root, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the fd closes, even on a crash
            yield
        except OSError as exc:
            raise unusable(self.root, exc) from None
        finally:
            os.close(fd)

    def _path(self, slot: int) -> Path:
        return self.root / f"{slot}.json"

    def _read(self, slot: int) -> Lease | None:
        try:
            # O_NOFOLLOW: a planted symlink is read as a lease that cannot be read.
            fd = os.open(self._path(slot), os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                data = json.loads(f.read(65536))
            starter = data.get("starter")
            home = data.get("home")
            return Lease(
                slot,
                str(data["slug"]),
                home if isinstance(home, str) else None,
                None if starter is None else ProcessStamp(starter["pid"], starter["started"]),
                self.base_port,
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            # A lease half-written by a crash (writes are atomic, so only by hand):
            # its slot stays taken rather than risk two bottles on one port.
            return Lease(slot, "?", None, None, self.base_port)

    def _write(self, lease: Lease) -> None:
        starter = None if lease.starter is None else attrs.asdict(lease.starter)
        data = {"slug": lease.slug, "home": lease.home, "starter": starter}
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{lease.slot}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, self._path(lease.slot))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def held(self) -> list[Lease]:
        with self._locked():
            return self._held()

    def _held(self) -> list[Lease]:
        leases = []
        for p in self.root.glob("*.json"):
            is_slot = p.stem.isascii() and p.stem.isdigit()
            if is_slot and (lease := self._read(int(p.stem))) is not None:
                leases.append(lease)
        return sorted(leases, key=lambda lease: lease.slot)

    def allocate(self, slug: str, *, home: str | None) -> Lease:
        """A slot whose ports are free, held by this process until :meth:`bind`."""
        with self._locked():
            taken: dict[int, Lease] = {}
            for lease in self._held():
                if lease.crashed:  # before the slug: a crashed start of this bottle too
                    self._path(lease.slot).unlink(missing_ok=True)
                    continue
                if lease.slug == slug:
                    raise BotBottleError(f"The bottle {slug} already holds smolvm ports.")
                taken[lease.slot] = lease
            for slot in range(self.slots):
                if slot in taken:
                    continue
                lease = Lease(slot, slug, home, ProcessStamp.current(), self.base_port)
                if all(port_free(p) for p in lease.ports):
                    self._write(lease)
                    return lease
        raise NoFreeSlot(
            f"All {self.slots} smolvm port slots are taken (leases in {self.root});"
            " stop a bottle or run `bot-bottle cleanup`."
        )

    def bind(self, slug: str) -> Lease:
        """The start finished: the lease now lasts until :meth:`release`."""
        me = ProcessStamp.current()
        with self._locked():
            for lease in self._held():
                if lease.slug == slug and lease.starter == me:
                    bound = attrs.evolve(lease, starter=None)
                    self._write(bound)
                    return bound
        raise BotBottleError(
            f"The smolvm port lease of {slug} is gone from {self.root} before its start"
            " finished (was `bot-bottle cleanup` run with the start under way?)."
        )

    def release(self, slug: str) -> bool:
        """Give back ``slug``'s lease at its teardown; False when it held none."""
        with self._locked():
            found = False
            for lease in self._held():
                if lease.slug == slug:
                    self._path(lease.slot).unlink(missing_ok=True)
                    found = True
            return found

    def release_leftover(self, slot: int, slug: str) -> bool:
        """Give back ``slot`` if it is still ``slug``'s lease of a finished or crashed
        start: between a cleanup's plan and its removal a new start may have taken it."""
        with self._locked():
            lease = self._read(slot)
            if lease is None or lease.slug != slug:
                return False
            if lease.starter is not None and not lease.crashed:
                return False
            self._path(slot).unlink(missing_ok=True)
            return True

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
