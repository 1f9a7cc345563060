"""Bypass class: the route's token over plain HTTP.

A token goes out only on a request that leaves over verified TLS to one of the
route's ports. Every plain-HTTP way to a route with ``auth`` gets a 403 that says
why, and the token crosses nothing.
"""

from __future__ import annotations

import pytest
from bot_bottle_sidecars import layout
from egress_client import assert_denied, connect, request, tunnel

TOKEN = "tok-plain-7d2e-never-log-me"
ROUTES = {
    "routes": [
        {"host": "api.example.test", "auth": {"scheme": "Bearer", "token_ref": "PLAIN_TOKEN"}},
        {
            "host": "other.example.test",
            "ports": [80, 443],
            "auth": {"header": "x-api-key", "token_ref": "PLAIN_KEY"},
        },
    ]
}


@pytest.fixture(scope="module")
def egress(module_egress):
    env = layout.token_environment(
        [("PLAIN_TOKEN", "api.example.test"), ("PLAIN_KEY", "other.example.test")],
        {"PLAIN_TOKEN": TOKEN, "PLAIN_KEY": TOKEN + "-key"},
    )
    return module_egress(ROUTES, env=env)


@pytest.mark.parametrize(
    ("host", "target"),
    [
        ("api.example.test", "http://api.example.test/x"),
        ("api.example.test", "http://API.example.test./x"),
        ("api.example.test", "http://api.example.test:80/x"),
        ("other.example.test", "http://other.example.test/x"),  # port 80 is even listed
    ],
)
def test_absolute_form_plain_http_to_a_route_with_auth_is_refused(
    egress, quiet_upstream, host, target
):
    with connect(egress.port) as s:
        r = request(s, "GET", target, host)
    assert_denied(r, "only sends over verified TLS", f"https://{host}/")


@pytest.mark.parametrize("host", ["api.example.test", "other.example.test"])
def test_plain_http_inside_a_connect_tunnel_to_a_route_with_auth_is_refused(
    egress, quiet_upstream, host
):
    answer, s = tunnel(egress.port, f"{host}:80")
    assert answer.status == 200
    with s:
        r = request(s, "GET", "/x", host)
    assert_denied(r, "only sends over verified TLS")


def test_plain_http_to_port_443_of_a_route_with_auth_is_refused(egress, quiet_upstream):
    answer, s = tunnel(egress.port, "other.example.test:443")
    assert answer.status == 200
    with s:
        r = request(s, "GET", "/x", "other.example.test:443")  # no TLS inside the tunnel
    assert_denied(r, "only sends over verified TLS")


def test_absolute_https_url_sent_in_plain_to_the_proxy_goes_out_over_tls(egress, upstream):
    """``GET https://…`` to the proxy itself: the bottle-side leg is the bottle's own
    network, the upstream leg is TLS with the certificate checked, so the token may go."""
    with connect(egress.port) as s:
        r = request(s, "GET", "https://api.example.test/y", "api.example.test")
    assert r.status == 200, r
    assert r.json()["tls"] is True
    assert r.upstream_header("authorization") == [f"Bearer {TOKEN}"]


def test_the_token_is_in_no_log_line(egress):
    assert TOKEN not in egress.stdout() + egress.stderr()
