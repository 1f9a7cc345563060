"""What the smolvm contract tests share: each CLI under test (the real one from the
``smolmachines`` wheel, or :mod:`bot_bottle_testing.fake_smolvm`) with its own state
directory, and the answers smolvm 1.32.2 gives here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import attrs
import pytest

from bot_bottle_testing.fake_smolvm_machine import BOOT_FAILS_ENV

# Every call of the wheel's binary says this on stderr; it is no part of the contract.
NOTE_PREFIX = "note: "


def real_smolvm() -> Path | None:
    """The real CLI inside the installed ``smolmachines`` wheel, if there is one."""
    spec = importlib.util.find_spec("smol")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "smol-vmm"
    return binary if binary.is_file() else None


@attrs.frozen
class Result:
    code: int
    stdout: str
    stderr: str


@attrs.frozen
class Smolvm:
    """One CLI (``kind`` real or fake) with its own state directory."""

    kind: str
    argv: tuple[str, ...]
    state_dir: Path
    env: dict[str, str]

    def run(
        self,
        *args: str,
        stdin: int | None = subprocess.DEVNULL,
        input: bytes | None = None,
        state: bool = True,
    ) -> Result:
        """Run ``smolvm [--state-dir DIR] ARGS``; stderr without the ``note:`` lines."""
        argv = [*self.argv, *(("--state-dir", str(self.state_dir)) if state else ()), *args]
        done = subprocess.run(
            argv,
            stdin=None if input is not None else stdin,
            input=input,
            capture_output=True,
            env=self.env,
            timeout=180,
            check=False,
        )
        return Result(done.returncode, done.stdout.decode(), _drop_notes(done.stderr.decode()))


def _drop_notes(stderr: str) -> str:
    return "".join(
        line for line in stderr.splitlines(keepends=True) if not line.startswith(NOTE_PREFIX)
    )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOLVM_")}
    env.pop("SMOLVM_MACHINE_NAME", None)
    return env


def make_smolvm(kind: str, state_dir: Path) -> Smolvm:
    if kind == "real":
        binary = real_smolvm()
        if binary is None:
            pytest.skip("the real smolvm CLI is missing: the smolmachines wheel is not installed")
        return Smolvm("real", (str(binary),), state_dir, _env())
    # The fake as this host is: nothing boots, so start fails as the real one's does here.
    env = {**_env(), BOOT_FAILS_ENV: "1"}
    return Smolvm("fake", (sys.executable, "-m", "bot_bottle_testing.fake_smolvm"), state_dir, env)


NOT_RUNNING = (
    "Error: agent operation failed: connect: machine '{0}' is not running. Start it with "
    "'smolvm machine start --name {0}'; if a start is already in progress, retry once it "
    "finishes.\n"
)
BOOT_FAILURE = (
    "Error: agent operation failed: start machine: agent operation failed: monitor agent: "
    "Then log out and log back in for the change to take effect.); libkrun detail: build "
    "microVM: Internal error while starting microVM: KvmContext(KvmOpen(Error(13))) (boot "
    "process exited (code 1) before the agent was ready)\n"
)
# The keys of a `machine ls --json` object after a plain create (smolvm 1.32.2); a
# client reads name, state, labels, pid, image, network... and must ignore the rest.
LISTING_KEYS = {
    "block_io", "branchable", "branchpoint_held", "cmd", "cpus", "created_at", "cuda",
    "cuda_branch_pool_size", "cuda_fork_pool_size", "cuda_vram_limit_mib", "detached",
    "disk_durability", "disks", "entrypoint", "ephemeral", "forkable", "forkpoint_held", "gpu",
    "gpu_vram_mib", "health_cmd", "health_interval_secs", "health_retries",
    "health_startup_grace_secs", "health_timeout_secs", "image", "labels", "memory_mib",
    "mounts", "name", "network", "overlay_gb", "parent_machine", "pid", "ports",
    "restart_count", "restart_max_retries", "restart_policy", "state", "state_reason",
    "storage_gb",
}  # fmt: skip


def created(name: str, cpus: int = 4, mem: int = 8192, extra: str = "") -> str:
    return (
        f"Created machine: {name}\n  CPUs: {cpus}, Memory: {mem} MiB\n{extra}\n"
        f"Use 'smolvm machine start --name {name}' to start the machine\n"
        f"Then use 'smolvm machine exec --name {name} -- <command>' to run commands\n"
    )


def ok(stdout: str) -> Result:
    return Result(0, stdout, "")


def err(message: str) -> Result:
    return Result(1, "", f"Error: {message}\n")


def json_err(code: str, message: str) -> Result:
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))
    return Result(1, "", body + "\n")


def listing(cli: Smolvm) -> list[dict[str, object]]:
    done = cli.run("machine", "ls", "--json")
    assert done.code == 0, done
    return json.loads(done.stdout)


def docker_save_archive(path: Path) -> Path:
    """A minimal ``docker save`` archive: one layer holding one file."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        _add(tar, "etc/hello", b"hello\n")
    layer_sha = hashlib.sha256(layer.getvalue()).hexdigest()
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_sha}"]}}
    ).encode()  # fmt: skip
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": ["tiny:1"], "Layers": [f"{layer_sha}/l.tar"]}]
    with tarfile.open(path, "w") as tar:
        _add(tar, config_name, config)
        _add(tar, f"{layer_sha}/l.tar", layer.getvalue())
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return path


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


# --- the contract: identical on the real CLI and the fake --------------------------------
