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
