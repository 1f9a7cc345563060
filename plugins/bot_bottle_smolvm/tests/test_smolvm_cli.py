"""The plugin's typed smolvm calls, against the real CLI where no VM must boot and
against the contract fake where one must."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_bottle_smolvm.binary import bundled_binary
from bot_bottle_smolvm.smolvm_cli import (
    MachineNotFound,
    Smolvm,
    SmolvmError,
    machine_from_json,
)
from bot_bottle_testing.fake_smolvm import install_fake_smolvm
from bot_bottle_testing.fake_smolvm_store import set_fault

LABELS = {"bot-bottle.backend": "smolvm", "bot-bottle.slug": "s1"}


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Short enough for smolvm's agent socket path (pytest's tmp_path is not)."""
    path = Path(tempfile.mkdtemp(prefix="svc-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def rootfs(short_dir: Path) -> Path:
    root = short_dir / "rootfs"
    (root / "bin").mkdir(parents=True)
    return root


@pytest.fixture(params=["real", "fake"])
def cli(request, short_dir: Path) -> Smolvm:
    if request.param == "real":
        binary = bundled_binary()
        if binary is None:
            pytest.skip("the smolmachines wheel (the real CLI) is not installed")
        return Smolvm(binary, short_dir / "state")
    return Smolvm(str(install_fake_smolvm(short_dir / "bin")), short_dir / "state")


@pytest.fixture
def fake(short_dir: Path) -> Smolvm:
    return Smolvm(str(install_fake_smolvm(short_dir / "bin")), short_dir / "state")


def test_ls_reads_machines_and_ignores_keys_it_does_not_know(cli: Smolvm, rootfs: Path):
    assert cli.ls() == []
    cli.create("m1", str(rootfs), labels=LABELS, cpus=1, mem_mib=256)
    [m] = cli.ls()
    assert (m.name, m.state, dict(m.labels), m.running) == ("m1", "created", LABELS, False)
    assert isinstance(m.created_at, int)


def test_stop_and_delete_of_a_missing_machine_are_not_errors(cli: Smolvm):
    assert cli.stop("gone") is False
    assert cli.delete("gone") is False


def test_delete_never_stops_at_the_prompt(cli: Smolvm, rootfs: Path):
    """Without -f the CLI asks (or refuses without a terminal); delete always passes -f."""
    cli.create("m1", str(rootfs))
    assert cli.delete("m1") is True
    assert cli.ls() == []


def test_start_of_a_missing_machine_says_so(cli: Smolvm):
    with pytest.raises(MachineNotFound, match="vm not found: nope"):
        cli.start("nope")


def test_a_failure_names_the_call_and_the_cli_s_reason(cli: Smolvm, rootfs: Path):
    cli.create("m1", str(rootfs))
    with pytest.raises(SmolvmError, match=r"`smolvm machine create` failed: .*already exists"):
        cli.create("m1", str(rootfs))


def test_exec_runs_as_the_user_in_the_workdir_with_the_env(fake: Smolvm, rootfs: Path):
    fake.create("m1", str(rootfs))
    fake.start("m1")
    done = fake.exec(
        "m1", ["sh", "-c", 'echo "$GREETING $(id -un)"'], env={"GREETING": "hi"}, user="root"
    )
    assert (done.returncode, done.stdout) == (0, b"hi root\n")


def test_exec_passes_the_command_s_exit_code_through(fake: Smolvm, rootfs: Path):
    fake.create("m1", str(rootfs))
    fake.start("m1")
    assert fake.exec("m1", ["sh", "-c", "exit 3"]).returncode == 3


def test_an_exec_killed_once_is_run_again(fake: Smolvm, rootfs: Path, short_dir: Path):
    fake.create("m1", str(rootfs))
    fake.start("m1")
    set_fault(short_dir / "state", "exec-137", times=1)
    done = fake.exec("m1", ["echo", "second try"])
    assert (done.returncode, done.stdout) == (0, b"second try\n")


def test_an_exec_killed_twice_is_not_run_a_third_time(fake: Smolvm, rootfs, short_dir: Path):
    fake.create("m1", str(rootfs))
    fake.start("m1")
    set_fault(short_dir / "state", "exec-137", times=2)
    marker = short_dir / "ran"
    done = fake.exec("m1", ["touch", str(marker)])
    assert done.returncode == 137 and not marker.exists()
    assert fake.exec("m1", ["true"]).returncode == 0  # the fault is spent: two calls, no more


def test_an_exec_timeout_is_given_with_its_unit(fake: Smolvm, rootfs: Path):
    fake.create("m1", str(rootfs))
    fake.start("m1")
    assert fake.exec("m1", ["sleep", "30"], timeout=1).returncode == 124


def test_exec_in_a_missing_machine_is_not_found(cli: Smolvm):
    with pytest.raises(MachineNotFound):
        cli.exec("nope", ["true"])


def test_a_listing_row_without_a_name_is_refused():
    with pytest.raises(ValueError):
        machine_from_json({"state": "running"})
    m = machine_from_json({"name": "x", "state": "running", "labels": None, "cpus": 4})
    assert m.running and dict(m.labels) == {}


def test_a_cli_that_is_not_smolvm_is_named(short_dir: Path):
    liar = short_dir / "liar"
    liar.write_text(f"#!{sys.executable}\nprint('hello')\n")
    liar.chmod(0o755)
    with pytest.raises(SmolvmError, match="not a list of machines"):
        Smolvm(str(liar)).ls()
