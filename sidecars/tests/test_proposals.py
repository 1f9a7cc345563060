"""The queue files shared by the supervise sidecar and the operator's side."""

from __future__ import annotations

import json
import os
import threading

import pytest
from bot_bottle_sidecars.proposals import Answer, CorruptFile, Proposal, Queue, now_iso
from bot_bottle_sidecars.routes import parse_route


def route(obj):
    r, problems = parse_route(obj)
    assert not problems
    return r


def egress(host="api.example.test", why="need it", paths=None):
    obj = {"host": host}
    if paths:
        obj["path_allowlist"] = paths
    return Proposal.egress(route(obj), why)


def test_the_same_ask_is_one_proposal_whoever_asks_and_however_often(tmp_path):
    q = Queue(tmp_path)
    first = q.submit(egress(why="first reason"))
    again = q.submit(egress(host="API.example.test.", why="another reason"))
    assert again == first  # same route (hosts normalised): the stored proposal, first reason
    assert q.ids() == [first.id]
    other = q.submit(egress(paths=["/v1"]))
    assert other.id != first.id and len(q.ids()) == 2


def test_racing_askers_make_one_file(tmp_path):
    q = Queue(tmp_path)
    results = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(q.submit(egress(why=f"w{i}"))))
        for i in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.justification for r in results}) == 1
    assert [p.name for p in tmp_path.iterdir()] == [f"{results[0].id}.proposal.json"]


def test_the_first_answer_wins_and_a_restart_loses_nothing(tmp_path):
    p = Queue(tmp_path).submit(egress())
    yes = Answer(p.id, "approved", "ok", now_iso(), route=p.route)
    no = Answer(p.id, "rejected", "no", now_iso())
    assert Queue(tmp_path).answer_once(yes) == (yes, True)
    stored, mine = Queue(tmp_path).answer_once(no)
    assert (stored, mine) == (yes, False)
    # A new Queue (a restarted sidecar or CLI) reads the same state.
    (entry,) = Queue(tmp_path).scan().entries
    assert entry.proposal == p and entry.answer == yes
    applied = Answer(p.id, "approved", "ok", yes.answered_at, p.route, now_iso(), "ab" * 32)
    Queue(tmp_path).record(applied)
    assert Queue(tmp_path).answer(p.id) == applied


def test_files_are_written_whole_and_readable_by_the_other_side(tmp_path):
    q = Queue(tmp_path)
    p = q.submit(egress())
    path = q.proposal_path(p.id)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert json.loads(path.read_text())["route"] == {"host": "api.example.test"}
    assert [n.name for n in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "is not valid JSON"),
        ('{"kind": "egress", "id": "x"}', "is not a proposal"),
        ('["a list"]', "is not a proposal"),
        ('{"kind": "egress", "route": {"host": "a b"}, "id": "0", "justification": ""}', "host"),
    ],
)
def test_a_corrupt_file_is_reported_with_its_path_and_skipped(tmp_path, content, reason):
    q = Queue(tmp_path)
    good = q.submit(egress())
    bad = tmp_path / "0123456789.proposal.json"
    bad.write_text(content)
    scan = q.scan()
    assert [e.proposal for e in scan.entries] == [good]
    (problem,) = scan.problems
    assert problem.path == bad and reason in problem.reason and str(bad) in str(problem)


def test_an_id_that_does_not_match_what_is_asked_is_corrupt(tmp_path):
    q = Queue(tmp_path)
    p = q.submit(egress())
    data = json.loads(q.proposal_path(p.id).read_text())
    data["route"] = {"host": "evil.example.test"}  # changed after it was asked
    q.proposal_path(p.id).write_text(json.dumps(data))
    with pytest.raises(CorruptFile, match="does not match"):
        q.proposal(p.id)


def test_a_symbolic_link_is_never_followed(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text('{"kind": "egress"}')
    qdir = tmp_path / "q"
    qdir.mkdir()
    os.symlink(secret, qdir / "0123456789.answer.json")
    os.symlink(secret, qdir / "0123456789.proposal.json")
    q = Queue(qdir)
    with pytest.raises(CorruptFile, match="symbolic link"):
        q.answer("0123456789")
    assert q.scan().entries == [] and len(q.scan().problems) == 1


def test_a_capability_proposal_round_trips(tmp_path):
    q = Queue(tmp_path)
    p = q.submit(Proposal.capability("FROM x\nRUN apt-get install -y jq\n", "need jq"))
    assert Queue(tmp_path).proposal(p.id) == p
    assert p.kind == "capability" and p.route is None
