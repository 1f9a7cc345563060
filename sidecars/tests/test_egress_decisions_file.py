"""The decisions file: every verdict egress gives also lands in a file the host keeps, which
the operator's side reads back (what was refused, for which host), never with a token."""

from __future__ import annotations

import io
import json

from bot_bottle_sidecars import layout
from bot_bottle_sidecars.egress import log as egress_log
from bot_bottle_sidecars.egress.decisions import decisions, denials_for
from egress_client import https

TOKEN = "tok-decisions-9d1e-never-in-the-file"
SLOTS = layout.token_environment([("DEC_TOKEN", "api.example.test")], {"DEC_TOKEN": TOKEN})
ROUTES = {
    "routes": [
        {
            "host": "api.example.test",
            "path_allowlist": ["/ok"],
            "auth": {"scheme": "Bearer", "token_ref": "DEC_TOKEN"},
        }
    ]
}


def test_every_decision_is_kept_in_the_file_and_denials_are_read_back_by_host(
    start_egress, tmp_path
):
    kept = tmp_path / "egress.jsonl"
    ep = start_egress(ROUTES, env={**SLOTS, layout.ENV_EGRESS_DECISIONS: str(kept)})
    assert https(ep, "api.example.test", "GET", "/ok/1").status == 200
    assert https(ep, "api.example.test", "POST", "/secret/2").status == 403
    assert https(ep, "UNROUTED.example.test", "PUT", "/x/3").status == 403
    ep.wait_for_line(lambda r: r.get("path") == "/x/3")
    rows = decisions(kept)
    assert [(r["decision"], r["path"]) for r in rows if r["kind"] == "request"] == [
        ("allow", "/ok/1"),
        ("deny", "/secret/2"),
        ("deny", "/x/3"),
    ]
    assert TOKEN not in kept.read_text()
    (refused,) = denials_for(kept, "Unrouted.Example.test")
    assert (refused["method"], refused["path"], refused["port"]) == ("PUT", "/x/3", 443)
    assert refused["time"] and "route" in refused["reason"]
    assert [d["path"] for d in denials_for(kept, "api.example.test")] == ["/secret/2"]
    # The file is the host's: it outlives the proxy.
    ep.stop()
    assert len(decisions(kept)) == len(rows)


def test_the_file_is_bounded_and_the_previous_one_is_still_read(tmp_path, monkeypatch):
    monkeypatch.setattr(egress_log, "MAX_FILE_BYTES", 400)
    path = tmp_path / "egress.jsonl"
    log = egress_log.DecisionLog(out=io.StringIO())
    log.keep_in(str(path))
    for i in range(20):
        log.decision("request", False, host="a.test", method="GET", path=f"/{i}", reason="no")
    assert path.stat().st_size <= 400
    assert (tmp_path / "egress.jsonl.1").stat().st_size <= 400
    paths = [r["path"] for r in decisions(path)]
    assert paths == [f"/{i}" for i in range(20 - len(paths), 20)] and len(paths) >= 4
    # A line cut short (the bundle killed mid-write) is skipped, not fatal.
    with path.open("a") as f:
        f.write('{"decision": "deny", "pa')
    assert [r["path"] for r in decisions(path)] == paths
    assert json.loads(path.read_text().splitlines()[0])["host"] == "a.test"
