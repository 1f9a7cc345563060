"""Which smolvm machines are bottles, which are leftovers, and removing them: real CLI
for machines that never boot, the contract fake for running ones."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_bottle_smolvm import listing, names
from bot_bottle_smolvm.binary import bundled_binary
from bot_bottle_smolvm.leases import Leases
from bot_bottle_smolvm.smolvm_cli import Machine, Smolvm
from bot_bottle_testing.fake_smolvm import install_fake_smolvm

from bot_bottle_core.plan import CleanupItem


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="svl-", dir="/tmp"))
    path.chmod(0o755)
    (path / "rootfs" / "bin").mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def real(short_dir: Path) -> Smolvm:
    binary = bundled_binary()
    if binary is None:
        pytest.skip("the smolmachines wheel (the real CLI) is not installed")
    return Smolvm(binary, short_dir / "state")


@pytest.fixture
def fake(short_dir: Path) -> Smolvm:
    return Smolvm(str(install_fake_smolvm(short_dir / "bin")), short_dir / "state")


@pytest.fixture
def leases(short_dir: Path) -> Leases:
    return Leases(short_dir / "leases", base_port=44200)


def bottle(cli: Smolvm, root: Path, slug: str, home: str | None = "h1", **extra) -> str:
    name = names.machine(slug)
    labels = names.labels(slug, "claude", label=None, started_at="2026-12-03T10:00", home=home)
    cli.create(name, str(root / "rootfs"), labels={**labels, **extra})
    return name


def test_only_this_backend_s_running_machines_are_active(fake: Smolvm, short_dir: Path):
    fake.start(bottle(fake, short_dir, "run1"))
    bottle(fake, short_dir, "created-only")  # never started: not a running bottle
    fake.create("users-own", str(short_dir / "rootfs"), labels={"owner": "me"})
    fake.start("users-own")
    fake.start(bottle(fake, short_dir, "other", **{names.LABEL_BACKEND: "docker"}))
    [b] = listing.active_bottles(fake.ls())
    assert (b.backend, b.slug, b.agent, b.started_at) == (
        "smolvm",
        "run1",
        "claude",
        "2026-12-03T10:00",
    )


def test_leftovers_spare_live_kept_foreign_and_other_homes(real: Smolvm, short_dir, leases):
    bottle(real, short_dir, "left")
    bottle(real, short_dir, "live")
    bottle(real, short_dir, "kept")
    bottle(real, short_dir, "theirs", home="h2")
    bottle(real, short_dir, "old", home=None)  # made before homes were labelled: any home's
    real.create("users-own", str(short_dir / "rootfs"))
    items = listing.leftovers(
        real.ls(), leases, frozenset({"live"}), frozenset({"kept"}), home="h1"
    )
    assert sorted((i.kind, i.name, i.slug) for i in items) == [
        ("machine", "bb-left", "left"),
        ("machine", "bb-old", "old"),
    ]
    every_home = listing.leftovers(real.ls(), leases, frozenset(), frozenset(), home=None)
    assert {i.name for i in every_home} == {"bb-left", "bb-live", "bb-kept", "bb-theirs", "bb-old"}


def _crashed_start(root: str) -> None:
    Leases(Path(root), base_port=44200).allocate("crashed", home="h1")
    os._exit(1)


def test_leases_of_crashed_and_finished_starts_are_leftovers(real, short_dir, leases):
    leases.allocate("starting", home="h1")  # this process: a start still under way
    leases.allocate("done", home="h1")
    leases.bind("done")  # its bottle ran and is gone now (not live)
    leases.allocate("live", home="h1")
    leases.bind("live")
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_crashed_start, args=(str(leases.root),))
    p.start()
    p.join(60)  # last: the next allocation would take its slot back by itself
    items = listing.leftovers(real.ls(), leases, frozenset({"live"}), frozenset(), None)
    assert sorted(i.slug for i in items) == ["crashed", "done"]


def test_cleanup_removes_machines_then_leases_and_says_each(real, short_dir, leases):
    bottle(real, short_dir, "left")
    leases.allocate("left", home="h1")
    leases.bind("left")
    items = listing.leftovers(real.ls(), leases, frozenset(), frozenset(), None)
    said: list[str] = []
    outcomes = listing.remove(real, leases, items, said.append)
    assert all(o.ok for o in outcomes) and len(outcomes) == 2
    assert real.ls() == [] and leases.held() == []
    assert said == ["removing smolvm machine bb-left", "removing smolvm port lease 0"]


def test_a_machine_gone_before_cleanup_counts_as_removed(real: Smolvm, leases):
    item = CleanupItem("smolvm", "machine", "bb-vanished", "vanished")
    [outcome] = listing.remove(real, leases, [item], lambda _: None)
    assert outcome.ok


def test_one_failed_removal_does_not_stop_the_rest(fake: Smolvm, short_dir, leases):
    bottle(fake, short_dir, "a")
    bottle(fake, short_dir, "b")
    leases.allocate("a", home="h1")
    leases.bind("a")
    items = listing.leftovers(fake.ls(), leases, frozenset(), frozenset(), None)
    broken = short_dir / "broken"
    broken.write_text(
        '#!/bin/sh\necho \'{"error":{"code":"SMOLVM_ERROR","message":"disk full"}}\' >&2\nexit 1\n'
    )
    broken.chmod(0o755)
    flaky = Smolvm(str(broken), fake.state_dir)
    outcomes = listing.remove(flaky, leases, [*items, CleanupItem("smolvm", "x", "y")], print)
    assert [o.ok for o in outcomes] == [False, False, False, False]
    assert "disk full" in (outcomes[0].error or "")
    # The machine is still there: its ports stay leased, or the next bottle would share them.
    assert "machine of a is still there" in (outcomes[2].error or "")
    assert [x.slug for x in leases.held()] == ["a"]


@pytest.mark.parametrize("state", ["running", "unreachable", "frozen", "paused", "new-state"])
def test_a_machine_that_may_still_run_is_a_live_bottle(state):
    labels = names.labels("x", "claude", label=None, started_at="t", home="h1")
    assert [b.slug for b in listing.active_bottles([Machine("bb-x", state, labels)])] == ["x"]


@pytest.mark.parametrize("state", ["created", "stopped", "failed"])
def test_a_machine_without_a_vm_is_not_a_live_bottle(state):
    labels = names.labels("x", "claude", label=None, started_at="t", home="h1")
    assert listing.active_bottles([Machine("bb-x", state, labels)]) == []


def test_leases_of_kept_bottles_and_other_homes_are_not_leftovers(real, leases):
    for slug, home in (("kept", "h1"), ("theirs", "h2"), ("mine", "h1")):
        leases.allocate(slug, home=home)
        leases.bind(slug)
    items = listing.leftovers(real.ls(), leases, frozenset(), frozenset({"kept"}), "h1")
    assert [i.slug for i in items] == ["mine"]
    every_home = listing.leftovers(real.ls(), leases, frozenset(), frozenset({"kept"}), None)
    assert sorted(i.slug for i in every_home) == ["mine", "theirs"]
