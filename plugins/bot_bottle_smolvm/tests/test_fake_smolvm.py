"""The fake smolvm's own boot-dependent behaviour (exec pass-through, faults) that the
real CLI cannot show on a host where no VM boots."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

from bot_bottle_testing.fake_smolvm import install_fake_smolvm, set_fault
from bot_bottle_testing.smolvm_contract import (
    BOOT_FAILURE,
    NOT_RUNNING,
    Result,
    Smolvm,
    created,
    listing,
    ok,
)


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
