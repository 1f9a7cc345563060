"""`bot-bottle list active` and a plain `bot-bottle cleanup` reach smolvm bottles
through the core (the contract fake first on PATH stands in for booted VMs)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_bottle_smolvm import names
from bot_bottle_smolvm.smolvm_cli import Smolvm
from bot_bottle_testing.fake_smolvm import install_fake_smolvm

from bot_bottle_core.state import Metadata, home_id, write_metadata


@pytest.fixture
def world() -> Iterator[tuple[Path, Smolvm, dict[str, str]]]:
    root = Path(tempfile.mkdtemp(prefix="svx-", dir="/tmp"))
    root.chmod(0o755)
    (root / "rootfs" / "bin").mkdir(parents=True)
    shim = install_fake_smolvm(root / "bin")
    env = {
        **os.environ,
        "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
        "BOT_BOTTLE_HOME": str(root / "home"),
        "BOT_BOTTLE_PLUGINS": "smolvm",
        "BOT_BOTTLE_SMOLVM_STATE_DIR": str(root / "state"),
        "BOT_BOTTLE_SMOLVM_LEASES": str(root / "leases"),
    }
    yield root, Smolvm(str(shim), root / "state"), env
    shutil.rmtree(root, ignore_errors=True)


def bot_bottle(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot_bottle_core", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def machine(cli: Smolvm, root: Path, slug: str, home: str) -> str:
    name = names.machine(slug)
    labels = names.labels(slug, "claude", label="api", started_at="2026-12-03T10:00", home=home)
    cli.create(name, str(root / "rootfs"), labels=labels)
    return name


def test_list_active_and_a_plain_cleanup_span_the_smolvm_backend(world):
    root, cli, env = world
    state = root / "home" / "state"
    home = home_id(state)
    cli.start(machine(cli, root, "live-aaaaa", home))
    machine(cli, root, "left-bbbbb", home)  # a machine whose bottle went away
    for slug in ("live-aaaaa", "gone-ccccc"):
        (state / slug).mkdir(parents=True)
        write_metadata(state / slug, Metadata(slug, "claude", "smolvm", "claude", "b", "/"))

    listed = bot_bottle(env, "list", "active", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["backend"], r["slug"]) for r in rows] == [("smolvm", "live-aaaaa")]

    done = bot_bottle(env, "cleanup", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[smolvm] machine bb-left-bbbbb" in done.stdout
    assert [m.name for m in cli.ls()] == ["bb-live-aaaaa"]
    # The live smolvm bottle's state is never reaped; the orphan's is.
    assert (state / "live-aaaaa").is_dir(), done.stdout + done.stderr
    assert not (state / "gone-ccccc").exists(), done.stdout + done.stderr


@pytest.mark.docker
def test_bundles_on_docker_are_listed_and_cleaned_up_with_their_machines(
    world, docker_client, base_image
):
    """The cross-reference: a live bottle's running bundle shows as its sidecars and is
    kept; a leftover machine's bundle container and network go with it, and other homes'
    stay."""
    root, cli, env = world
    state = root / "home" / "state"
    home = home_id(state)
    tag = root.name  # unique per test run
    made = []

    def bundle(slug: str, owner: str) -> None:
        labels = {
            names.LABEL_SLUG: slug,
            names.LABEL_BACKEND: "smolvm",
            names.LABEL_HOME: owner,
            "bot-bottle.role": "sidecars",
        }
        net = docker_client.networks.create(f"{tag}-{slug}-out", labels=labels)
        made.append(net.remove)
        c = docker_client.containers.run(
            base_image,
            ["sleep", "infinity"],
            name=f"{tag}-{slug}-sidecars",
            labels=labels,
            network=net.name,
            detach=True,
        )
        made.append(lambda: c.remove(force=True))

    try:
        cli.start(machine(cli, root, "live-aaaaa", home))
        bundle("live-aaaaa", home)
        machine(cli, root, "left-bbbbb", home)
        bundle("left-bbbbb", home)
        bundle("theirs-ccccc", "another-home")

        listed = bot_bottle(env, "list", "active", "--json")
        assert listed.returncode == 0, listed.stderr
        [row] = json.loads(listed.stdout)
        assert (row["slug"], row["services"]) == ("live-aaaaa", ["sidecars"])

        done = bot_bottle(env, "cleanup", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        plan = [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")]
        assert plan == [
            f"[smolvm] container {tag}-left-bbbbb-sidecars",
            f"[smolvm] network {tag}-left-bbbbb-out",
            "[smolvm] machine bb-left-bbbbb",
        ]
        mine = {"label": ["bot-bottle.backend=smolvm"]}
        left = sorted(c.name for c in docker_client.containers.list(all=True, filters=mine))
        assert left == [f"{tag}-live-aaaaa-sidecars", f"{tag}-theirs-ccccc-sidecars"]
        nets = sorted(n.name for n in docker_client.networks.list(filters=mine))
        assert nets == [f"{tag}-live-aaaaa-out", f"{tag}-theirs-ccccc-out"]
        assert [m.name for m in cli.ls()] == ["bb-live-aaaaa"]
    finally:
        for remove in reversed(made):  # what cleanup should have left, or did not remove
            with contextlib.suppress(Exception):
                remove()
