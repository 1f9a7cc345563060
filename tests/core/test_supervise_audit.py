"""What the operator sees before deciding, and what every decision leaves behind.

* ``supervise show`` carries the justification, egress's recent refusals for the host
  (from the bottle's decisions file) and the exact routes diff approval would make;
* every action (approve, modify, reject, route edit, lapse) is one chained line in the
  audit log; ``audit verify`` names the line after any edit, removal or reordering;
* ``routes show|edit``; ``--for`` grants a lease that lapses (and the lapse is audited).

The backend is the ``op`` fixture's recording plugin (conftest).
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from bot_bottle_sidecars.egress.log import DecisionLog
from bot_bottle_sidecars.proposals import Proposal, Queue
from bot_bottle_sidecars.routes import parse_route, read_document, route_to_json

SLUG = "bob-abcde"
TOKEN = "ghp_real_token_value_4c1d9e"  # what GITHUB_TOKEN holds on the host
GH_AUTH = {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"}


def route(obj):
    r, problems = parse_route(obj)
    assert not problems, problems
    return r


def ask(env, obj, why="to do my job"):
    return Queue(env.home / "queue" / SLUG).submit(Proposal.egress(route(obj), why))


def routes_file(env):
    return env.home / "state" / SLUG / "sidecar" / "routes.json"


def audit(env) -> list[dict]:
    r = env.run("audit", "--json")
    assert r.code == 0, r.err
    return r.json()


def refused(env, *requests: tuple[str, str, str]) -> None:
    """Egress's decisions file of the bottle, as the bundle writes it."""
    log = DecisionLog(out=io.StringIO())
    log.keep_in(str(env.home / "logs" / SLUG / "egress.jsonl"))
    (env.home / "logs" / SLUG).mkdir(parents=True, exist_ok=True)
    for host, method, path in requests:
        log.decision("connect", False, host=host, port=443, method="CONNECT", reason="no route")
        log.decision(
            "request", False, host=host, port=443, method=method, path=path, reason="no route"
        )
    log.decision(
        "request", True, host="api.github.com", port=443, method="GET", path="/repos/a", reason="ok"
    )


def editor(tmp_path, new_text: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys
        open(sys.argv[1], "w").write({new_text!r})
        """)
    )
    return f"{sys.executable} {script}"


def test_show_gives_the_justification_the_hosts_refusals_and_the_routes_diff(op):
    refused(op, ("pypi.org", "GET", "/simple/requests/"), ("other.test", "POST", "/x"))
    refused(op, ("PyPI.org", "HEAD", "/simple/idna/"))
    p = ask(op, {"host": "pypi.org", "path_allowlist": ["/simple"]}, "pip install requests")
    shown = op.run("supervise", "show", SLUG, p.id, "--json").json()["context"]
    assert shown["justification"] == "pip install requests"
    assert [(d["method"], d["path"]) for d in shown["denials"]] == [
        ("GET", "/simple/requests/"),
        ("HEAD", "/simple/idna/"),
    ]
    assert all(d["time"] for d in shown["denials"])
    diff = shown["routes_diff"]
    assert diff.startswith("--- routes.json (before)\n+++ routes.json (after)\n")
    assert '+      "host": "pypi.org",' in diff and '+        "/simple"' in diff
    r = op.run("supervise", "show", SLUG, p.id)
    assert "egress refused for pypi.org (2 most recent):" in r.out
    assert "GET /simple/requests/" in r.out and '+      "host": "pypi.org",' in r.out
    # Approving makes exactly that diff.
    assert op.run("supervise", "approve", SLUG, p.id).code == 0
    assert audit(op)[0]["diff"] == diff


def test_a_host_already_routed_shows_only_the_widening(op):
    p = ask(op, {"host": "API.GitHub.com", "path_allowlist": ["/repos/b"]})
    diff = op.run("supervise", "show", SLUG, p.id, "--json").json()["context"]["routes_diff"]
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert changed == ['-        "/repos/a"', '+        "/repos/a",', '+        "/repos/b"'], diff
    shown = op.run("supervise", "show", SLUG, p.id)
    assert "egress refused nothing for api.github.com yet" in shown.out


def test_every_action_is_one_chained_line_and_no_token_appears(op, tmp_path):
    op.extra["GITHUB_TOKEN"] = TOKEN
    a = ask(op, {"host": "pypi.org"}, "pip")
    b = ask(op, {"host": "files.test"}, "files")
    c = ask(op, {"host": "evil.test"}, "exfil")
    assert op.run("supervise", "approve", SLUG, a.id, "--notes", "ok").code == 0
    mine = json.dumps({"host": "files.test", "path_allowlist": ["/pub"]})
    env = {"EDITOR": editor(tmp_path, mine)}
    assert op.run("supervise", "modify", SLUG, b.id, env=env).code == 0
    assert op.run("supervise", "reject", SLUG, c.id, "--reason", "no").code == 0
    entries = audit(op)
    assert [(e["component"], e["action"], e["proposal"]) for e in entries] == [
        ("egress", "approve", a.id),
        ("egress", "modify", b.id),
        ("egress", "reject", c.id),
    ]
    assert [e["justification"] for e in entries] == ["pip", "files", "exfil"]
    assert entries[0]["notes"] == "ok" and entries[2]["notes"] == "no"
    assert '"/pub"' in entries[1]["diff"] and entries[2]["diff"] == ""
    assert entries[0]["prev"] == "0" * 64
    assert entries[1]["prev"] == entries[0]["sha256"] and entries[2]["prev"] == entries[1]["sha256"]
    assert {"time", "slug"} <= set(entries[0]) and entries[0]["slug"] == SLUG
    # An operator's edit that sends the credential to one more host: its name is audited.
    doc = json.loads(op.run("routes", "show", SLUG, "--json").out)
    doc["routes"].append({"host": "uploads.github.com", "auth": GH_AUTH})
    env = {"EDITOR": editor(tmp_path, json.dumps(doc))}
    assert op.run("routes", "edit", SLUG, env=env).code == 0
    log = op.home / "audit.jsonl"
    assert '\\"token_ref\\": \\"GITHUB_TOKEN\\"' in log.read_text()
    for path in op.home.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path
    assert TOKEN not in op.run("audit").out + op.run("audit", "--json").out
    r = op.run("audit", "verify")
    assert r.code == 0 and "4 entries" in r.out
    table = op.run("audit", "--slug", SLUG)
    assert table.code == 0 and "modify" in table.out and "reject" in table.out
    assert op.run("audit", "--slug", "other-zzzzz", "--json").json() == []


def _three_lines(op) -> list[bytes]:
    for host in ("a.test", "b.test", "c.test"):
        p = ask(op, {"host": host})
        assert op.run("supervise", "reject", SLUG, p.id, "--reason", f"not {host}").code == 0
    return (op.home / "audit.jsonl").read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("tamper", "line"),
    [
        (lambda ls: [ls[0], ls[1].replace(b"not b.test", b"fine b.test"), ls[2]], 2),
        (lambda ls: [ls[0], ls[2]], 2),
        (lambda ls: [ls[1], ls[0], ls[2]], 1),
        (lambda ls: [ls[0], ls[2], ls[1]], 2),
        (lambda ls: [ls[0], ls[1], ls[2].replace(b"not c.test", b"yes")], 3),
        (lambda ls: [ls[0], ls[1]], 2),
        (lambda ls: [ls[1], ls[2]], 1),
    ],
    ids=["edit", "remove", "swap-first", "swap-last", "edit-last", "drop-last", "drop-first"],
)
def test_verify_fails_naming_the_line_after_any_edit_removal_or_reordering(op, tamper, line):
    lines = _three_lines(op)
    assert op.run("audit", "verify").code == 0
    (op.home / "audit.jsonl").write_bytes(b"".join(tamper(lines)))
    r = op.run("audit", "verify")
    assert r.code == 1 and f"line {line} " in r.err and "tampered" in r.err, r.err
    assert r.err.count("\n") == 1


def test_an_edit_that_rehashes_its_line_is_caught_by_the_next_one(op):
    import hashlib

    lines = _three_lines(op)
    rec = json.loads(lines[1])
    rec["notes"] = "fine"
    body = {k: v for k, v in rec.items() if k != "sha256"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    rec["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    lines[1] = json.dumps(rec, sort_keys=True).encode() + b"\n"
    (op.home / "audit.jsonl").write_bytes(b"".join(lines))
    r = op.run("audit", "verify")
    assert r.code == 1 and "line 3 does not follow line 2" in r.err, r.err


def test_routes_show_and_an_edit_validated_audited_and_reloaded(op, tmp_path):
    r = op.run("routes", "show", SLUG)
    assert r.code == 0 and "api.github.com /repos/a [auth:Bearer GITHUB_TOKEN]" in r.out
    before = json.loads(op.run("routes", "show", SLUG, "--json").out)
    new = {"routes": [*before["routes"], {"host": "pypi.org", "path_allowlist": ["/simple"]}]}
    r = op.run(
        "routes",
        "edit",
        SLUG,
        "--notes",
        "index",
        env={"EDITOR": editor(tmp_path, json.dumps(new))},
    )
    assert r.code == 0, r.err
    assert '+      "host": "pypi.org",' in r.out
    assert [route_to_json(x) for x in read_document(routes_file(op))[0].routes][-1] == {
        "host": "pypi.org",
        "path_allowlist": ["/simple"],
    }
    (entry,) = audit(op)
    assert (entry["component"], entry["action"], entry["notes"]) == ("egress", "edit", "index")
    assert '"pypi.org"' in entry["diff"]
    assert (op.home.parent / "reloads").read_text().split() == [SLUG]


@pytest.mark.parametrize(
    ("edited", "message"),
    [
        ('{"routes": [{"host": "a.test", "path_allowlist": "/x"}]}', "routes[0].path_allowlist"),
        ('{"routes": [{"host": "a.test"}, {"host": "A.test"}]}', "duplicate host"),
        ('{"routes": []', "not valid JSON"),
        ('{"routes": [], "extra": 1}', "extra"),
    ],
)
def test_an_invalid_route_edit_changes_nothing(op, tmp_path, edited, message):
    before = routes_file(op).read_bytes()
    r = op.run("routes", "edit", SLUG, env={"EDITOR": editor(tmp_path, edited)})
    assert r.code == 1 and message in r.err and "nothing was changed" in r.err, r.err
    assert routes_file(op).read_bytes() == before and audit(op) == []
    assert not (op.home.parent / "reloads").exists()


def test_routes_of_an_unknown_bottle_is_a_one_line_error(op):
    r = op.run("routes", "show", "bob-zzzzz")
    assert r.code == 1 and "Unknown slug 'bob-zzzzz'" in r.err and r.err.count("\n") == 1


def test_a_grant_for_a_while_is_a_lease_that_lapses_and_the_lapse_is_audited(op):
    p = ask(op, {"host": "pypi.org"}, "for a moment")
    r = op.run("supervise", "approve", SLUG, p.id, "--for", "30m")
    assert r.code == 0 and "until" in r.out, r.err
    doc = read_document(routes_file(op))[0]
    assert [x.host for x in doc.routes] == ["api.github.com"]  # not merged in for good
    (lease,) = doc.leases
    until = datetime.fromisoformat(lease.until)
    assert timedelta(minutes=29) < until - datetime.now(UTC) <= timedelta(minutes=30)
    assert lease.proposal == p.id and "pypi.org" in [x.host for x in doc.effective()]
    approved = audit(op)[0]
    assert approved["expires_at"] == lease.until and '"pypi.org"' in approved["diff"]
    # The time passes (the file says so): whoever looks next takes it out and audits it.
    data = json.loads(routes_file(op).read_text())
    data["leases"][0]["until"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    routes_file(op).write_text(json.dumps(data))
    assert op.run("supervise", "list").code == 0
    assert read_document(routes_file(op))[0].leases == ()
    lapse = audit(op)[-1]
    assert (lapse["action"], lapse["proposal"], lapse["component"]) == ("lapse", p.id, "egress")
    assert '-      "host": "pypi.org"' in lapse["diff"]
    assert [e["action"] for e in audit(op)] == ["approve", "lapse"]  # once
    assert op.run("audit", "verify").code == 0


@pytest.mark.parametrize("bad", ["30", "soon", "0m", "-5m", "30m!"])
def test_a_bad_duration_answers_nothing(op, bad):
    p = ask(op, {"host": "pypi.org"})
    r = op.run("supervise", "approve", SLUG, p.id, "--for", bad)
    assert r.code == 2 and ("duration" in r.err or "0 seconds" in r.err), r.err
    assert Queue(op.home / "queue" / SLUG).answer(p.id) is None


def test_an_image_cannot_be_granted_for_a_while(op):
    p = Queue(op.home / "queue" / SLUG).submit(Proposal.capability("FROM x\n", "x"))
    r = op.run("supervise", "approve", SLUG, p.id, "--for", "1h")
    assert r.code == 1 and "limited time" in r.err


def test_egress_decisions_of_a_bottle_are_shown_allow_and_deny(op):
    refused(op, ("pypi.org", "GET", "/simple/"))
    rows = op.run("audit", "--egress", SLUG, "--json").json()
    assert [(r["decision"], r["host"], r["path"]) for r in rows] == [
        ("deny", "pypi.org", None),
        ("deny", "pypi.org", "/simple/"),
        ("allow", "api.github.com", "/repos/a"),
    ]
    r = op.run("audit", "--egress", SLUG)
    assert r.code == 0 and "deny" in r.out and "GET pypi.org:443/simple/" in r.out
    r = op.run("audit", "--egress", "bob-zzzzz")
    assert r.code == 1 and "No egress decisions of bob-zzzzz" in r.err
