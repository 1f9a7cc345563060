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


def test_a_resumed_bottle_serves_its_last_routes_on_the_manifests_and_leases_that_still_hold(
    tmp_path,
):
    from datetime import UTC, datetime, timedelta

    from bot_bottle_sidecars.routes import Lease

    from bot_bottle_core.preparation import resumed_routes
    from bot_bottle_core.routes_file import write_routes

    state = tmp_path / "state" / "bob-abcde"
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    gone = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    # Last run: the operator granted pypi.org, edited a.test down to /x, and lent two hosts.
    write_routes(
        state / "sidecar",
        [route({"host": "a.test", "path_allowlist": ["/x"]}), route({"host": "pypi.org"})],
        [
            Lease(route({"host": "lent.test"}), later, "p1"),
            Lease(route({"host": "old.test"}), gone),
        ],
    )
    manifest = (route({"host": "a.test", "path_allowlist": ["/m"]}), route({"host": "new.test"}))
    routes, leases = resumed_routes(manifest, state)
    assert [route_to_json(r) for r in routes] == [
        {"host": "a.test", "path_allowlist": ["/m", "/x"]},  # the manifest stays the floor
        {"host": "new.test"},
        {"host": "pypi.org"},
    ]
    assert [(lease.route.host, lease.proposal) for lease in leases] == [("lent.test", "p1")]


def test_a_time_limited_grant_is_not_granted_for_good_on_resume(tmp_path):
    q = Queue(tmp_path)
    p = q.submit(Proposal.egress(route({"host": "pypi.org"}), "pip"))
    q.answer_once(
        Answer(p.id, "approved", "", now_iso(), p.route, applied_at=now_iso(), expires_at=now_iso())
    )
    assert with_granted((), tmp_path) == ()


def test_an_approved_image_is_what_the_bottle_is_built_from(tmp_path):
    from types import SimpleNamespace

    from bot_bottle_core.preparation import pick_dockerfile
    from bot_bottle_core.supervision import instance_dockerfile

    state = tmp_path / "state" / "bob-abcde"
    own = tmp_path / "Dockerfile"
    own.write_text("FROM base\n")
    bottle = SimpleNamespace(dockerfile=own, name="web", source=tmp_path / "m.yaml")
    assert pick_dockerfile(state, bottle, provider=None) == own
    instance_dockerfile(state).parent.mkdir(parents=True)
    instance_dockerfile(state).write_text("FROM base\nRUN touch /opt/jq\n")
    assert pick_dockerfile(state, bottle, provider=None) == instance_dockerfile(state)
