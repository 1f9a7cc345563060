"""Policy decisions: hosts, ports per protocol, passthrough, methods, paths, tokens in clear."""

from __future__ import annotations

import pytest
from bot_bottle_sidecars.routes import parse_routes
from bot_bottle_sidecars.routes.policy import Policy

ROUTES, _ = parse_routes(
    {
        "routes": [
            {"host": "api.example.test", "path_allowlist": ["/allowed", "/repos/a/"]},
            {"host": "Whole.Example.Test."},
            {"host": "get.example.test", "methods": ["get", "HEAD"]},
            {"host": "pass.example.test", "tls_passthrough": True},
            {"host": "alt.example.test", "ports": [8443, 8080]},
            {"host": "auth.example.test", "auth": {"scheme": "Bearer", "token_ref": "T"}},
            {"host": "10.1.2.3"},
            {"host": "[2001:db8::1]"},
        ]
    }
)
POLICY = Policy(ROUTES)


def req(host: str, target: str = "/", *, port: int = 443, tls: bool = True, method: str = "GET"):
    return POLICY.request(host, port, tls=tls, method=method, target=target)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("api.example.test", True),
        ("API.EXAMPLE.TEST", True),
        ("api.example.test.", True),
        ("whole.example.test", True),
        ("api.example.test.evil", False),
        ("evil-api.example.test", False),
        ("sub.api.example.test", False),
        ("example.test", False),
        ("api.example.test..", False),
    ],
)
def test_host_match_is_exact_and_case_insensitive(host, allowed):
    assert req(host, "/allowed").allowed is allowed


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("10.1.2.3", True),
        ("[2001:db8::1]", True),
        ("2001:0db8:0:0::1", True),
        ("127.0.0.1", False),
        ("[::1]", False),
        ("167838211", False),  # 10.1.2.3 as one number never matches the routed address
        ("0xa.1.2.3", False),
        ("012.1.2.3", False),
        ("10.1.515", False),
    ],
)
def test_ip_literals_denied_unless_routed(host, allowed):
    decision = req(host)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason.startswith("IP address ") and "not routed" in decision.reason


def test_unrouted_host_reason_names_the_host():
    d = req("Nope.Example.Test", "/x")
    assert not d.allowed and d.route is None and d.ask
    assert d.reason == "no route for host nope.example.test"


# --------------------------------------------------------------------------- ports


@pytest.mark.parametrize("port", [22, 53, 8443, 8080, 1, 65535, 444])
def test_a_tunnel_to_another_port_of_a_routed_host_is_refused(port):
    d = POLICY.tunnel("whole.example.test", port)
    assert not d.allowed and f"port {port} is not routed" in d.reason
    assert "443 (https), 80 (http)" in d.reason


@pytest.mark.parametrize(("port", "ok"), [(443, True), (80, True), (8443, False)])
def test_default_tunnel_ports(port, ok):
    assert POLICY.tunnel("whole.example.test", port).allowed is ok


@pytest.mark.parametrize(
    ("port", "tls", "ok"),
    [(443, True, True), (80, False, True), (80, True, False), (443, False, False)],
)
def test_default_ports_are_443_for_https_and_80_for_plain_http(port, tls, ok):
    assert req("whole.example.test", port=port, tls=tls).allowed is ok


def test_listed_ports_replace_the_defaults_for_both_protocols():
    for port, ok in ((8443, True), (8080, True), (443, False), (80, False)):
        assert POLICY.tunnel("alt.example.test", port).allowed is ok
        assert req("alt.example.test", port=port, tls=True).allowed is ok
        assert req("alt.example.test", port=port, tls=False).allowed is ok


def test_passthrough_tunnels_only_to_443_and_no_readable_request_passes():
    assert POLICY.tunnel("pass.example.test", 443).allowed
    assert not POLICY.tunnel("pass.example.test", 80).allowed
    d = req("pass.example.test")
    assert not d.allowed and "passthrough" in d.reason and not d.ask


# --------------------------------------------------------------------------- methods, paths, auth


@pytest.mark.parametrize(
    ("method", "allowed"),
    [("GET", True), ("get", True), ("HEAD", True), ("POST", False), ("DELETE", False)],
)
def test_methods(method, allowed):
    d = req("get.example.test", "/x", method=method)
    assert d.allowed is allowed
    if not allowed:
        assert d.reason == (
            f"method {method.upper()} is not allowed for host get.example.test (allowed: GET, HEAD)"
        )


@pytest.mark.parametrize("method", ["G ET", "GET\r\n", "", "GÉT"])
def test_a_method_that_is_not_a_token_is_refused(method):
    assert not req("whole.example.test", method=method).allowed


def test_path_refusal_names_the_path_as_sent_and_the_host():
    d = req("api.example.test", "/repos/a;evil?x=1")
    assert not d.allowed
    assert "'/repos/a;evil'" in d.reason and "api.example.test" in d.reason


def test_whole_host_route_allows_any_path():
    for path in ("/", "/anything/../at/all", "/x%252e", "/a%3b"):
        assert req("whole.example.test", path, method="DELETE").allowed


def test_a_route_with_auth_is_refused_over_plain_http():
    assert req("auth.example.test").allowed
    d = req("auth.example.test", port=80, tls=False)
    assert not d.allowed and not d.ask
    assert "only sends over verified TLS" in d.reason and "https://auth.example.test/" in d.reason


def test_empty_policy_denies_everything():
    assert not Policy().request("a.test", 443, tls=True, method="GET", target="/").allowed
    assert not Policy().tunnel("a.test", 443).allowed


@pytest.mark.parametrize(
    "target",
    [
        "/x HTTP/1.1\r\nHost: whole.example.test\r\n\r\nDELETE /y",  # an HTTP/2 :path
        "https://attacker.example/collect",  # absolute form naming another host
        "/a b",
        "/\u00e9",
        "/x#frag",
        "x",
    ],
)
def test_every_route_refuses_a_target_that_is_not_a_plain_path(target):
    d = req("whole.example.test", target)
    assert not d.allowed and not d.ask, target
    assert "request target" in d.reason or "fragment" in d.reason


@pytest.mark.parametrize("method", ["TRACE", "trace", "TRACK", "DEBUG", "CONNECT"])
def test_methods_that_echo_or_tunnel_are_never_sent(method):
    d = req("whole.example.test", "/", method=method)
    assert not d.allowed and "egress never sends it" in d.reason
