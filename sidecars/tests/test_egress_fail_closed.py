"""Bypass class: a decision that fails open.

mitmproxy logs an exception raised by an addon and carries on as if the hook
had not run, so a deny that is applied *after* something that can raise is no
deny at all. Egress sets its verdict first and logs second; every failure while
deciding denies; log lines stay one line of ASCII JSON whatever the agent sends.
"""

from __future__ import annotations

import json

import pytest
from bot_bottle_sidecars.egress.log import DecisionLog
from bot_bottle_sidecars.egress.requests import Requests
from bot_bottle_sidecars.egress.state import META, EgressState
from bot_bottle_sidecars.routes import parse_routes
from bot_bottle_sidecars.routes.policy import Policy
from egress_client import assert_denied, connect, https_raw, raw_request, tunnel
from mitmproxy.test import taddons, tflow

ROUTES = {"routes": [{"host": "api.example.test", "path_allowlist": ["/allowed"]}]}


@pytest.fixture(scope="module")
def egress(module_egress):
    return module_egress(ROUTES)


def _all_lines_are_ascii_json(egress) -> None:
    raw = egress.stdout_path.read_bytes()
    assert raw.isascii()
    for line in raw.decode().splitlines():
        json.loads(line)  # one line, valid JSON


@pytest.mark.parametrize(
    "head",
    [
        b"G\xffT /allowed/x HTTP/1.1\r\nHost: api.example.test",
        b"GET /allowed/\xff\xfe HTTP/1.1\r\nHost: api.example.test",
        b"GET /secret/\xed\xa0\x80 HTTP/1.1\r\nHost: api.example.test",
        b"GET /allowed/x HTTP/1.1\r\nHost: api.example.test\r\nX-A: \xff\xfe\x00",
        b"GET /allowed/x HTTP/1.1\r\nHost: api.ex\xffample.test",
        b"\xc0\xaf /allowed HTTP/1.1\r\nHost: api.example.test",
    ],
)
def test_undecodable_bytes_are_denied_and_logged_as_ascii_json(egress, quiet_upstream, head):
    """Refused one way or another: mitmproxy's parser (400), egress (403), or, for a
    request line that does not look like HTTP at all, as raw TCP (closed)."""
    mark = egress.mark()
    try:
        r = https_raw(egress, "api.example.test", head)
    except ConnectionError:
        r = None
    if r is not None:
        assert r.status in (400, 403), r
    if r is None or r.status == 403:
        if r is not None:
            assert_denied(r)
        line = egress.wait_for_line(lambda x: x.get("kind") in ("request", "tcp"), since=mark)
        assert line["decision"] == "deny"
    _all_lines_are_ascii_json(egress)
    assert egress.proc.poll() is None


def test_undecodable_bytes_in_plain_proxy_requests_too(egress, quiet_upstream):
    with connect(egress.port) as s:
        r = raw_request(
            s, b"G\xffT http://api.example.test/allowed/x HTTP/1.1\r\nHost: api.example.test"
        )
    assert r.status in (400, 403)
    _answer, s = tunnel(egress.port, "api.example.test:80")
    with s:
        r = raw_request(s, b"GET /allowed/\xff HTTP/1.1\r\nHost: api.example.test")
    assert r.status in (400, 403)
    _all_lines_are_ascii_json(egress)


# --------------------------------------------------------------------------- in process


@pytest.fixture(autouse=False)
def patched():
    """The proxy runs with these (egress.run applies them before mitmproxy starts)."""
    from bot_bottle_sidecars.egress import patches

    assert patches.apply() == {"answer_before_body": None, "error_responses": None}


class _BrokenOut:
    def write(self, _text: str) -> int:
        raise OSError("disk full")

    def flush(self) -> None:
        raise OSError("disk full")


def _state(out=None) -> EgressState:
    routes, _ = parse_routes(ROUTES)
    return EgressState(log=DecisionLog(out), policy=Policy(routes))


def _flow(path: str, host: str = "api.example.test"):
    flow = tflow.tflow()
    flow.request.host = host
    flow.request.port = 443
    flow.request.scheme = "https"
    flow.request.path = path
    flow.request.headers["Host"] = host
    flow.client_conn.tls = False
    return flow


@pytest.mark.parametrize(("path", "allowed"), [("/secret", False), ("/allowed/x", True)])
def test_a_log_that_cannot_be_written_changes_no_verdict(patched, path, allowed):
    addon = Requests(_state(_BrokenOut()))
    with taddons.context(addon):
        flow = _flow(path)
        addon.requestheaders(flow)
    assert flow.metadata[META] == ("allow" if allowed else "deny")
    assert (flow.response is None) is allowed
    if not allowed:
        assert flow.response.status_code == 403


def test_an_exception_while_deciding_denies(patched, monkeypatch):
    state = _state()
    addon = Requests(state)

    def boom(*_args, **_kwargs):
        raise RuntimeError("policy exploded")

    monkeypatch.setattr(state.policy, "request", boom)
    with taddons.context(addon):
        flow = _flow("/allowed/x")
        addon.requestheaders(flow)
    assert flow.metadata[META] == "deny"
    assert flow.response is not None and flow.response.status_code == 403
    assert b"internal error" in flow.response.content
