"""What supervision leaves in a bottle's state: granted routes survive a resume, and the
queue goes with the state."""

from __future__ import annotations

from bot_bottle_sidecars.proposals import Answer, Proposal, Queue, now_iso
from bot_bottle_sidecars.routes import parse_route, route_to_json

from bot_bottle_core.plan import queue_dir
from bot_bottle_core.preparation import with_granted
from bot_bottle_core.state import StateStore


def route(obj):
    r, problems = parse_route(obj)
    assert not problems
    return r


def test_the_queue_of_a_bottle_sits_beside_its_state(tmp_path):
    assert queue_dir(tmp_path / "state" / "bob-abcde") == tmp_path / "queue" / "bob-abcde"


def test_routes_granted_and_applied_come_back_on_resume(tmp_path):
    q = Queue(tmp_path)
    granted = q.submit(Proposal.egress(route({"host": "pypi.org"}), "pip"))
    widened = q.submit(Proposal.egress(route({"host": "a.test", "path_allowlist": ["/y"]}), "y"))
    refused = q.submit(Proposal.egress(route({"host": "evil.test"}), "no"))
    unapplied = q.submit(Proposal.egress(route({"host": "later.test"}), "later"))
    pending = q.submit(Proposal.egress(route({"host": "pending.test"}), "wait"))
    assert pending
    for p in (granted, widened):
        q.answer_once(Answer(p.id, "approved", "", now_iso(), p.route, applied_at=now_iso()))
    q.answer_once(Answer(refused.id, "rejected", "no", now_iso(), applied_at=now_iso()))
    q.answer_once(Answer(unapplied.id, "approved", "", now_iso(), unapplied.route))
    manifest = (route({"host": "a.test", "path_allowlist": ["/x"]}),)
    assert [route_to_json(r) for r in with_granted(manifest, tmp_path)] == [
        {"host": "a.test", "path_allowlist": ["/x", "/y"]},
        {"host": "pypi.org"},
    ]


def test_removing_a_bottles_state_removes_its_queue(tmp_path):
    store = StateStore(tmp_path / "state")
    slug = store.mint("bob")
    q = queue_dir(store.path(slug))
    Queue(q).dir.mkdir(parents=True)
    Queue(q).submit(Proposal.egress(route({"host": "pypi.org"}), "pip"))
    store.remove(slug)
    assert not q.exists() and not store.path(slug).exists()
