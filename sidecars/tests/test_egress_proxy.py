"""Attacks against the real egress proxy (mitmproxy + the addon) on loopback.

The proxy runs as a subprocess exactly as the bundle runs it; the "internet" is
the fake upstream from conftest (HTTPS and HTTP on 127.0.0.1, test CA). Test
names reach it only through the proxy's ``egress_resolve`` map, so nothing is
ever resolved in DNS. Clients are raw sockets + ``ssl`` so every byte (Host
headers, SNI, CONNECT targets, non-HTTP junk) is under the test's control.
"""

from __future__ import annotations

import contextlib
import json
import signal
import ssl

import pytest
from bot_bottle_sidecars import layout
from egress_client import (
    _read_body,
    _read_head,
    assert_denied,
    connect,
    https,
    mitm_tls,
    request,
    tunnel,
)

TOKEN = "tok-3f9c2e1d-never-log-me"
AGENT_AUTH = "Bearer agent-placeholder-abc"

ROUTES = {
    "routes": [
        {
            "host": "api.example.test",
            "path_allowlist": ["/allowed", "/repos/a/"],
            "auth": {"scheme": "Bearer", "token_ref": "EGRESS_TEST_TOKEN"},
        },
        {"host": "other.example.test"},
        {"host": "methods.example.test", "methods": ["GET", "HEAD"]},
        {"host": "pass.example.test", "tls_passthrough": True},
        {"host": "plain.example.test"},
    ]
}


# --------------------------------------------------------------------------- fixtures


TOKEN_ENV = layout.token_environment(
    [("EGRESS_TEST_TOKEN", "api.example.test")], {"EGRESS_TEST_TOKEN": TOKEN}
)


@pytest.fixture(scope="module")
def egress(module_egress):
    return module_egress(ROUTES, env=TOKEN_ENV)


# --------------------------------------------------------------------------- CONNECT


def test_unrouted_connect_is_answered_inside_and_never_dialled(egress, quiet_upstream):
    """The CONNECT is accepted, TLS completes with the bottle's CA for that name (the
    handshake verifies), and the request inside gets the explanation: what curl,
    Python and node show. Nothing is resolved or dialled."""
    mark = egress.mark()
    answer, raw = tunnel(egress.port, "unrouted.example.test:443")
    assert answer.status == 200
    with mitm_tls(egress, raw, "unrouted.example.test") as s:
        r = request(s, "GET", "/x/y?z=1", "unrouted.example.test")
    assert_denied(r, "no route for host unrouted.example.test", 'host="unrouted.example.test"')
    connect_line, request_line = egress.decisions(mark)
    assert connect_line["kind"] == "connect" and connect_line["decision"] == "deny"
    assert connect_line["host"] == "unrouted.example.test" and connect_line["route"] is None
    assert request_line["kind"] == "request" and request_line["decision"] == "deny"
    assert request_line["path"] == "/x/y"


def test_a_connect_target_that_is_no_host_is_refused_at_the_connect(egress, quiet_upstream):
    answer, s = tunnel(egress.port, "exa mple:443")
    s.close()
    assert answer.status in (400, 403)


def test_connect_host_match_is_case_insensitive_and_ignores_trailing_dot(egress, upstream):
    answer, raw = tunnel(egress.port, "API.Example.TEST.:443")
    assert answer.status == 200
    with mitm_tls(egress, raw, "api.example.test") as s:
        r = request(s, "GET", "/allowed/x", "Api.Example.Test.")
    assert r.status == 200
    assert r.json()["path"] == "/allowed/x"


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1:443", "[::1]:443", "2130706433:443", "0x7f.1:443", "0177.0.0.1:443"],
)
def test_ip_literal_connect_is_refused(egress, quiet_upstream, target):
    answer, raw = tunnel(egress.port, target)
    assert answer.status == 200
    with mitm_tls(egress, raw, None) as s:
        r = request(s, "GET", "/", target)
    assert_denied(r, "IP address", "is not routed")


# --------------------------------------------------------------------------- requests in a tunnel


def test_allowed_request_gets_the_injected_token_never_the_agents(egress, upstream):
    mark = egress.mark()
    r = https(
        egress,
        "api.example.test",
        "GET",
        "/allowed/items?page=2",
        headers=[
            ("Authorization", AGENT_AUTH),
            ("authorization", "Basic YWdlbnQ6c2Vjb25k"),
            ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ],
    )
    assert r.status == 200, r
    assert r.upstream_header("authorization") == [f"Bearer {TOKEN}"]
    assert r.upstream_header("proxy-authorization") == []
    assert r.json()["path"] == "/allowed/items?page=2"  # forwarded as sent
    connect_line, request_line = egress.decisions(mark)
    assert connect_line["kind"] == "connect" and connect_line["decision"] == "allow"
    assert request_line == {
        **request_line,
        "decision": "allow",
        "kind": "request",
        "host": "api.example.test",
        "method": "GET",
        "path": "/allowed/items",
        "route": "api.example.test",
    }
    out = egress.stdout() + egress.stderr()
    assert TOKEN not in out
    assert "agent-placeholder" not in out
    assert "Zm9vOmJhcg" not in out and "YWdlbnQ6c2Vjb25k" not in out


def test_route_without_auth_passes_the_agents_authorization(egress, upstream):
    r = https(egress, "other.example.test", "GET", "/", headers=[("Authorization", "Basic x")])
    assert r.status == 200
    assert r.upstream_header("authorization") == ["Basic x"]


def test_other_host_header_inside_a_routed_tunnel_is_refused(egress, quiet_upstream):
    for host_header in ("other.example.test", "unrouted.example.test", "127.0.0.1"):
        r = https(egress, "api.example.test", "GET", "/allowed/x", host_header=host_header)
        assert_denied(r, "does not match the target host api.example.test")


def test_every_request_on_a_keep_alive_connection_is_checked(egress, upstream):
    mark = egress.mark()
    answer, raw = tunnel(egress.port, "api.example.test:443")
    assert answer.status == 200
    with mitm_tls(egress, raw, "api.example.test") as s:
        ok = request(s, "GET", "/allowed/1", "api.example.test")
        before = upstream.snapshot()
        bad_host = request(s, "GET", "/allowed/2", "other.example.test")
        two_hosts = request(s, "GET", "/allowed/3", ["api.example.test", "other.example.test"])
        bad_path = request(s, "GET", "/secret", "api.example.test")
        after = upstream.snapshot()
        ok_again = request(s, "GET", "/allowed/4", "api.example.test")
    assert ok.status == 200 and ok_again.status == 200
    assert_denied(bad_host, "other.example.test")
    assert_denied(two_hosts, "other.example.test")
    assert_denied(bad_path, "path '/secret' is outside the allowlist")
    assert after[1] == before[1]  # none of the three denied requests reached upstream
    # one JSON line per decision: the CONNECT and five requests
    lines = egress.decisions(mark)
    assert [(x["kind"], x["decision"]) for x in lines] == [
        ("connect", "allow"),
        ("request", "allow"),
        ("request", "deny"),
        ("request", "deny"),
        ("request", "deny"),
        ("request", "allow"),
    ]


def test_absolute_form_naming_another_host_inside_a_tunnel_is_refused(egress, quiet_upstream):
    answer, raw = tunnel(egress.port, "api.example.test:443")
    assert answer.status == 200
    with mitm_tls(egress, raw, "api.example.test") as s:
        r = request(s, "GET", "https://other.example.test/allowed/x", "api.example.test")
    assert_denied(r, "other.example.test does not match the target host api.example.test")


def test_plaintext_http_inside_a_tunnel_is_checked_too(egress, upstream):
    answer, s = tunnel(egress.port, "plain.example.test:80")
    assert answer.status == 200
    with s:
        ok = request(s, "GET", "/x", "plain.example.test")
        before = upstream.snapshot()
        bad = request(s, "GET", "/x", "unrouted.example.test")
        after = upstream.snapshot()
    assert ok.status == 200 and ok.json()["tls"] is False
    assert_denied(bad, "Host header unrouted.example.test does not match")
    assert after[1] == before[1]


@pytest.mark.parametrize(
    "path",
    [
        "/allowed/../secret",
        "/allowed/%2e%2e/secret",
        "/allowed/%2E%2E/secret",
        "/allowed/.%2e/secret",
        "/allowed%2f..%2fsecret",
        "/allowed/..%2fsecret",
        "/allowed//../secret",
        "/allowed/%252e%252e/secret",
        "/allowed/..;/secret",
        "/allowed/..%5csecret",
        "/x/../allowed/y",
        "/repos/a-evil",
        "/repos/a%2d-evil/..",
        "/Allowed/x",
    ],
)
def test_path_traversal_and_prefix_tricks_are_refused(egress, quiet_upstream, path):
    r = https(egress, "api.example.test", "GET", path)
    assert_denied(r)


@pytest.mark.parametrize(
    "path",
    [
        "/allowed",
        "/allowed/",
        "/allowed/x/y",
        "/repos/a",
        "/repos/a/pulls",
        "/allowed/x;v=1",
    ],
)
def test_allowlisted_paths_pass(egress, upstream, path):
    r = https(egress, "api.example.test", "GET", path)
    assert r.status == 200, r
    assert r.json()["path"] == path


def test_methods_are_enforced(egress, upstream):
    assert https(egress, "methods.example.test", "GET", "/x").status == 200
    before = upstream.snapshot()
    r = https(egress, "methods.example.test", "DELETE", "/x")
    assert_denied(r, "method DELETE is not allowed for host methods.example.test")
    assert upstream.snapshot()[1] == before[1]


def test_sni_of_an_unrouted_host_inside_a_routed_tunnel_is_refused(egress, quiet_upstream):
    for sni in ("unrouted.example.test", "other.example.test"):
        mark = egress.mark()
        answer, raw = tunnel(egress.port, "api.example.test:443")
        assert answer.status == 200
        with pytest.raises(OSError), mitm_tls(egress, raw, sni) as s:
            request(s, "GET", "/allowed/x", "api.example.test")
        tls_line = egress.wait_for_line(lambda r: r.get("kind") == "tls", since=mark)
        assert tls_line["decision"] == "deny"
        assert (
            f"TLS SNI {sni} does not match the CONNECT target api.example.test"
            in (tls_line["reason"])
        )


def test_non_http_bytes_in_a_tunnel_are_killed(egress, quiet_upstream):
    mark = egress.mark()
    answer, s = tunnel(egress.port, "api.example.test:443")
    assert answer.status == 200
    s.sendall(b"SSH-2.0-OpenSSH_9.2\r\n" + bytes(range(256)))
    s.settimeout(5)
    with contextlib.suppress(ConnectionResetError):
        assert s.recv(100) == b""  # closed, nothing relayed back
    s.close()
    line = egress.wait_for_line(lambda r: r.get("kind") == "tcp", since=mark)
    assert line["decision"] == "deny" and "non-HTTP bytes" in line["reason"]


def test_tls_passthrough_route_is_not_intercepted(egress, upstream, certs):
    answer, raw = tunnel(egress.port, "pass.example.test:443")
    assert answer.status == 200
    ctx = ssl.create_default_context(cafile=str(certs.ca_cert))  # the upstream's own CA
    with ctx.wrap_socket(raw, server_hostname="pass.example.test") as s:
        r = request(s, "GET", "/anything", "pass.example.test")
    assert r.status == 200 and r.json()["tls"] is True


def test_tls_passthrough_requires_an_sni(egress, quiet_upstream, certs):
    """Passed-through TLS goes out as sent: without an SNI egress could read, the
    upstream would pick whichever service it likes for it."""
    answer, raw = tunnel(egress.port, "pass.example.test:443")
    assert answer.status == 200
    mark = egress.mark()
    ctx = ssl.create_default_context(cafile=str(certs.ca_cert))
    ctx.check_hostname = False
    with pytest.raises(OSError), ctx.wrap_socket(raw, server_hostname=None) as s:
        request(s, "GET", "/", "pass.example.test")
    line = egress.wait_for_line(lambda r: r.get("kind") == "tls", since=mark)
    assert line["decision"] == "deny" and "must name it in its SNI" in line["reason"]


def test_tls_passthrough_still_requires_a_matching_sni(egress, quiet_upstream, certs):
    answer, raw = tunnel(egress.port, "pass.example.test:443")
    assert answer.status == 200
    mark = egress.mark()
    ctx = ssl.create_default_context(cafile=str(certs.ca_cert))
    with pytest.raises(OSError), ctx.wrap_socket(raw, server_hostname="other.example.test") as s:
        request(s, "GET", "/", "other.example.test")
    line = egress.wait_for_line(lambda r: r.get("kind") == "tls", since=mark)
    assert line["decision"] == "deny"
    assert (
        "TLS SNI other.example.test does not match the CONNECT target pass.example.test"
        in (line["reason"])
    )


def test_http2_is_not_offered_to_the_agent(egress, upstream):
    """HTTP/1.1 only: mitmproxy writes HTTP/2 requests out as HTTP/1, and a :path with
    CR LF or a body without a length then becomes a second request egress never saw."""
    answer, raw = tunnel(egress.port, "api.example.test:443")
    assert answer.status == 200
    with mitm_tls(egress, raw, "api.example.test", alpn=["h2", "http/1.1"]) as s:
        assert s.selected_alpn_protocol() == "http/1.1"
        assert request(s, "GET", "/allowed/h1", "api.example.test").status == 200


@pytest.mark.parametrize("alpn", [None, ["h2"]])
def test_an_http2_preface_is_refused_and_nothing_reaches_upstream(egress, quiet_upstream, alpn):
    import h2.config
    import h2.connection

    answer, raw = tunnel(egress.port, "api.example.test:443")
    assert answer.status == 200
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(
        sid,
        [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "api.example.test"),
            (":path", "/allowed/x HTTP/1.1\r\nHost: api.example.test\r\n\r\nDELETE /y"),
        ],
        end_stream=True,
    )
    back = b""
    with contextlib.suppress(OSError), mitm_tls(egress, raw, "api.example.test", alpn=alpn) as s:
        s.sendall(conn.data_to_send())
        s.settimeout(5)
        while chunk := s.recv(4096):
            back += chunk
    assert b" 200 " not in back


def test_large_bodies_stream_but_a_denied_upload_never_reaches_upstream(egress, upstream):
    big = b"x" * (3 * 1024 * 1024)  # above stream_large_bodies=1m
    r = https(egress, "api.example.test", "POST", "/allowed/upload", body=big)
    assert r.status == 200 and r.json()["body_len"] == len(big)
    before = upstream.snapshot()
    mark = egress.mark()
    # A small denied upload gets the explanatory 403 ...
    assert_denied(https(egress, "api.example.test", "POST", "/secret/a", body=b"{}"), "/secret/a")
    _answer, raw = tunnel(egress.port, "api.example.test:443")
    with mitm_tls(egress, raw, "api.example.test") as s:
        s.sendall(
            b"POST /secret/c HTTP/1.1\r\nHost: api.example.test\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        status, headers, _ = _read_head(s)
        assert status == 403 and b"/secret/c" in _read_body(s, headers)
    # ... and so does a large one (its body is read and dropped, never forwarded).
    assert_denied(https(egress, "api.example.test", "POST", "/secret/b", body=big), "/secret/b")
    assert upstream.snapshot()[1] == before[1]
    assert [x["decision"] for x in egress.decisions(mark) if x["kind"] == "request"] == [
        "deny",
        "deny",
        "deny",
    ]
    assert egress.proc.poll() is None
    assert "Traceback" not in egress.stderr(), egress.stderr()


# --------------------------------------------------------------------------- plain HTTP


def test_plain_http_to_an_unrouted_host_is_refused(egress, quiet_upstream):
    with connect(egress.port) as s:
        r = request(s, "GET", "http://unrouted.example.test/x", "unrouted.example.test")
    assert_denied(r, "no route for host unrouted.example.test")


def test_plain_http_to_a_routed_host_works_and_host_must_agree(egress, upstream):
    with connect(egress.port) as s:
        ok = request(s, "GET", "http://plain.example.test/hello", "plain.example.test")
        before = upstream.snapshot()
        bad = request(s, "GET", "http://plain.example.test/hello", "unrouted.example.test")
        after = upstream.snapshot()
    assert ok.status == 200 and ok.json()["tls"] is False
    assert_denied(bad, "Host header unrouted.example.test does not match")
    assert after[1] == before[1]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://2130706433/", "http://[::1]/", "http://0x7f.1/"]
)
def test_plain_http_to_an_ip_literal_is_refused(egress, quiet_upstream, url):
    host = url.split("/")[2]
    with connect(egress.port) as s:
        r = request(s, "GET", url, host)
    assert_denied(r, "IP address")


def test_origin_form_request_to_the_proxy_uses_the_host_header(egress, quiet_upstream):
    with connect(egress.port) as s:
        r = request(s, "GET", "/", "unrouted.example.test")
    assert_denied(r, "no route for host unrouted.example.test")


# --------------------------------------------------------------------------- the log


def test_every_log_line_is_json_and_holds_no_secret(egress):
    text = egress.stdout()
    records = [json.loads(line) for line in text.splitlines()]
    decisions = [r for r in records if "decision" in r]
    assert decisions
    for r in decisions:
        assert set(r) - {"stripped"} == {
            "time", "decision", "kind", "host", "port", "method", "path", "route", "reason"
        }  # fmt: skip
    assert TOKEN not in text and TOKEN not in egress.stderr()
    assert "agent-placeholder" not in text
    assert "Traceback" not in egress.stderr(), egress.stderr()


# --------------------------------------------------------------------------- reload, start-up


def test_sighup_reload_keeps_old_routes_on_a_bad_file_then_applies_a_good_one(start_egress):
    ep = start_egress({"routes": [{"host": "other.example.test"}]})
    assert https(ep, "other.example.test", "GET", "/").status == 200
    assert_denied(https(ep, "new.example.test", "GET", "/"), "no route for host new.example.test")

    for bad in ("{not json", json.dumps({"routes": [{"host": "x.test", "bogus": 1}]})):
        mark = ep.mark()
        ep.routes_file.write_text(bad)
        ep.proc.send_signal(signal.SIGHUP)
        line = ep.wait_for_line(lambda r: r.get("event") == "reload", since=mark)
        assert line["status"] == "error" and line["routes_kept"] == 1
        assert str(ep.routes_file) in line["error"]
        assert ep.proc.poll() is None
        assert https(ep, "other.example.test", "GET", "/").status == 200

    mark = ep.mark()
    ep.routes_file.write_text(
        json.dumps({"routes": [{"host": "other.example.test"}, {"host": "new.example.test"}]})
    )
    ep.proc.send_signal(signal.SIGHUP)
    line = ep.wait_for_line(lambda r: r.get("event") == "reload", since=mark)
    assert line["status"] == "ok" and line["routes"] == 2
    assert https(ep, "new.example.test", "GET", "/now").status == 200
    assert ep.proc.poll() is None


def test_a_bad_routes_file_stops_start_up_with_a_clear_error(start_egress):
    ep = start_egress({"routes": [{"host": "a.test", "tls_passthrough": True, "methods": ["GET"]}]},
                      wait=False)  # fmt: skip
    assert ep.proc.wait(30) == 1
    err = ep.stderr()
    assert "routes[0]" in err and "tls_passthrough cannot be combined with methods" in err
    assert not ep.ready_file.exists()


@pytest.mark.parametrize(
    ("slots", "fragment"),
    [
        ([], "token_ref EGRESS_TEST_TOKEN is not a token slot of this bottle"),
        ([("EGRESS_TEST_TOKEN", "other.example.test")], "belongs to other.example.test"),
    ],
)
def test_a_route_whose_token_slot_is_missing_or_another_hosts_stops_start_up(
    start_egress, slots, fragment
):
    env = layout.token_environment(slots, {"EGRESS_TEST_TOKEN": TOKEN})
    ep = start_egress(ROUTES, env=env, wait=False)
    assert ep.proc.wait(30) == 1
    assert fragment in ep.stderr()
    assert TOKEN not in ep.stderr() + ep.stdout()


def test_sigterm_stops_the_proxy_and_removes_the_ready_file(start_egress):
    ep = start_egress({"routes": []})
    assert ep.ready_file.exists()
    ep.proc.send_signal(signal.SIGTERM)
    assert ep.proc.wait(15) == 0
    assert not ep.ready_file.exists()
