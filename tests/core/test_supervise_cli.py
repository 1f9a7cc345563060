"""``bot-bottle supervise``: the operator answers proposals the sidecar queued.

The proposals are written with the sidecar's own queue code; the backend is a
hand-installed plugin whose ``reload_routes`` only records the call (the real
reload is proven by the integration test): the ``op`` fixture (conftest).
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from bot_bottle_sidecars.proposals import Answer, Proposal, Queue, now_iso
from bot_bottle_sidecars.routes import load_routes, parse_route, route_to_json

SLUG = "bob-abcde"
GH_AUTH = {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"}


def route(obj):
    r, problems = parse_route(obj)
    assert not problems, problems
    return r


def queue(env):
    return Queue(env.home / "queue" / SLUG)


def ask(env, obj, why="to do my job"):
    return queue(env).submit(Proposal.egress(route(obj), why))


def live(env):
    path = env.home / "state" / SLUG / "sidecar" / "routes.json"
    return [route_to_json(r) for r in load_routes(path)]


def reloads(env):
    path = env.home.parent / "reloads"
    return path.read_text().splitlines() if path.exists() else []


def test_list_and_show_the_pending_proposals(op):
    p = ask(op, {"host": "pypi.org", "path_allowlist": ["/simple"]}, "pip install")
    r = op.run("supervise", "list")
    assert r.code == 0, r.err
    assert SLUG in r.out and p.id in r.out and "pypi.org /simple" in r.out and "pending" in r.out
    (row,) = op.run("supervise", "list", "--json").json()
    assert row["slug"] == SLUG and row["id"] == p.id and row["status"] == "pending"
    assert row["route"] == {"host": "pypi.org", "path_allowlist": ["/simple"]}
    r = op.run("supervise", "show", SLUG, p.id[:4])
    assert r.code == 0 and "justification:\n  | pip install\n" in r.out and '"/simple"' in r.out
    shown = op.run("supervise", "show", SLUG, p.id, "--json").json()
    assert shown["justification"] == "pip install"


def test_approve_merges_into_the_live_routes_reloads_once_and_answers_once(op):
    new = ask(op, {"host": "PyPI.org", "path_allowlist": ["/simple"]})
    known = ask(
        op,
        {
            "host": "API.GitHub.com",
            "path_allowlist": ["/repos/b"],
            "auth": {"header": "x-api-key", "token_ref": "EVIL"},
        },
    )
    r = op.run("supervise", "approve", SLUG, new.id, "--notes", "go ahead")
    assert r.code == 0, r.err
    assert f"Approved proposal {new.id} of {SLUG}: pypi.org is routed." in r.out
    r = op.run("supervise", "approve", SLUG, known.id)
    assert r.code == 0, r.err
    assert live(op) == [
        {"host": "api.github.com", "path_allowlist": ["/repos/a", "/repos/b"], "auth": GH_AUTH},
        {"host": "pypi.org", "path_allowlist": ["/simple"]},
    ]
    assert reloads(op) == [SLUG, SLUG]
    answer = queue(op).answer(new.id)
    assert answer.status == "approved" and answer.notes == "go ahead" and answer.applied_at
    # A second answer changes nothing.
    r = op.run("supervise", "reject", SLUG, new.id, "--reason", "changed my mind")
    assert r.code == 1 and "already approved" in r.err and r.err.count("\n") == 1
    assert queue(op).answer(new.id) == answer and reloads(op) == [SLUG, SLUG]
    assert op.run("supervise", "list").out.strip() == "No pending proposals."
    assert len(op.run("supervise", "list", "--all", "--json").json()) == 2


def test_reject_keeps_the_routes_and_stores_the_reason(op):
    before = live(op)
    p = ask(op, {"host": "evil.example"})
    r = op.run("supervise", "reject", SLUG, p.id, "--reason", "not for this task")
    assert r.code == 0, r.err
    answer = queue(op).answer(p.id)
    assert (answer.status, answer.notes) == ("rejected", "not for this task")
    assert answer.applied_at and live(op) == before and reloads(op) == []


def _editor(tmp_path, new_text: str):
    script = tmp_path / "editor.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys
        open(sys.argv[1], "w").write({new_text!r})
        """)
    )
    return f"{sys.executable} {script}"


def test_modify_grants_the_operators_route_not_the_agents(op, tmp_path):
    p = ask(op, {"host": "pypi.org"})
    mine = json.dumps({"host": "pypi.org", "path_allowlist": ["/simple/requests"]})
    r = op.run("supervise", "modify", SLUG, p.id, env={"EDITOR": _editor(tmp_path, mine)})
    assert r.code == 0, r.err
    assert "Approved as modified" in r.out
    assert live(op)[-1] == {"host": "pypi.org", "path_allowlist": ["/simple/requests"]}
    answer = queue(op).answer(p.id)
    assert answer.status == "modified" and route_to_json(answer.route) == json.loads(mine)


@pytest.mark.parametrize(
    ("edited", "message"),
    [
        ('{"host": "pypi.org", "path_allowlist": "/x"}', "route.path_allowlist: path_allowlist"),
        ("{oops", "not valid JSON"),
    ],
)
def test_an_invalid_modification_answers_nothing(op, tmp_path, edited, message):
    before = live(op)
    p = ask(op, {"host": "pypi.org"})
    r = op.run("supervise", "modify", SLUG, p.id, env={"EDITOR": _editor(tmp_path, edited)})
    assert r.code == 1 and message in r.err and "nothing was answered" in r.err
    assert queue(op).answer(p.id) is None and live(op) == before and reloads(op) == []


def test_an_answer_stored_before_a_crash_is_applied_once_by_the_next_approve(op):
    p = ask(op, {"host": "pypi.org"})
    # The operator side died after storing the answer, before applying it.
    queue(op).answer_once(Answer(p.id, "approved", "", now_iso(), route=p.route))
    assert "approved (not applied yet)" in op.run("supervise", "list", "--all").out
    r = op.run("supervise", "approve", SLUG, p.id)
    assert r.code == 0, r.err
    assert [x["host"] for x in live(op)] == ["api.github.com", "pypi.org"]
    assert reloads(op) == [SLUG]
    r = op.run("supervise", "approve", SLUG, p.id)
    assert r.code == 1 and "already approved" in r.err
    assert [x["host"] for x in live(op)] == ["api.github.com", "pypi.org"] and reloads(op) == [SLUG]


def test_a_failed_reload_is_said_and_approving_again_finishes_it(op):
    p = ask(op, {"host": "pypi.org"})
    r = op.run("supervise", "approve", SLUG, p.id, env={"RELOAD_FAILS": "1"})
    assert r.code == 1 and "was not reloaded" in r.err and "Approve again" in r.err
    assert queue(op).answer(p.id).applied_at is None  # the agent is not told yet
    assert op.run("supervise", "approve", SLUG, p.id).code == 0
    assert queue(op).answer(p.id).applied_at and reloads(op) == [SLUG]
    assert [x["host"] for x in live(op)] == ["api.github.com", "pypi.org"]


def test_approving_an_image_keeps_its_dockerfile_snapshots_and_stops_the_bottle_keeping_state(
    op,
):
    dockerfile = "FROM base\nRUN touch /opt/jq\n"
    p = queue(op).submit(Proposal.capability(dockerfile, "I need jq"))
    assert "capability" in op.run("supervise", "list").out
    r = op.run("supervise", "approve", SLUG, p.id, "--notes", "take jq")
    assert r.code == 0, r.err
    assert "bot-bottle resume bob-abcde" in r.out
    state = op.home / "state" / SLUG
    assert (state / "image" / "Dockerfile").read_text() == dockerfile
    assert (state / ".preserve").exists()  # the attached bot-bottle keeps the state
    assert (state / "transcript.tar").read_text().startswith("transcript of bob-abcde")
    assert reloads(op) == [f"snapshot {SLUG}", f"stop {SLUG} preserve=True"]
    answer = queue(op).answer(p.id)
    assert answer.status == "approved" and answer.applied_at and answer.notes == "take jq"
    (entry,) = op.run("audit", "--json").json()
    assert (entry["component"], entry["action"], entry["justification"]) == (
        "capability",
        "approve",
        "I need jq",
    )
    # Approving again changes nothing.
    assert op.run("supervise", "approve", SLUG, p.id).code == 1
    assert len(reloads(op)) == 2


def test_an_image_approval_whose_stop_failed_is_finished_by_approving_again(op):
    p = queue(op).submit(Proposal.capability("FROM base\n", "why"))
    r = op.run("supervise", "approve", SLUG, p.id, env={"STOP_FAILS": "1"})
    assert r.code == 1 and "could not be stopped" in r.err and "Approve it again" in r.err
    r = op.run("supervise", "approve", SLUG, p.id)
    assert r.code == 0, r.err
    assert reloads(op)[-1] == f"stop {SLUG} preserve=True"
    assert op.run("supervise", "approve", SLUG, p.id).code == 1


def test_a_capability_can_be_rejected(op):
    p = queue(op).submit(Proposal.capability("FROM x\nRUN apt-get install -y jq\n", "jq"))
    assert op.run("supervise", "reject", SLUG, p.id, "--reason", "use pip").code == 0
    assert not (op.home / "state" / SLUG / "image").exists() and reloads(op) == []


def test_a_corrupt_queue_file_is_named_and_the_rest_listed(op):
    p = ask(op, {"host": "pypi.org"})
    bad = op.home / "queue" / SLUG / "0000000000.proposal.json"
    bad.write_text("{half a fi")
    r = op.run("supervise", "list", "--json")
    assert r.code == 0 and [x["id"] for x in r.json()] == [p.id]
    assert f"skipped the queue file {bad}" in r.err and "not valid JSON" in r.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "bob-zzzzz", "abc"), "No proposals for 'bob-zzzzz'"),
        (("show", SLUG, "ffff"), "'ffff' matches no proposal of bob-abcde"),
        (("reject", SLUG, "ffff", "--reason", " "), "matches no proposal"),
    ],
)
def test_unknown_slugs_and_proposals_are_one_line_errors(op, args, message):
    r = op.run("supervise", *args)
    assert r.code == 1 and message in r.err and r.err.count("\n") == 1
