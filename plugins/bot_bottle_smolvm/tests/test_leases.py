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
    lease = Leases(Path(root), base_port=BASE).allocate(slug)
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
    Leases(Path(root), base_port=BASE).allocate("crashed")
    os._exit(1)  # the start dies before it finishes: no bind, no release


def test_a_crashed_start_gives_its_slot_back(tmp_path):
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_crash, args=(str(tmp_path),))
    p.start()
    p.join(60)
    leases = Leases(tmp_path, base_port=BASE)
    assert [lease.slug for lease in leases.held()] == ["crashed"]
    lease = leases.allocate("next")
    assert lease.slot == 0  # the crashed start's slot, taken back
    assert [x.slug for x in leases.held()] == ["next"]


def test_a_running_bottle_keeps_its_slot_after_its_start_exits(tmp_path):
    ctx = multiprocessing.get_context("fork")

    def start_and_finish(root: str) -> None:
        leases = Leases(Path(root), base_port=BASE)
        leases.allocate("running")
        leases.bind("running")
        os._exit(0)

    p = ctx.Process(target=start_and_finish, args=(str(tmp_path),))
    p.start()
    p.join(60)
    leases = Leases(tmp_path, base_port=BASE)
    assert leases.allocate("other").slot == 1
    assert leases.release("running") is True
    assert leases.release("running") is False
    assert leases.allocate("third").slot == 0


def test_ports_in_use_on_the_host_are_skipped(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", BASE + 1))  # slot 0's second port
        busy.listen()
        lease = Leases(tmp_path, base_port=BASE).allocate("a")
    assert lease.slot == 1 and BASE + 1 not in lease.ports


def test_one_bottle_never_holds_two_slots(tmp_path):
    leases = Leases(tmp_path, base_port=BASE)
    leases.allocate("a")
    with pytest.raises(BotBottleError, match="already holds"):
        leases.allocate("a")


def test_an_unreadable_lease_keeps_its_slot_taken(tmp_path):
    leases = Leases(tmp_path, base_port=BASE)
    leases.allocate("a")
    (tmp_path / "0.json").write_text("{not json")
    assert leases.allocate("b").slot == 1


def test_running_out_of_slots_says_what_to_do(tmp_path):
    leases = Leases(tmp_path, base_port=BASE, slots=2)
    leases.allocate("a")
    leases.allocate("b")
    with pytest.raises(NoFreeSlot, match="cleanup"):
        leases.allocate("c")
