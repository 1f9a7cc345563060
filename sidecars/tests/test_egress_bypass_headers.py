"""Bypass class: header tricks.

Folded header lines (obs-fold) and header values with CR, LF or NUL are read
differently by different servers (a bare CR can hide a ``Transfer-Encoding``
egress never saw): refused. Routing-override headers make servers act on another
method, path or host than egress checked: stripped before the request leaves.
"""

from __future__ import annotations

import pytest
from egress_client import assert_denied, https, https_raw

ROUTES = {
    "routes": [
        {"host": "api.example.test", "path_allowlist": ["/allowed"], "methods": ["GET"]},
    ]
}


@pytest.fixture(scope="module")
def egress(module_egress):
    return module_egress(ROUTES)


@pytest.mark.parametrize(
    "header",
    [
        b"X-A: one\r\n two",  # obs-fold with a space
        b"X-A: one\r\n\tX-HTTP-Method-Override: DELETE",  # obs-fold with a tab
        b"X-A: a\rTransfer-Encoding: chunked",  # bare CR
        b"X-A: a\rX-Original-URL: /admin",
        b"X-A: a\x00b",  # NUL
        b"Accept: text/html\r\n  ; q=1",
    ],
)
def test_folded_and_split_header_lines_are_refused(egress, quiet_upstream, header):
    head = b"GET /allowed/x HTTP/1.1\r\nHost: api.example.test\r\n" + header
    r = https_raw(egress, "api.example.test", head)
    assert_denied(r, "line break or NUL")


@pytest.mark.parametrize(
    "header", [b"X-A : v", b"X A: v", b"X@A: v", b"\x00X: v", b"X\x7fA: v", b" X-A: v"]
)
def test_header_names_that_are_not_tokens_never_reach_upstream(egress, quiet_upstream, header):
    head = b"GET /allowed/x HTTP/1.1\r\nHost: api.example.test\r\n" + header
    r = https_raw(egress, "api.example.test", head)
    assert r.status in (400, 403), r  # mitmproxy's parser or egress: either way, refused


OVERRIDES = [
    ("X-HTTP-Method-Override", "DELETE"),
    ("x-http-method", "DELETE"),
    ("X-Method-Override", "DELETE"),
    ("X-Original-URL", "/admin"),
    ("X-Original-URI", "/admin"),
    ("X-Rewrite-URL", "/admin"),
    ("X-Forwarded-Host", "evil.example.test"),
    ("X-Forwarded-Prefix", "/admin"),
    ("X-Forwarded-Path", "/admin"),
    ("X-FORWARDED-PROTO", "http"),
    ("Forwarded", "host=evil.example.test;proto=http"),
    ("X-Host", "evil.example.test"),
]


@pytest.mark.parametrize(("name", "value"), OVERRIDES)
def test_routing_override_headers_are_stripped(egress, upstream, name, value):
    mark = egress.mark()
    r = https(
        egress, "api.example.test", "GET", "/allowed/x", headers=[(name, value), ("X-Kept", "1")]
    )
    assert r.status == 200, r
    seen = {k.lower() for k, _ in r.json()["headers"]}
    assert name.lower() not in seen
    assert "x-kept" in seen  # an ordinary header goes through
    line = [x for x in egress.decisions(mark) if x["kind"] == "request"][-1]
    assert [s.lower() for s in line["stripped"]] == [name.lower()]


def test_every_override_at_once_and_repeated_is_stripped(egress, upstream):
    headers = [*OVERRIDES, *OVERRIDES]
    r = https(egress, "api.example.test", "GET", "/allowed/x", headers=headers)
    assert r.status == 200
    seen = {k.lower() for k, _ in r.json()["headers"]}
    assert not seen & {n.lower() for n, _ in OVERRIDES}


def test_a_method_override_cannot_defeat_the_methods_rule(egress, upstream):
    r = https(
        egress,
        "api.example.test",
        "POST",
        "/allowed/x",
        headers=[("X-HTTP-Method-Override", "GET")],
    )
    assert_denied(r, "method POST is not allowed")


@pytest.mark.parametrize("method", ["TRACE", "TRACK"])
def test_trace_never_reaches_upstream_to_echo_a_token(egress, quiet_upstream, method):
    r = https(egress, "api.example.test", method, "/allowed/x")
    assert_denied(r, f"method {method} echoes the request back")


def test_malformed_framing_is_refused_logged_and_no_traceback(egress, quiet_upstream):
    mark = egress.mark()
    head = (
        b"POST /allowed/x HTTP/1.1\r\nHost: api.example.test\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 40"
    )
    r = https_raw(
        egress, "api.example.test", head, b"0\r\n\r\nGET /secret HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert r.status == 400
    line = egress.wait_for_line(lambda x: x.get("kind") == "request", since=mark)
    assert line["decision"] == "deny" and "malformed request" in line["reason"]
    assert "Traceback" not in egress.stderr()


@pytest.mark.parametrize(
    "host",
    [
        "\uff41\uff50\uff49.example.test".encode(),  # full-width "api"
        "api.example.te\u017ft".encode(),  # long s, which IDNA maps to "s"
        b"api.example.test\xff",
    ],
)
def test_a_host_header_that_is_not_ascii_is_refused(egress, quiet_upstream, host):
    """egress would map it (IDNA, full-width forms) onto the route; the server reads it as sent."""
    r = https_raw(egress, "api.example.test", b"GET /allowed/x HTTP/1.1\r\nHost: " + host)
    assert_denied(r, "not ASCII")


@pytest.mark.parametrize("version", [b"HTTP/1.2", b"HTTP/2.0", b"HTTP/9.9"])
def test_other_http_versions_are_refused(egress, quiet_upstream, version):
    r = https_raw(
        egress, "api.example.test", b"GET /allowed/x " + version + b"\r\nHost: api.example.test"
    )
    assert r.status in (400, 403), r
