"""`bot-bottle start --backend smolvm` on a host where no VM can boot (this one: the
real CLI from the smolmachines wheel, whose VMM cannot run a guest here): one clear
error, and nothing left of the attempt: no machine, no bundle container or network,
no port lease, no image archive, no state directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_bottle_smolvm.binary import bundled_binary
from bot_bottle_smolvm.leases import Leases
from bot_bottle_smolvm.smolvm_cli import Smolvm

pytestmark = pytest.mark.docker


@pytest.fixture
def smolvm_dir() -> Iterator[Path]:
    # Short: smolvm's sockets live under its state dir (107-byte limit).
    path = Path(tempfile.mkdtemp(prefix="svs-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_start_whose_vm_cannot_boot_leaves_nothing(bottle_env, docker_client, smolvm_dir):
    binary = bundled_binary()
    if binary is None:
        pytest.skip("the smolmachines wheel (the real CLI) is not installed")
    real = Smolvm(binary, smolvm_dir / "state")
    leases = Leases(smolvm_dir / "leases")
    state = bottle_env.home / "state"
    before = set(os.listdir(state)) if state.exists() else set()
    bottle_env.env.update(
        BOT_BOTTLE_SMOLVM_STATE_DIR=str(real.state_dir),
        BOT_BOTTLE_SMOLVM_LEASES=str(leases.root),
    )
    try:
        r = bottle_env.run("start", "probe", "--backend", "smolvm", "--yes")
    finally:
        del bottle_env.env["BOT_BOTTLE_SMOLVM_STATE_DIR"]
        del bottle_env.env["BOT_BOTTLE_SMOLVM_LEASES"]
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "The microVM of probe-" in r.stderr and "did not start" in r.stderr, r.stderr
    assert "`smolvm machine start` failed" in r.stderr
    assert "creating the microVM" in r.stderr  # it got that far, and undid it all
    assert real.ls() == []
    assert leases.held() == []
    mine = {"label": ["bot-bottle.backend=smolvm"]}
    assert docker_client.containers.list(all=True, filters=mine) == []
    assert docker_client.networks.list(filters=mine) == []
    after = set(os.listdir(state)) if state.exists() else set()
    assert after == before


@pytest.mark.parametrize("fault", [None, "exec-137", "create-fails"])
def test_a_start_on_a_vm_that_boots_stops_before_handing_over_and_leaves_nothing(
    bottle_env, docker_client, smolvm_dir, fault
):
    """The contract fake boots: the launch gets past start and guest readiness (an exec
    killed once is retried), then refuses to hand over a bottle whose boundary it cannot
    prove, and undoes everything; a create that fails half-way is undone as well."""
    from bot_bottle_testing.fake_smolvm import install_fake_smolvm, set_fault

    fake = Smolvm(str(install_fake_smolvm(smolvm_dir / "bin")), smolvm_dir / "state")
    leases = Leases(smolvm_dir / "leases")
    if fault is not None:
        set_fault(fake.state_dir, fault, times=1)
    state = bottle_env.home / "state"
    before = set(os.listdir(state)) if state.exists() else set()
    extra = {
        "BOT_BOTTLE_SMOLVM_STATE_DIR": str(fake.state_dir),
        "BOT_BOTTLE_SMOLVM_LEASES": str(leases.root),
        "PATH": f"{smolvm_dir / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    saved = dict(bottle_env.env)
    bottle_env.env.update(extra)
    try:
        r = bottle_env.run("start", "probe", "--backend", "smolvm", "--yes")
    finally:
        bottle_env.env.clear()
        bottle_env.env.update(saved)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    if fault == "create-fails":
        assert "`smolvm machine create` failed" in r.stderr, r.stderr
    else:
        assert "cannot prove a bottle's boundary from inside a VM yet" in r.stderr, r.stderr
        assert "starting the microVM" in r.stderr
    assert fake.ls() == []
    assert leases.held() == []
    mine = {"label": ["bot-bottle.backend=smolvm"]}
    assert docker_client.containers.list(all=True, filters=mine) == []
    assert docker_client.networks.list(filters=mine) == []
    assert (set(os.listdir(state)) if state.exists() else set()) == before


def test_a_dry_run_plans_on_smolvm_and_makes_nothing(bottle_env, docker_client, smolvm_dir):
    leases = Leases(smolvm_dir / "leases")
    state = bottle_env.home / "state"
    before = set(os.listdir(state)) if state.exists() else set()
    saved = dict(bottle_env.env)
    bottle_env.env.update(
        BOT_BOTTLE_SMOLVM_STATE_DIR=str(smolvm_dir / "state"),
        BOT_BOTTLE_SMOLVM_LEASES=str(leases.root),
    )
    try:
        r = bottle_env.run("start", "probe", "--backend", "smolvm", "--dry-run")
    finally:
        bottle_env.env.clear()
        bottle_env.env.update(saved)
    assert r.returncode == 0, r.stderr
    plan = r.stdout + r.stderr
    assert "backend     smolvm" in plan and "runtime     microVM" in plan, plan
    assert "smolvm CLI" in plan
    assert not leases.root.exists() or leases.held() == []
    assert not (smolvm_dir / "state").exists()
    assert (set(os.listdir(state)) if state.exists() else set()) == before
