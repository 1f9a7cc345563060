"""The fake smolvm CLI's state: machine records in one JSON file, and fault switches.

Everything lives under the state directory (``--state-dir``):

* ``fake-smolvm.json``: the machines, rewritten atomically (temporary file and
  ``os.replace``) under an exclusive ``flock`` on ``fake-smolvm.lock``, so
  parallel calls neither lose an update nor read half a file;
* ``fake-smolvm-machines/NAME/``: a machine's data directory, made by its first
  ``start`` (as the real CLI's is; ``delete`` then says "Cleaning up data
  directory"); ``root/`` in it is the machine's file system for ``cp`` and ``exec``;
* ``fake-smolvm-faults/KIND``: a fault switch (see :data:`FAULTS`); the file holds
  how many more calls it hits, or ``always``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs

STATE_FILE = "fake-smolvm.json"
LOCK_FILE = "fake-smolvm.lock"
MACHINES_DIR = "fake-smolvm-machines"
FAULTS_DIR = "fake-smolvm-faults"

# exec-137: an exec dies as if killed (137) without running its command.
# boot-fails: a start fails the way a VM that cannot boot fails on a host without usable KVM.
# create-fails: a create registers the machine, then fails (exit 1).
FAULTS = ("exec-137", "boot-fails", "create-fails")

DEFAULT_CPUS = 4
DEFAULT_MEMORY_MIB = 8192


@attrs.define
class Machine:
    name: str
    image: str | None
    created_at: int
    cpus: int = DEFAULT_CPUS
    memory_mib: int = DEFAULT_MEMORY_MIB
    labels: dict[str, str] = attrs.field(factory=dict)
    network: bool = False
    cmd: list[str] = attrs.field(factory=list)
    env: list[str] = attrs.field(factory=list)
    workdir: str | None = None
    mounts: list[str] = attrs.field(factory=list)
    ports: list[str] = attrs.field(factory=list)
    allowed_cidrs: list[str] | None = None
    allowed_hosts: list[str] | None = None
    state: str = "created"
    pid: int | None = None
    last_exit: dict[str, object] | None = None

    def listing(self) -> dict[str, object]:
        """The object ``machine ls --json`` / ``status --json`` prints for this machine.

        The same keys and defaults as smolvm 1.32.2's; ``allowed_cidrs``,
        ``allowed_hosts`` and ``last_exit`` appear only when set, as there.
        """
        out: dict[str, object] = {
            "block_io": "sync",
            "branchable": False,
            "branchpoint_held": False,
            "cmd": list(self.cmd),
            "cpus": self.cpus,
            "created_at": self.created_at,
            "cuda": False,
            "cuda_branch_pool_size": None,
            "cuda_fork_pool_size": None,
            "cuda_vram_limit_mib": None,
            "detached": False,
            "disk_durability": "full",
            "disks": [],
            "entrypoint": [],
            "ephemeral": False,
            "forkable": False,
            "forkpoint_held": False,
            "gpu": False,
            "gpu_vram_mib": None,
            "health_cmd": None,
            "health_interval_secs": None,
            "health_retries": None,
            "health_startup_grace_secs": None,
            "health_timeout_secs": None,
            "image": self.image,
            "labels": dict(self.labels),
            "memory_mib": self.memory_mib,
            "mounts": len(self.mounts),
            "name": self.name,
            "network": self.network,
            "overlay_gb": None,
            "parent_machine": None,
            "pid": self.pid,
            "ports": len(self.ports),
            "restart_count": 0,
            "restart_max_retries": 0,
            "restart_policy": "never",
            "state": self.state,
            "state_reason": None,
            "storage_gb": None,
        }
        if self.allowed_cidrs is not None:
            out["allowed_cidrs"] = list(self.allowed_cidrs)
        if self.allowed_hosts is not None:
            out["allowed_hosts"] = list(self.allowed_hosts)
        if self.last_exit is not None:
            out["last_exit"] = dict(self.last_exit)
        return out


@attrs.frozen
class Store:
    root: Path

    def data_dir(self, name: str) -> Path:
        return self.root / MACHINES_DIR / name

    def guest_root(self, name: str) -> Path:
        return self.data_dir(name) / "root"

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        # flock belongs to the open file, so this must never be nested in one process.
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, Machine]]:
        """The machines by name, held under the lock; changes are saved on a clean exit."""
        with self._flock():
            machines = self._load()
            yield machines
            self._save(machines)

    def read(self) -> dict[str, Machine]:
        with self._flock():
            return self._load()

    def _load(self) -> dict[str, Machine]:
        path = self.root / STATE_FILE
        if not path.exists():
            return {}
        raw = json.loads(path.read_text())
        return {name: Machine(**fields) for name, fields in raw["machines"].items()}

    def _save(self, machines: dict[str, Machine]) -> None:
        body = json.dumps({"machines": {n: attrs.asdict(m) for n, m in machines.items()}}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".fake-smolvm-", suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            out.write(body)
        os.replace(tmp, self.root / STATE_FILE)

    def take_fault(self, kind: str) -> bool:
        """Whether fault ``kind`` is on for this call; a counted one is used up by it."""
        path = self.root / FAULTS_DIR / kind
        with self._flock():
            if not path.exists():
                return False
            left = path.read_text().strip() or "1"
            if left == "always":
                return True
            remaining = int(left) - 1
            if remaining > 0:
                path.write_text(str(remaining))
            else:
                path.unlink()
            return True


def set_fault(state_dir: Path, kind: str, times: int | None = 1) -> None:
    """Turn fault ``kind`` on for the next ``times`` calls that reach it (None: every call)."""
    if kind not in FAULTS:
        raise ValueError(f"unknown fake smolvm fault {kind!r}; known: {', '.join(FAULTS)}")
    faults = state_dir / FAULTS_DIR
    faults.mkdir(parents=True, exist_ok=True)
    (faults / kind).write_text("always" if times is None else str(times))


def clear_fault(state_dir: Path, kind: str) -> None:
    (state_dir / FAULTS_DIR / kind).unlink(missing_ok=True)
