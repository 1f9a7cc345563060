"""Leases: time-limited grants in the routes file. They widen the routes while they hold and
lapse by themselves: the real egress stops serving one on time, with nothing else running,
closes the tunnels it allowed, and a restart does not bring it back."""

from __future__ import annotations

import contextlib
import json
import signal
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from bot_bottle_sidecars.routes import (
    Lease,
    RoutesFile,
    parse_document,
    parse_route,
    route_to_json,
    routes_document,
)
from egress_client import https, mitm_tls, request, tunnel

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def route(obj):
    r, problems = parse_route(obj)
    assert not problems, problems
    return r


def at(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat()


def test_a_lease_widens_the_routes_while_it_holds_and_takes_back_only_what_it_gave():
    doc = RoutesFile(
        routes=(route({"host": "api.example.test", "path_allowlist": ["/a"]}),),
        leases=(
            Lease(route({"host": "API.example.test", "path_allowlist": ["/b"]}), at(60), "p1"),
            Lease(route({"host": "new.example.test"}), at(120), "p2"),
        ),
    )
    assert [route_to_json(r) for r in doc.effective(NOW)] == [
        {"host": "api.example.test", "path_allowlist": ["/a", "/b"]},
        {"host": "new.example.test"},
    ]
    assert doc.next_lapse(NOW) == NOW + timedelta(seconds=60)
    later = NOW + timedelta(seconds=90)
    assert [route_to_json(r) for r in doc.effective(later)] == [
        {"host": "api.example.test", "path_allowlist": ["/a"]},
        {"host": "new.example.test"},
    ]
    assert [lease.proposal for lease in doc.lapsed(later)] == ["p1"]
    assert doc.effective(NOW + timedelta(seconds=120)) == doc.routes
    assert doc.next_lapse(NOW + timedelta(seconds=120)) is None
    # Written and read back whole.
    again, problems = parse_document(
        json.loads(json.dumps(routes_document(doc.routes, doc.leases)))
    )
    assert not problems and again == doc


@pytest.mark.parametrize(
    ("lease", "where"),
    [
        ({"route": {"host": "a.test"}, "until": "2030-01-01T00:00:00"}, "leases[0].until"),
        ({"route": {"host": "a.test"}, "until": "soon"}, "leases[0].until"),
        ({"route": {"host": "a b"}, "until": at(1)}, "leases[0].route.host"),
        ({"route": {"host": "a.test"}, "until": at(1), "forever": True}, "leases[0].forever"),
    ],
)
def test_a_malformed_lease_is_refused_at_its_place(lease, where):
    doc, problems = parse_document({"routes": [], "leases": [lease]})
    assert doc is None and where in [p.where() for p in problems], problems


def _closed(sock) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError, OSError):
        return True


def test_egress_stops_serving_a_lease_when_it_lapses_and_a_restart_keeps_it_lapsed(start_egress):
    base = {"routes": [{"host": "api.example.test", "path_allowlist": ["/kept"]}]}
    ep = start_egress(base)
    # Granted once egress runs (as an approval reloads it), so a slow start-up on a busy
    # machine does not eat the lease.
    until = datetime.now(UTC) + timedelta(seconds=4)
    doc = {
        **base,
        "leases": [
            {"route": {"host": "new.example.test"}, "until": until.isoformat(), "proposal": "p"},
            {
                "route": {"host": "api.example.test", "path_allowlist": ["/lent"]},
                "until": until.isoformat(),
            },
        ],
    }
    mark = ep.mark()
    ep.routes_file.write_text(json.dumps(doc))
    ep.proc.send_signal(signal.SIGHUP)
    assert ep.wait_for_line(lambda r: r.get("event") == "reload", since=mark)["status"] == "ok"
    assert https(ep, "new.example.test", "GET", "/1").status == 200
    assert https(ep, "api.example.test", "GET", "/lent/1").status == 200
    with contextlib.ExitStack() as stack:
        _a, raw = tunnel(ep.port, "new.example.test:443")
        open_tunnel = stack.enter_context(mitm_tls(ep, raw, "new.example.test"))
        assert request(open_tunnel, "GET", "/2", "new.example.test").status == 200
        lapse = ep.wait_for_line(lambda r: r.get("event") == "lapse", since=mark, timeout=20)
        assert datetime.now(UTC) >= until
        assert lapse["hosts"] == ["api.example.test", "new.example.test"]
        assert lapse["gone"] == ["new.example.test"] and lapse["closed"] == 1
        assert _closed(open_tunnel)
    assert https(ep, "new.example.test", "GET", "/3").status == 403
    assert https(ep, "api.example.test", "GET", "/lent/2").status == 403
    assert https(ep, "api.example.test", "GET", "/kept/1").status == 200
    # A restart reads the same file: the lapsed lease grants nothing.
    ep.stop()
    again = start_egress(doc)
    assert https(again, "new.example.test", "GET", "/4").status == 403
