"""Port slots for the bundles: handed out under a lock, taken back from crashed starts."""

from __future__ import annotations

import multiprocessing
import os
import socket
from pathlib import Path

import pytest
from bot_bottle_smolvm.leases import Leases, NoFreeSlot

from bot_bottle_core.errors import BotBottleError

BASE = 43100


def _start(root: str, slug: str, barrier, done, out) -> None:
    barrier.wait(60)  # every start asks at the same moment
    lease = Leases(Path(root), base_port=BASE).allocate(slug, home="h1")
    out.put((slug, lease.slot, lease.ports))
    done.wait(60)  # and is still starting while the others ask


def test_ten_parallel_starts_get_ten_distinct_slots(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier, done, out = ctx.Barrier(10), ctx.Barrier(10), ctx.Queue()
    procs = [
        ctx.Process(target=_start, args=(str(tmp_path), f"b{i}", barrier, done, out))
        for i in range(10)
    ]
    for p in procs:
        p.start()
    got = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    ports = [port for _, _, ps in got for port in ps]
    assert len({slot for _, slot, _ in got}) == 10
    assert len(set(ports)) == 30


def _crash(root: str) -> None:
    Leases(Path(root), base_port=BASE).allocate("crashed", home="h1")
    os._exit(1)  # the start dies before it finishes: no bind, no release


def test_a_crashed_start_gives_its_slot_back(tmp_path):
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_crash, args=(str(tmp_path),))
    p.start()
    p.join(60)
    leases = Leases(tmp_path, base_port=BASE)
    assert [lease.slug for lease in leases.held()] == ["crashed"]
    lease = leases.allocate("next", home="h1")
    assert lease.slot == 0  # the crashed start's slot, taken back
    assert [x.slug for x in leases.held()] == ["next"]


def test_a_running_bottle_keeps_its_slot_after_its_start_exits(tmp_path):
    ctx = multiprocessing.get_context("fork")

    def start_and_finish(root: str) -> None:
        leases = Leases(Path(root), base_port=BASE)
        leases.allocate("running", home="h1")
        leases.bind("running")
        os._exit(0)

    p = ctx.Process(target=start_and_finish, args=(str(tmp_path),))
    p.start()
    p.join(60)
    leases = Leases(tmp_path, base_port=BASE)
    assert leases.allocate("other", home="h1").slot == 1
    assert leases.release("running") is True
    assert leases.release("running") is False
    assert leases.allocate("third", home="h1").slot == 0


def test_ports_in_use_on_the_host_are_skipped(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", BASE + 1))  # slot 0's second port
        busy.listen()
        lease = Leases(tmp_path, base_port=BASE).allocate("a", home="h1")
    assert lease.slot == 1 and BASE + 1 not in lease.ports


def test_one_bottle_never_holds_two_slots(tmp_path):
    leases = Leases(tmp_path, base_port=BASE)
    leases.allocate("a", home="h1")
    with pytest.raises(BotBottleError, match="already holds"):
        leases.allocate("a", home="h1")


def test_an_unreadable_lease_keeps_its_slot_taken(tmp_path):
    leases = Leases(tmp_path, base_port=BASE)
    leases.allocate("a", home="h1")
    (tmp_path / "0.json").write_text("{not json")
    assert leases.allocate("b", home="h1").slot == 1


def test_running_out_of_slots_says_what_to_do(tmp_path):
    leases = Leases(tmp_path, base_port=BASE, slots=2)
    leases.allocate("a", home="h1")
    leases.allocate("b", home="h1")
    with pytest.raises(NoFreeSlot, match="cleanup"):
        leases.allocate("c", home="h1")


def test_a_crashed_start_of_the_same_bottle_does_not_block_its_next_start(tmp_path):
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_crash, args=(str(tmp_path),))
    p.start()
    p.join(60)
    assert Leases(tmp_path, base_port=BASE).allocate("crashed", home="h1").slot == 0


def test_binding_a_lease_that_is_gone_is_an_error(tmp_path):
    leases = Leases(tmp_path, base_port=BASE)
    leases.allocate("a", home="h1")
    leases.release("a")  # as a cleanup run with the start under way would
    with pytest.raises(BotBottleError, match="lease of a is gone"):
        leases.bind("a")


def test_a_leftover_release_spares_a_slot_a_new_start_took_since(tmp_path):
    leases = Leases(tmp_path, base_port=BASE)
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_crash, args=(str(tmp_path),))
    p.start()
    p.join(60)
    [planned] = leases.held()  # cleanup plans to give the crashed start's slot back
    new = leases.allocate("new", home="h1")  # meanwhile a start reclaims it
    assert new.slot == planned.slot
    assert leases.release_leftover(planned.slot, planned.slug) is False
    assert [x.slug for x in leases.held()] == ["new"]
    assert leases.release_leftover(new.slot, "new") is False  # still starting: not a leftover


def test_the_home_is_kept_in_the_lease(tmp_path):
    Leases(tmp_path, base_port=BASE).allocate("a", home="h2")
    assert [(x.slug, x.home) for x in Leases(tmp_path, base_port=BASE).held()] == [("a", "h2")]


@pytest.mark.parametrize("problem", ["group-writable", "a-file", "a-symlink"])
def test_a_leases_directory_others_could_change_is_refused(tmp_path, problem):
    root = tmp_path / "leases"
    if problem == "group-writable":
        root.mkdir()
        root.chmod(0o770)
    elif problem == "a-file":
        root.write_text("")
    else:
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        root.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BotBottleError) as err:
        Leases(root, base_port=BASE).allocate("a", home="h1")
    assert str(root) in str(err.value) and "BOT_BOTTLE_SMOLVM_LEASES" in str(err.value)
    assert not (tmp_path / "elsewhere" / "0.json").exists()


def test_a_lease_file_that_is_a_symlink_is_not_followed(tmp_path):
    target = tmp_path / "target.json"
    target.write_text('{"slug": "planted", "home": null, "starter": null}')
    root = tmp_path / "leases"
    root.mkdir(mode=0o700)
    (root / "0.json").symlink_to(target)
    leases = Leases(root, base_port=BASE)
    assert [(x.slot, x.slug) for x in leases.held()] == [(0, "?")]  # slot kept taken
    assert leases.allocate("a", home="h1").slot == 1


def test_the_default_directory_is_private_and_named_in_errors(tmp_path, monkeypatch):
    from bot_bottle_smolvm import leases as module

    monkeypatch.delenv("BOT_BOTTLE_SMOLVM_LEASES", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "not-there"))
    root = module.default_dir()  # no warning escapes, and the fallback is checked
    assert root.name == "smolvm-leases"
    lease = Leases(root, base_port=BASE).allocate("a", home="h1")
    assert os.stat(root).st_mode & 0o077 == 0
    Leases(root, base_port=BASE).release("a")
    assert lease.slot == 0
