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
import json
import os
import re
from pathlib import Path

import pytest
from bot_bottle_testing.smolvm_contract import (
    BOOT_FAILURE,
    LISTING_KEYS,
    NOT_RUNNING,
    Result,
    Smolvm,
    created,
    docker_save_archive,
    err,
    json_err,
    listing,
    make_smolvm,
    ok,
)


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
