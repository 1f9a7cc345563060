"""Bypass class: path parameters and every other spelling of a path a server
could read differently, through the real proxy.

Each request tries to reach something outside ``/allowed`` or ``/repos/a/`` of
api.example.test; the fake upstream must see none of them. The property test
then sends generated paths and checks, for every one the proxy let through, that
no modelled server reading of what *arrived upstream* leaves the allowlist.
"""

from __future__ import annotations

import pytest
from bot_bottle_sidecars import layout
from egress_client import assert_denied, mitm_tls, request, tunnel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_routes_paths import PIECES, server_readings

TOKEN = "tok-paths-0b1c-never-log-me"
ROUTES = {
    "routes": [
        {
            "host": "api.example.test",
            "path_allowlist": ["/allowed", "/repos/a/"],
            "auth": {"scheme": "Bearer", "token_ref": "PATHS_TOKEN"},
        }
    ]
}
PREFIXES = ("/allowed", "/repos/a")


@pytest.fixture(scope="module")
def egress(module_egress):
    env = layout.token_environment([("PATHS_TOKEN", "api.example.test")], {"PATHS_TOKEN": TOKEN})
    return module_egress(ROUTES, env=env)


@pytest.fixture
def keepalive(egress):
    """One intercepted keep-alive tunnel to api.example.test."""
    answer, raw = tunnel(egress.port, "api.example.test:443")
    assert answer.status == 200
    with mitm_tls(egress, raw, "api.example.test") as s:
        yield s


@pytest.mark.parametrize(
    "path",
    [
        "/repos/a;evil",  # ';' right after the prefix: a sibling where ';' is literal
        "/repos/a;/../a-evil",
        "/allowed;x/../../secret",
        "/allowed/x;%2f..%2f..%2fsecret",  # encoded traversal inside a parameter
        "/allowed/x;/%2e%2e/%2e%2e/secret",
        "/allowed/..;/secret",
        "/allowed/..;jsessionid=1/secret",
        "/allowed;jsessionid=1/x",
        "/allowed/x%3b/../../secret",
        "/allowed/%2e%2e/secret",
        "/allowed/.%2e/secret",
        "/allowed%2f..%2fsecret",
        "/allowed/%EF%BC%8E%EF%BC%8E/secret",
        "/allowed/%c0%ae%c0%ae/secret",
        "/allowed/%252e%252e/secret",
        "/allowed/..%5csecret",
        "//allowed/../secret",
    ],
)
def test_path_parameter_and_encoding_forms_never_reach_upstream(egress, quiet_upstream, path):
    mark = egress.mark()
    _answer, raw = tunnel(egress.port, "api.example.test:443")
    with mitm_tls(egress, raw, "api.example.test") as s:
        r = request(s, "GET", path + "?q=1", "api.example.test")
    assert_denied(r)
    [line] = [x for x in egress.decisions(mark) if x["kind"] == "request"]
    # The decision log records the path as sent (without the query), not a cleaned copy.
    assert line["decision"] == "deny" and line["path"] == path


def _under_allowlist(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PREFIXES)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.sampled_from(["/allowed", "/allowed/", "/repos/a", "/repos/a/", "/"]),
    pieces=st.lists(PIECES.filter(lambda p: p not in ("?", "=")), max_size=6),
)
def test_whatever_the_proxy_lets_through_stays_in_the_allowlist_for_every_server(
    egress, upstream, keepalive, start, pieces
):
    path = start + "".join(pieces)
    before = len(upstream.requests)
    r = request(keepalive, "GET", path, "api.example.test")
    arrived = [x["path"] for x in upstream.requests[before:]]
    if r.status == 403:
        assert arrived == []
        return
    assert r.status == 200 and arrived == [path]  # forwarded as sent
    for reading, _decoded in server_readings(arrived[0]):
        assert _under_allowlist(reading), (path, reading)
