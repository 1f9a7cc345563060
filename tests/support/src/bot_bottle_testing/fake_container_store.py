"""The fake ``container`` CLI's state: its services' status and its containers, in one file.

Everything lives under the state directory (``$CONTAINER_FAKE_STATE_DIR``):
``fake-container.json``, rewritten atomically (temporary file and
``os.replace``) under an exclusive ``flock`` on ``fake-container.lock``, so
parallel calls neither lose an update nor read half a file.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs

STATE_FILE = "fake-container.json"
LOCK_FILE = "fake-container.lock"
# What `container system status` reports; "running" unless a test says otherwise.
SERVICE_STATES = ("running", "not running", "unregistered")
CONTAINER_STATES = ("running", "stopped", "stopping", "unknown")


def now_iso() -> str:
    """A date as Swift's JSONEncoder ``.iso8601`` writes it: whole seconds, ``Z``."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define
class Container:
    id: str
    image: str
    state: str = "stopped"
    labels: dict[str, str] = attrs.field(factory=dict)
    arguments: list[str] = attrs.field(factory=list)
    env: list[str] = attrs.field(factory=list)
    user: str | None = None
    workdir: str = "/"
    created: str = attrs.field(factory=now_iso)
    started: str | None = None

    def listing(self) -> dict[str, object]:
        """The object ``container list --format json`` prints (a ManagedContainer).

        The keys of container 1.x's ``ContainerConfiguration`` and ``ContainerStatus``;
        a client reads ``configuration.id``, ``configuration.labels`` and ``status.state``
        and must ignore the rest.
        """
        digest = "sha256:" + hashlib.sha256(self.image.encode()).hexdigest()
        executable, *arguments = self.arguments or ["/bin/sh"]
        path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        user: dict[str, object] = (
            {"raw": {"userString": self.user}} if self.user else {"id": {"gid": 0, "uid": 0}}
        )
        config = {
            "capAdd": [],
            "capDrop": [],
            "creationDate": self.created,
            "dns": {"nameservers": ["192.168.64.1"], "options": [], "searchDomains": []},
            "id": self.id,
            "image": {
                "descriptor": {
                    "digest": digest,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "size": 1609,
                },
                "reference": self.image,
            },
            "initProcess": {
                "arguments": arguments,
                "environment": [path, *self.env],
                "executable": executable,
                "rlimits": [],
                "supplementalGroups": [],
                "terminal": False,
                "user": user,
                "workingDirectory": self.workdir,
            },
            "labels": dict(self.labels),
            "mounts": [],
            "networks": [{"network": "default", "options": {"hostname": self.id}}],
            "platform": {"architecture": "arm64", "os": "linux"},
            "publishedPorts": [],
            "publishedSockets": [],
            "readOnly": False,
            "resources": {"cpuOverhead": 1, "cpus": 4, "memoryInBytes": 1073741824},
            "rosetta": False,
            "runtimeHandler": "container-runtime-linux",
            "ssh": False,
            "sysctls": {},
            "useInit": False,
            "virtualization": False,
        }
        status: dict[str, object] = {"networks": [], "state": self.state}
        if self.state == "running":
            status["networks"] = [
                {
                    "hostname": self.id,
                    "ipv4Address": "192.168.64.3/24",
                    "ipv4Gateway": "192.168.64.1",
                    "macAddress": "3e:5f:0a:1b:2c:3d",
                    "network": "default",
                }
            ]
        if self.started is not None:
            status["startedDate"] = self.started
        return {"configuration": config, "id": self.id, "status": status}


@attrs.define
class State:
    service: str = "running"
    containers: dict[str, Container] = attrs.field(factory=dict)


@attrs.frozen
class Store:
    root: Path

    @contextlib.contextmanager
    def locked(self) -> Iterator[State]:
        """The state, held under the lock; changes are saved on a clean exit."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._load()
            yield state
            self._save(state)

    def _load(self) -> State:
        path = self.root / STATE_FILE
        if not path.exists():
            return State()
        raw = json.loads(path.read_text())
        containers = {cid: Container(**c) for cid, c in raw["containers"].items()}
        return State(raw["service"], containers)

    def _save(self, state: State) -> None:
        body = json.dumps(attrs.asdict(state), indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".fake-container-", suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            out.write(body)
        os.replace(tmp, self.root / STATE_FILE)


def set_service(state_dir: Path, status: str) -> None:
    """Make ``container system status`` report ``status`` (and, unless it is "running",
    every other command fail as with the services down)."""
    if status not in SERVICE_STATES:
        raise ValueError(f"unknown service status {status!r}; known: {', '.join(SERVICE_STATES)}")
    with Store(state_dir).locked() as state:
        state.service = status


def set_container_state(state_dir: Path, name: str, new: str) -> None:
    """Put the container ``name`` into ``new`` (for instance "stopping", which no delete
    can remove, as the real service refuses it)."""
    if new not in CONTAINER_STATES:
        raise ValueError(f"unknown container state {new!r}; known: {', '.join(CONTAINER_STATES)}")
    with Store(state_dir).locked() as state:
        state.containers[name].state = new
