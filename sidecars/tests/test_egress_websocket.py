"""Bypass class: WebSocket upgrades (codex opens its API over one).

The upgrade request is an ordinary request to egress: the route's path
allowlist and methods apply to it, whatever form the upgrade headers take, and
a refused one never reaches upstream; over plain HTTP as through a tunnel.
"""

from __future__ import annotations

import pytest
from egress_client import assert_denied, connect, https, request

ROUTES = {
    "routes": [
        {"host": "api.example.test", "path_allowlist": ["/v1/responses"]},
        {"host": "methods.example.test", "methods": ["POST"]},
        {"host": "plain.example.test", "path_allowlist": ["/ws"]},
    ]
}
UPGRADE_FORMS = [
    [("Connection", "Upgrade"), ("Upgrade", "websocket")],
    [("Connection", "keep-alive, Upgrade"), ("Upgrade", "WebSocket")],
    [("connection", "upgrade"), ("upgrade", "websocket, h2c")],
]
WS = [("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]


@pytest.fixture(scope="module")
def egress(module_egress):
    return module_egress(ROUTES)


@pytest.mark.parametrize("upgrade", UPGRADE_FORMS)
@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("api.example.test", "/v1/other"),
        ("api.example.test", "/v1/responses/../other"),
        ("api.example.test", "/v1/responses%2f..%2fother"),
        ("methods.example.test", "/ws"),  # GET, and only POST is routed
    ],
)
def test_an_upgrade_outside_the_route_is_refused(egress, quiet_upstream, upgrade, host, path):
    assert_denied(https(egress, host, "GET", path, headers=[*upgrade, *WS]))


@pytest.mark.parametrize("upgrade", UPGRADE_FORMS)
def test_a_plain_http_upgrade_outside_the_route_is_refused(egress, quiet_upstream, upgrade):
    with connect(egress.port) as s:
        r = request(
            s, "GET", "http://plain.example.test/other", "plain.example.test", [*upgrade, *WS]
        )
    assert_denied(r)


def test_an_upgrade_on_the_route_reaches_upstream_as_a_checked_request(egress, upstream):
    r = https(egress, "api.example.test", "GET", "/v1/responses", headers=[*UPGRADE_FORMS[0], *WS])
    # The echoing upstream does not switch protocols: it answers the request,
    # which egress let through as any allowed GET.
    assert r.status == 200, r
    assert r.json()["path"] == "/v1/responses"
