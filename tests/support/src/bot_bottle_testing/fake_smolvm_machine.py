"""The fake smolvm CLI's lifecycle commands: create, start, stop, delete, status, ls.

Texts and exit codes are smolvm 1.32.2's, as observed on it (see
:mod:`bot_bottle_testing.fake_smolvm` for the record); what cannot be observed
without a bootable VM follows smolvm's source (``src/cli/vm_common.rs``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import stat
import sys
import time
from pathlib import Path

from bot_bottle_testing.fake_smolvm_args import Parsed, SmolError
from bot_bottle_testing.fake_smolvm_store import Machine, Store

# What `machine start` says on a host whose VMM cannot open /dev/kvm (this one).
BOOT_FAILURE = (
    "agent operation failed: start machine: agent operation failed: monitor agent: "
    "Then log out and log back in for the change to take effect.); libkrun detail: "
    "build microVM: Internal error while starting microVM: KvmContext(KvmOpen(Error(13))) "
    "(boot process exited (code 1) before the agent was ready)"
)
# The VMM's agent socket lives at this path under the state dir; Unix socket paths are
# limited, so a long state dir makes every start fail (seen with pytest's tmp_path).
AGENT_SOCKET = ".cache/smolvm/vms/{digest}/agent.sock"
SOCKET_PATH_MAX = 107
SOCKET_TOO_LONG = (
    "agent operation failed: start machine: agent operation failed: monitor agent: Error: "
    "agent operation failed: add vsock port: socket path is {size} bytes, over the "
    "{limit}-byte limit for Unix sockets on this host: {path}. smolvm keeps machine sockets "
    "under your cache directory, so run it with a shorter HOME (or XDG_CACHE_HOME on Linux) "
    "(boot process exited (code 1) before the agent was ready)"
)
# The VMM drops root for a per-machine uid, so an image directory it cannot reach
# (under a 0700 directory such as pytest's tmp_path) fails the start.
LAYERS_NOT_FOUND = (
    "agent operation failed: start machine: agent operation failed: monitor agent: Error: "
    "agent operation failed: add packed layers virtiofs: packed layers directory not found "
    "at {path}: this machine's layers volume is not mounted, so the guest cannot use its "
    "bundled image and an offline run would fail. Restart the machine, or re-create it from "
    "the .smolmachine bundle. (boot process exited (code 1) before the agent was ready)"
)
CREATE_FAILURE = "agent operation failed: create machine: storage disk could not be prepared"
NOT_A_TERMINAL = (
    "agent operation failed: delete: machine '{name}' needs confirmation but stdin is not a "
    "terminal; pass --force to delete it, or --cascade to remove it together with any "
    "machines branched from it"
)
# Environment switch: every start fails as BOOT_FAILURE (a host that cannot boot VMs).
BOOT_FAILS_ENV = "SMOLVM_FAKE_BOOT_FAILS"


def not_found(name: str) -> SmolError:
    return SmolError("NOT_FOUND", f"vm not found: {name}")


def lookup(store: Store, name: str) -> Machine:
    machine = store.read().get(name)
    if machine is None:
        raise not_found(name)
    return machine


def start(store: Store, args: Parsed, name: str) -> int:
    machine = lookup(store, name)
    if machine.state == "running":
        print(f"Machine '{name}' already running (PID: {machine.pid})")
        return 0
    mounts = f" with {len(machine.mounts)} mount(s)" if machine.mounts else ""
    ports = f" and {len(machine.ports)} port mapping(s)" if machine.ports else ""
    print(f"Starting machine '{name}'{mounts}{ports}...", file=sys.stderr, flush=True)
    (store.guest_root(name) / "workspace").mkdir(parents=True, exist_ok=True)
    failure = _socket_too_long(store, name) or _image_dir_unreachable(machine.image)
    if failure is None and (
        os.environ.get(BOOT_FAILS_ENV) == "1" or store.take_fault("boot-fails")
    ):
        failure = BOOT_FAILURE
    now = time.time()
    with store.locked() as machines:
        current = machines.get(name)
        if current is None:
            raise not_found(name)
        if failure is not None:
            current.last_exit = {
                "cause": "exited",
                "exit_code": 1,
                "exited_at_unix_ms": int(now * 1000),
                "pid": os.getpid(),
            }
        else:
            current.state, current.pid = "running", os.getpid()
    if failure is not None:
        print(_vmm_exit_warning(now), file=sys.stderr)
        raise SmolError("SMOLVM_ERROR", failure)
    print(f"Machine '{name}' running (PID: {os.getpid()})")
    return 0


def _socket_too_long(store: Store, name: str) -> str | None:
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    path = os.path.join(os.path.abspath(store.root), AGENT_SOCKET.format(digest=digest))
    size = len(path.encode())
    if size <= SOCKET_PATH_MAX:
        return None
    return SOCKET_TOO_LONG.format(size=size, limit=SOCKET_PATH_MAX, path=path)


def _image_dir_unreachable(image: str | None) -> str | None:
    if image is None or not image.startswith("local-dir:"):
        return None
    path = Path(image.removeprefix("local-dir:"))
    # Another uid needs search permission on every ancestor and read+search on the directory.
    needed = [(path, stat.S_IROTH | stat.S_IXOTH)] + [(p, stat.S_IXOTH) for p in path.parents]
    for place, bits in needed:
        try:
            mode = place.stat().st_mode
        except OSError:
            return LAYERS_NOT_FOUND.format(path=path)
        if mode & bits != bits:
            return LAYERS_NOT_FOUND.format(path=path)
    return None


def _vmm_exit_warning(now: float) -> str:
    # The real VMM monitor logs this through `tracing`, coloured even into a pipe.
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return (
        f"\x1b[2m{stamp}\x1b[0m \x1b[33m WARN\x1b[0m VMM exited with code 1 "
        f"\x1b[3mpid\x1b[0m\x1b[2m=\x1b[0m{os.getpid()} "
        f"\x1b[3mcause\x1b[0m\x1b[2m=\x1b[0mExited"
    )


def stop(store: Store, args: Parsed, name: str) -> int:
    with store.locked() as machines:
        machine = machines.get(name)
        if machine is None:
            raise not_found(name)
        if machine.state != "running":
            print(f"Machine '{name}' is not running (state: {machine.state})")
            return 0
        machine.state, machine.pid = "stopped", None
    print(f"Stopping machine '{name}'...")
    print(f"Stopped machine: {name}")
    return 0


def delete(store: Store, args: Parsed, name: str) -> int:
    lookup(store, name)
    if not (args.flag("force") or args.flag("cascade")):
        if not sys.stdin.isatty():
            raise SmolError("SMOLVM_ERROR", NOT_A_TERMINAL.format(name=name))
        print(f"Delete machine '{name}'? [y/N] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Cancelled")
            return 0
    with store.locked() as machines:
        machine = machines.pop(name, None)
        if machine is None:
            raise not_found(name)
        if machine.state == "running":
            print(f"Stopping machine '{name}'...")
        data_dir = store.data_dir(name)
        if data_dir.exists():
            print(f"Cleaning up data directory for vm: {name}")
            shutil.rmtree(data_dir)
    print(f"Deleted machine: {name}")
    return 0


def status(store: Store, args: Parsed, name: str) -> int:
    machine = store.read().get(name)
    if args.flag("json"):
        if machine is None:
            raise SmolError(
                "CONFIG_ERROR",
                f"config operation failed: machine status: machine '{name}' not found",
            )
        print(_dump(machine.listing()))
        return 0
    if machine is None:
        raise not_found(name)
    if machine.state == "running":
        print(f"Machine '{name}': running (PID: {machine.pid})")
        return 0
    print(f"Machine '{name}': {machine.state}")
    if machine.last_exit is not None:
        print(f"  last exit: VMM exited with code {machine.last_exit['exit_code']}")
    return 0


def ls(store: Store, args: Parsed) -> int:
    machines = [store_machine for _, store_machine in sorted(store.read().items())]
    if args.flag("json"):
        print(_dump([m.listing() for m in machines]) if machines else "[]")
    elif args.flag("quiet"):
        for machine in machines:
            print(machine.name)
    elif not machines:
        print("No machines found")
    else:
        print(_table(machines))
    return 0


def _dump(value: object) -> str:
    # serde_json's pretty printer: two spaces, keys in order, no ASCII escaping.
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _table(machines: list[Machine]) -> str:
    width = max(4, *(len(m.name) for m in machines))
    row = "{:<" + str(width) + "} {:<12} {:>5} {:>10} {:>7} {:>7} {:>8} {:>8}  {:<13}"
    lines = [
        row.format(
            "NAME",
            "STATE",
            "CPUS",
            "MEMORY",
            "MOUNTS",
            "PORTS",
            "STORAGE",
            "OVERLAY",
            "BRANCHED FROM",
        )
    ]
    lines.append("-" * len(lines[0]))
    for m in machines:
        lines.append(
            row.format(
                m.name,
                m.state,
                m.cpus,
                f"{m.memory_mib} MiB",
                len(m.mounts),
                len(m.ports),
                "20 GiB",
                "10 GiB",
                "-",
            )
        )
    return "\n".join(lines)
