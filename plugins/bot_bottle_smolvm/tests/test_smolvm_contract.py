"""The smolvm CLI contract: the same calls against the real CLI and the fake give the same answers.

Each contract test runs once against the real CLI from the ``smolmachines``
wheel and once against :mod:`bot_bottle_testing.fake_smolvm` (configured as
this host is: no VM boots), and asserts the exact exit code and output, so
the fake cannot drift from the real one. ``test_same_transcript`` runs a whole
session on both and compares the transcripts. Below those, the fake's own
boot-dependent behaviour (exec pass-through, faults) that the real CLI cannot
show here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from bot_bottle_testing.fake_smolvm import install_fake_smolvm, set_fault
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


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A state dir short enough for smolvm's Unix sockets (pytest's tmp_path is not)."""
    path = Path(tempfile.mkdtemp(prefix="smolvm-", dir="/tmp"))
    path.chmod(0o755)  # an image directory under it must be reachable by the VMM's own uid
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["real", "fake"])
def smolvm(request: pytest.FixtureRequest, short_dir: Path) -> Smolvm:
    return make_smolvm(request.param, short_dir / request.param)


@pytest.fixture
def fake(short_dir: Path) -> Smolvm:
    """The fake with VMs that boot (no fault on), for the boot-dependent paths."""
    cli = make_smolvm("fake", short_dir / "fake")
    env = {k: v for k, v in cli.env.items() if k != BOOT_FAILS_ENV}
    return attrs.evolve(cli, env=env)


@pytest.fixture
def rootfs(short_dir: Path) -> Path:
    """An unpacked root file system directory, the cheapest local image."""
    root = short_dir / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("bottle\n")
    return root


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


def test_version(smolvm: Smolvm) -> None:
    assert smolvm.run("--version", state=False) == ok("smolvm 1.32.2\n")


def test_ls_with_no_machines(smolvm: Smolvm) -> None:
    assert smolvm.run("machine", "ls", "--json") == ok("[]\n")
    assert smolvm.run("machine", "ls") == ok("No machines found\n")
    assert smolvm.run("machine", "ls", "-q") == ok("")


MISSING_CALLS = [
    ["machine", "start", "-n", "nope"],
    ["machine", "stop", "-n", "nope"],
    ["machine", "delete", "-n", "nope"],
    ["machine", "delete", "-n", "nope", "-f"],
    ["machine", "status", "-n", "nope"],
    ["machine", "exec", "--name", "nope", "--", "true"],
    ["machine", "cp", "/etc/hostname", "nope:/tmp/x"],
    ["machine", "cp", "nope:/tmp/x", "out"],
]


@pytest.mark.parametrize("call", MISSING_CALLS, ids=lambda c: " ".join(c[1:3]))
def test_a_missing_machine_is_not_found(smolvm: Smolvm, call: list[str]) -> None:
    assert smolvm.run(*call) == err("vm not found: nope")
    assert smolvm.run("--error-format", "json", *call) == json_err(
        "NOT_FOUND", "vm not found: nope"
    )


def test_global_options_after_the_subcommand(smolvm: Smolvm) -> None:
    done = smolvm.run(
        "machine", "stop", "-n", "nope", f"--state-dir={smolvm.state_dir}",
        "--error-format", "json", state=False,
    )  # fmt: skip
    assert done == json_err("NOT_FOUND", "vm not found: nope")


def test_status_json_of_a_missing_machine(smolvm: Smolvm) -> None:
    message = "config operation failed: machine status: machine 'nope' not found"
    assert smolvm.run("machine", "status", "-n", "nope", "--json") == err(message)
    assert smolvm.run(
        "--error-format", "json", "machine", "status", "-n", "nope", "--json"
    ) == json_err("CONFIG_ERROR", message)


def test_create_then_ls_json(smolvm: Smolvm, rootfs: Path) -> None:
    done = smolvm.run(
        "machine", "create", "-n", "m1", "--label", "bot-bottle.slug=s1", "--label", "a=b",
        "-I", f"{rootfs}/", "--cpus", "2", "--mem", "512", "--net", "-e", "FOO=bar",
        "-p", "18080:80", "-v", f"{rootfs}:/data", "--", "sleep", "100",
    )  # fmt: skip
    assert done == ok(created("m1", 2, 512, "  Mounts: 1\n  Ports: 1\n"))
    [machine] = listing(smolvm)
    assert set(machine) == LISTING_KEYS
    assert {k: machine[k] for k in ("name", "state", "cpus", "memory_mib", "pid", "network")} == {
        "name": "m1", "state": "created", "cpus": 2, "memory_mib": 512, "pid": None,
        "network": True,
    }  # fmt: skip
    assert machine["labels"] == {"a": "b", "bot-bottle.slug": "s1"}
    assert machine["image"] == f"local-dir:{os.path.realpath(rootfs)}"
    assert (machine["cmd"], machine["mounts"], machine["ports"]) == (["sleep", "100"], 1, 1)
    assert isinstance(machine["created_at"], int)
    assert smolvm.run("machine", "status", "-n", "m1") == ok("Machine 'm1': created\n")
    assert json.loads(smolvm.run("machine", "status", "-n", "m1", "--json").stdout) == machine


def test_create_from_a_docker_save_archive(smolvm: Smolvm, tmp_path: Path) -> None:
    archive = docker_save_archive(tmp_path / "tiny.tar")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert smolvm.run("machine", "create", "-n", "t1", "-I", str(archive)) == ok(created("t1"))
    piped = smolvm.run("machine", "create", "-n", "t2", "-I", "-", input=archive.read_bytes())
    assert piped == ok(created("t2"))
    assert [(m["name"], m["image"], m["network"]) for m in listing(smolvm)] == [
        ("t1", f"local:{digest}", False),
        ("t2", f"local:{digest}", False),
    ]


def test_create_keeps_a_registry_reference_as_written(smolvm: Smolvm) -> None:
    assert smolvm.run("machine", "create", "-n", "r1", "-I", "alpine:3") == ok(created("r1"))
    assert [m["image"] for m in listing(smolvm)] == ["alpine:3"]


def test_egress_options(smolvm: Smolvm, rootfs: Path) -> None:
    done = smolvm.run(
        "machine", "create", "-n", "e1", "-I", str(rootfs), "--allow-cidr", "10.0.0.0/8",
        "--allow-host", "localhost", "--outbound-localhost-only",
    )  # fmt: skip
    assert done == ok(created("e1"))
    [machine] = listing(smolvm)
    assert set(machine) == LISTING_KEYS | {"allowed_cidrs", "allowed_hosts"}
    assert machine["allowed_cidrs"] == ["10.0.0.0/8", "127.0.0.1/32", "127.0.0.0/8", "::1/128"]
    assert (machine["allowed_hosts"], machine["network"]) == (["localhost"], True)


def test_create_refusals(smolvm: Smolvm, rootfs: Path, tmp_path: Path) -> None:
    def create(*args: str) -> Result:
        return smolvm.run("machine", "create", *args)

    assert create("-n", "d1", "-I", str(rootfs)).code == 0
    assert create("-n", "d1", "-I", str(rootfs)) == err(
        "config operation failed: create machine: machine 'd1' already exists or is being created"
    )
    assert smolvm.run("--error-format", "json", "machine", "create", "-n", "d1").code == 1
    bad_names = {
        "a b": "machine name contains invalid character: ' '",
        "a.b": "machine name contains invalid character: '.'",
        "a/b": "machine name cannot contain path separators",
        "..": 'machine name must start with a letter or digit (got: "..")',
        "": "machine name cannot be empty",
        "y" * 129: "machine name too long: 129 characters (max 128)",
    }
    for name, problem in bad_names.items():
        assert create("-n", name, "-I", str(rootfs)) == err(
            f"config operation failed: create machine: {problem}"
        ), name
    assert create("-n", "l1", "-I", str(rootfs), "--label", "foo") == err(
        "config operation failed: --label: expected KEY=VALUE, got 'foo'"
    )
    missing = tmp_path / "missing.tar"
    assert create("-n", "i1", "-I", str(missing)) == err(
        f"config operation failed: --image: cannot read archive {missing}: "
        "No such file or directory (os error 2)"
    )
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    refused = create("-n", "i2", "-I", str(tmp_path / "Dockerfile"))
    assert refused.code == 1
    assert refused.stderr.startswith(
        f"Error: config operation failed: --image: {tmp_path}/Dockerfile looks like a Dockerfile"
    )
    assert smolvm.run(
        "--error-format", "json", "machine", "create", "-n", "v1", "-I", str(rootfs),
        "-v", "nocolon",
    ) == json_err(
        "MOUNT_ERROR",
        "invalid mount path: invalid format 'nocolon' (expected host:guest[:ro|:rw|:staged])",
    )  # fmt: skip
    assert smolvm.run(
        "--error-format", "json", "machine", "create", "-n", "v2", "-I", str(rootfs),
        "-v", "/nonexistent-dir:/data",
    ) == json_err("NOT_FOUND", "mount source not found: /nonexistent-dir")  # fmt: skip
    assert [m["name"] for m in listing(smolvm)] == ["d1"]


@pytest.mark.parametrize(
    "args",
    [
        ["machine", "create", "-n", "u1", "--cpus", "x"],
        ["machine", "create", "-n", "u1", "stray"],
        ["machine", "create", "-n", "u1", "-p", "abc"],
        ["machine", "exec", "--name", "u1", "--timeout", "5", "--", "true"],
        ["machine", "exec", "-n", "u1", "--", "true"],
        ["machine", "exec", "--name", "u1"],
        ["--error-format", "yaml", "machine", "ls"],
    ],
    ids=["cpus", "positional", "port", "timeout-unit", "exec-short-name", "no-command", "format"],
)
def test_usage_errors_exit_2(smolvm: Smolvm, args: list[str]) -> None:
    done = smolvm.run(*args)
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr.startswith("error: ")
    assert done.stderr.endswith("For more information, try '--help'.\n")


def test_a_created_machine_is_not_running(smolvm: Smolvm, rootfs: Path) -> None:
    smolvm.run("machine", "create", "-n", "c1", "-I", str(rootfs))
    assert smolvm.run("machine", "stop", "-n", "c1") == ok(
        "Machine 'c1' is not running (state: created)\n"
    )
    for call in (
        ["machine", "exec", "--name", "c1", "--", "true"],
        ["machine", "exec", "--name", "c1", "-e", "A=1", "-w", "/tmp", "-i", "true"],
        ["machine", "cp", "/etc/hostname", "c1:/tmp/x"],
        ["machine", "cp", "c1:/tmp/x", "out"],
    ):
        assert smolvm.run(*call) == Result(1, "", NOT_RUNNING.format("c1")), call
    assert smolvm.run("machine", "cp", "a", "b") == err(
        "config operation failed: cp: one of SRC or DST must use machine:path syntax "
        "(e.g., myvm:/workspace/file)"
    )


def test_delete_without_force(smolvm: Smolvm, rootfs: Path) -> None:
    smolvm.run("machine", "create", "-n", "p1", "-I", str(rootfs))
    message = (
        "agent operation failed: delete: machine 'p1' needs confirmation but stdin is not a "
        "terminal; pass --force to delete it, or --cascade to remove it together with any "
        "machines branched from it"
    )
    assert smolvm.run("machine", "delete", "-n", "p1") == err(message)
    assert smolvm.run("--error-format", "json", "machine", "delete", "-n", "p1") == json_err(
        "SMOLVM_ERROR", message
    )
    for answer in (b"\x04", b"n\n"):  # EOF on a terminal, then a plain no
        assert delete_on_a_terminal(smolvm, "p1", answer) == Result(
            0, "Cancelled\n", "Delete machine 'p1'? [y/N] "
        )
    assert [m["name"] for m in listing(smolvm)] == ["p1"]
    assert smolvm.run("machine", "delete", "-n", "p1", "-f") == ok("Deleted machine: p1\n")
    assert smolvm.run("machine", "ls", "--json") == ok("[]\n")


def delete_on_a_terminal(smolvm: Smolvm, name: str, answer: bytes) -> Result:
    controller, terminal = os.openpty()
    try:
        os.write(controller, answer)
        return smolvm.run("machine", "delete", "-n", name, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)


def test_start_fails_as_on_a_host_that_cannot_boot(smolvm: Smolvm, rootfs: Path) -> None:
    smolvm.run("machine", "create", "-n", "b1", "-I", str(rootfs), "-v", f"{rootfs}:/data")
    done = smolvm.run("machine", "start", "-n", "b1")
    assert (done.code, done.stdout) == (1, "")
    starting, warning, error = done.stderr.splitlines(keepends=True)
    assert starting == "Starting machine 'b1' with 1 mount(s)...\n"
    assert re.fullmatch(
        r"\x1b\[2m\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\x1b\[0m \x1b\[33m WARN\x1b\[0m VMM "
        r"exited with code 1 \x1b\[3mpid\x1b\[0m\x1b\[2m=\x1b\[0m\d+ "
        r"\x1b\[3mcause\x1b\[0m\x1b\[2m=\x1b\[0mExited\n",
        warning,
    ), warning
    assert error == BOOT_FAILURE
    [machine] = listing(smolvm)
    assert (machine["state"], machine["pid"]) == ("created", None)
    assert set(machine) == LISTING_KEYS | {"last_exit"}
    assert smolvm.run("machine", "status", "-n", "b1") == ok(
        "Machine 'b1': created\n  last exit: VMM exited with code 1\n"
    )
    assert smolvm.run("machine", "stop", "-n", "b1") == ok(
        "Machine 'b1' is not running (state: created)\n"
    )
    assert smolvm.run("machine", "delete", "-n", "b1", "-f") == ok(
        "Cleaning up data directory for vm: b1\nDeleted machine: b1\n"
    )


@pytest.mark.parametrize("kind", ["real", "fake"])
def test_start_fails_when_the_state_dir_is_too_long(kind: str, rootfs: Path) -> None:
    # The machine's agent socket lives under the state dir; a Unix socket path has 107 bytes.
    state_dir = rootfs.parent / ("long-state-dir-" + "x" * 40)
    smolvm = make_smolvm(kind, state_dir)
    smolvm.run("machine", "create", "-n", "b2", "-I", str(rootfs))
    done = smolvm.run("machine", "start", "-n", "b2")
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr.startswith("Starting machine 'b2'...\n")
    socket = re.escape(str(state_dir)) + r"/\.cache/smolvm/vms/[0-9a-f]{16}/agent\.sock"
    size = len(str(state_dir)) + len("/.cache/smolvm/vms/0123456789abcdef/agent.sock")
    assert re.search(
        r"\nError: agent operation failed: start machine: agent operation failed: monitor agent: "
        r"Error: agent operation failed: add vsock port: socket path is "
        rf"{size} bytes, over the 107-byte limit for Unix sockets on this host: {socket}\. "
        r"smolvm keeps machine sockets under your cache directory, so run it with a shorter "
        r"HOME \(or XDG_CACHE_HOME on Linux\) \(boot process exited \(code 1\) before the "
        r"agent was ready\)\n$",
        done.stderr,
    ), done.stderr
    assert [m["state"] for m in listing(smolvm)] == ["created"]


def test_start_fails_when_the_vmm_cannot_reach_the_image_dir(
    smolvm: Smolvm, tmp_path: Path
) -> None:
    # pytest's tmp_path is under a 0700 directory; the VMM runs under its own uid.
    hidden = tmp_path / "rootfs"
    (hidden / "etc").mkdir(parents=True)
    smolvm.run("machine", "create", "-n", "b3", "-I", str(hidden))
    done = smolvm.run("machine", "start", "-n", "b3")
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr.startswith("Starting machine 'b3'...\n")
    assert done.stderr.endswith(
        "\nError: agent operation failed: start machine: agent operation failed: monitor "
        "agent: Error: agent operation failed: add packed layers virtiofs: packed layers "
        f"directory not found at {hidden}: this machine's layers volume is not mounted, so "
        "the guest cannot use its bundled image and an offline run would fail. Restart the "
        "machine, or re-create it from the .smolmachine bundle. (boot process exited (code 1) "
        "before the agent was ready)\n"
    )


SESSION = [
    ["machine", "ls"],
    ["machine", "create", "-n", "s1", "-I", "{rootfs}", "--label", "k=v", "-p", "8080:80"],
    ["machine", "create", "-n", "s2", "-I", "{rootfs}/", "--net", "--", "sh", "-c", "true"],
    ["machine", "create", "-n", "S0", "-I", "{rootfs}", "--outbound-localhost-only"],
    ["machine", "ls"],
    ["machine", "ls", "--json"],
    ["machine", "ls", "-q"],
    ["machine", "status", "-n", "s1", "--json"],
    ["machine", "stop", "-n", "s2"],
    ["machine", "delete", "-n", "s1", "-f"],
    ["--error-format", "json", "machine", "exec", "--name", "s2", "--", "true"],
    ["machine", "ls", "--json"],
]


def test_same_transcript(tmp_path: Path, rootfs: Path) -> None:
    """A whole session, every output compared between the two after normalising."""
    transcripts = []
    for kind in ("real", "fake"):
        cli = make_smolvm(kind, tmp_path / f"{kind}-session")
        transcript = []
        for call in SESSION:
            done = cli.run(*(arg.format(rootfs=rootfs) for arg in call))
            transcript.append((call, done.code, _normal(done.stdout), _normal(done.stderr)))
        transcripts.append(transcript)
    real, fake = transcripts
    for real_step, fake_step in zip(real, fake, strict=True):
        assert fake_step == real_step


def _normal(text: str) -> str:
    # Only what differs from run to run: the creation time.
    return re.sub(r'"created_at": \d+', '"created_at": 0', text)


# --- the fake alone: what needs a VM that boots ------------------------------------------


def test_fake_start_exec_stop(fake: Smolvm, rootfs: Path) -> None:
    fake.run("machine", "create", "-n", "f1", "-I", str(rootfs))
    started = fake.run("machine", "start", "-n", "f1")
    assert started.code == 0 and started.stderr == "Starting machine 'f1'...\n"
    pid = re.fullmatch(r"Machine 'f1' running \(PID: (\d+)\)\n", started.stdout)
    assert pid, started
    assert fake.run("machine", "start", "-n", "f1") == ok(
        f"Machine 'f1' already running (PID: {pid[1]})\n"
    )
    [machine] = listing(fake)
    assert (machine["state"], machine["pid"]) == ("running", int(pid[1]))
    assert fake.run("machine", "status", "-n", "f1") == ok(
        f"Machine 'f1': running (PID: {pid[1]})\n"
    )

    done = fake.run(
        "machine", "exec", "--name", "f1", "-e", "GREETING=hi", "-w", "/workspace", "--",
        "sh", "-c", 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 7',
    )  # fmt: skip
    root = fake.state_dir / "fake-smolvm-machines" / "f1" / "root"
    assert done == Result(7, f"hi from {root}/workspace\n", "oops\n")
    timed_out = fake.run(
        "machine", "exec", "--name", "f1", "--timeout", "300ms", "--", "sleep", "30"
    )
    assert timed_out == Result(124, "", "\ncommand timed out after 300ms")

    assert fake.run("machine", "stop", "-n", "f1") == ok(
        "Stopping machine 'f1'...\nStopped machine: f1\n"
    )
    assert fake.run("machine", "stop", "-n", "f1") == ok(
        "Machine 'f1' is not running (state: stopped)\n"
    )
    assert fake.run("machine", "exec", "--name", "f1", "--", "true") == Result(
        1, "", NOT_RUNNING.format("f1")
    )
    assert fake.run("machine", "delete", "-n", "f1", "-f") == ok(
        "Cleaning up data directory for vm: f1\nDeleted machine: f1\n"
    )
    assert not root.exists()


def test_fake_delete_of_a_running_machine_stops_it(fake: Smolvm, rootfs: Path) -> None:
    fake.run("machine", "create", "-n", "f2", "-I", str(rootfs))
    fake.run("machine", "start", "-n", "f2")
    assert fake.run("machine", "delete", "-n", "f2", "-f") == ok(
        "Stopping machine 'f2'...\nCleaning up data directory for vm: f2\nDeleted machine: f2\n"
    )


def test_fake_cp_both_ways(fake: Smolvm, rootfs: Path, tmp_path: Path) -> None:
    fake.run("machine", "create", "-n", "f3", "-I", str(rootfs))
    fake.run("machine", "start", "-n", "f3")
    source = tmp_path / "in.txt"
    source.write_text("payload\n")
    assert fake.run("machine", "cp", str(source), "f3:/workspace/in.txt") == ok("")
    seen = fake.run("machine", "exec", "--name", "f3", "-w", "/workspace", "--", "cat", "in.txt")
    assert seen == ok("payload\n")
    back = tmp_path / "back.txt"
    assert fake.run("machine", "cp", "f3:/workspace/in.txt", str(back)) == ok("")
    assert back.read_text() == "payload\n"


def test_fake_exec_137_once(fake: Smolvm, rootfs: Path, tmp_path: Path) -> None:
    fake.run("machine", "create", "-n", "f4", "-I", str(rootfs))
    fake.run("machine", "start", "-n", "f4")
    set_fault(fake.state_dir, "exec-137")
    marker = tmp_path / "ran"
    call = ["machine", "exec", "--name", "f4", "--", "touch", str(marker)]
    assert fake.run(*call) == Result(137, "", "")
    assert not marker.exists()  # killed: the command never ran
    assert fake.run(*call) == ok("")
    assert marker.exists()


def test_fake_boot_failure_fault(fake: Smolvm, rootfs: Path) -> None:
    fake.run("machine", "create", "-n", "f5", "-I", str(rootfs))
    set_fault(fake.state_dir, "boot-fails", times=None)
    for _ in range(2):
        failed = fake.run("machine", "start", "-n", "f5")
        assert failed.code == 1 and failed.stderr.endswith(BOOT_FAILURE)
    assert [m["state"] for m in listing(fake)] == ["created"]


def test_fake_create_fails_half_way(fake: Smolvm, rootfs: Path) -> None:
    set_fault(fake.state_dir, "create-fails")
    done = fake.run("machine", "create", "-n", "f6", "-I", str(rootfs), "--label", "x=y")
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr.startswith("Error: ")
    [machine] = listing(fake)
    assert (machine["name"], machine["state"], machine["labels"]) == ("f6", "created", {"x": "y"})
    assert fake.run("machine", "create", "-n", "f7", "-I", str(rootfs)) == ok(created("f7"))


def test_fake_parallel_creates_keep_every_machine(fake: Smolvm, rootfs: Path) -> None:
    results: list[Result] = []

    def create(n: int) -> None:
        results.append(fake.run("machine", "create", "-n", f"p{n}", "-I", str(rootfs)))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.code for r in results] == [0] * 10
    assert sorted(m["name"] for m in listing(fake)) == sorted(f"p{n}" for n in range(10))


def test_fake_needs_a_state_dir(fake: Smolvm) -> None:
    done = fake.run("machine", "ls", "--json", state=False)
    assert (
        done.code == 1 and "--state-dir" in done.stderr and "SMOLVM_FAKE_STATE_DIR" in done.stderr
    )


def test_install_fake_smolvm_puts_a_smolvm_on_path(fake: Smolvm, tmp_path: Path) -> None:
    shim = install_fake_smolvm(tmp_path / "bin")
    assert shim == tmp_path / "bin" / "smolvm" and os.access(shim, os.X_OK)
    env = {**fake.env, "PATH": f"{shim.parent}:{fake.env['PATH']}",
           "SMOLVM_FAKE_STATE_DIR": str(fake.state_dir)}  # fmt: skip
    for args in (["--version"], ["machine", "ls", "--json"]):
        done = subprocess.run(["smolvm", *args], env=env, capture_output=True, check=False)
        assert done.returncode == 0, done
    assert done.stdout == b"[]\n"
