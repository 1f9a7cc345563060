"""The egress policy on its own: hosts, paths, methods, IP literals, routes files."""

from __future__ import annotations

import json

import pytest
from bot_bottle_sidecars.egress.policy import (
    Policy,
    Route,
    authority_mismatch,
    decide,
    is_ip_literal,
    load_routes,
    normalize_host,
    normalize_path,
    parse_routes,
    prefix_match,
    split_host_port,
)

POLICY = Policy(
    parse_routes(
        {
            "routes": [
                {"host": "api.example.test", "path_allowlist": ["/allowed", "/repos/a/"]},
                {"host": "Whole.Example.Test."},
                {"host": "get.example.test", "methods": ["get", "HEAD"]},
                {"host": "pass.example.test", "tls_passthrough": True},
                {"host": "10.1.2.3"},
                {"host": "[2001:db8::1]"},
                {"host": "root.example.test", "path_allowlist": ["/"]},
                {"host": "enc.example.test", "path_allowlist": ["/projects/group%2Fproj"]},
            ]
        }
    )
)


# --------------------------------------------------------------------------- hosts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("api.example.test", "api.example.test"),
        ("API.Example.TEST", "api.example.test"),
        ("api.example.test.", "api.example.test"),
        (" api.example.test ", "api.example.test"),
        ("[::1]", "::1"),
        ("::0:1", "::1"),
        ("[2001:DB8:0::1]", "2001:db8::1"),
        ("10.1.2.3", "10.1.2.3"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("under_score.example", "under_score.example"),
        ("2130706433", "2130706433"),
        ("0x7F.1", "0x7f.1"),
    ],
)
def test_normalize_host(raw, expected):
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", ".", "a..b", "exa mple.test", "a/b", "-a.test", "x" * 64 + ".test", "[nothex]"]
)
def test_normalize_host_rejects_garbage(raw):
    with pytest.raises(ValueError):
        normalize_host(raw)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.1.2.3",
        "::1",
        "[::1]",
        "fe80::1%eth0",
        "2130706433",  # 127.0.0.1 as one decimal number
        "0x7f000001",
        "0x7f.1",
        "0177.0.0.1",
        "127.1",
        "127.0.0.1.",
        "017700000001",
        "1.2.3.0x4",
    ],
)
def test_ip_literals(host):
    assert is_ip_literal(host)


@pytest.mark.parametrize(
    "host", ["api.example.test", "1.example.test", "0x.example.test", "localhost", "a1b2"]
)
def test_not_ip_literals(host):
    assert not is_ip_literal(host)


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
    assert POLICY.decide(host, "/allowed").allowed is allowed


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("10.1.2.3", True),
        ("[2001:db8::1]", True),
        ("2001:0db8:0:0::1", True),
        ("127.0.0.1", False),
        ("[::1]", False),
        ("167838211", False),  # 10.1.2.3 as a number: never matches the routed address
        ("0xa.1.2.3", False),
        ("012.1.2.3", False),
        ("10.1.515", False),
    ],
)
def test_ip_literals_denied_unless_routed(host, allowed):
    decision = POLICY.decide(host, "/")
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason.startswith("IP literal ") and "not routed" in decision.reason


def test_unrouted_host_reason_names_the_host():
    d = POLICY.decide("Nope.Example.Test", "/x", "GET")
    assert not d.allowed and d.route is None
    assert d.reason == "no route for host nope.example.test"


@pytest.mark.parametrize(
    ("authority", "expected"),
    [
        ("a.test", ("a.test", None)),
        ("a.test:8443", ("a.test", 8443)),
        ("[::1]:443", ("[::1]", 443)),
        ("[::1]", ("[::1]", None)),
        ("::1", ("::1", None)),
    ],
)
def test_split_host_port(authority, expected):
    assert split_host_port(authority) == expected


@pytest.mark.parametrize(
    "authority", ["", "a.test:", "a.test:x", "a.test:70000", "u@a.test", "[::1"]
)
def test_split_host_port_rejects(authority):
    with pytest.raises(ValueError):
        split_host_port(authority)


@pytest.mark.parametrize(
    ("target", "hosts", "sni", "problem"),
    [
        ("a.test", ["a.test"], None, None),
        ("a.test", ["A.TEST.:443"], "a.test.", None),
        ("a.test", ["a.test", "a.test"], "a.test", None),
        ("a.test", [], None, "names no Host header"),
        ("a.test", ["b.test"], None, "Host header b.test does not match the target host a.test"),
        ("a.test", ["a.test", "b.test"], None, "Host header b.test"),
        ("a.test", ["a.test"], "b.test", "TLS SNI b.test does not match the target host a.test"),
        ("a.test", ["a.test:x"], None, "malformed"),
        ("a.test", ["user@a.test"], None, "malformed"),
    ],
)
def test_authority_mismatch(target, hosts, sni, problem):
    result = authority_mismatch(target, hosts, sni)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("/a/b", "/a/b"),
        ("/a/b/", "/a/b/"),
        ("/a/./b", "/a/b"),
        ("/a/b/..", "/a/"),
        ("/a/../../../b", "/b"),
        ("/a//b", "/a/b"),
        ("//a///b", "/a/b"),
        ("/a/b?x=1&y=/../..", "/a/b"),
        ("/a/b#frag", "/a/b"),
        ("/a;jsessionid=123/b", "/a/b"),
        ("/a/b;v=1", "/a/b"),
        ("/%61%2Fb", "/a/b"),
        ("/a/%2e%2e/b", "/b"),
        ("/a/%2E%2E/b", "/b"),
        ("/a/.%2e/b", "/b"),
        ("/a%2f..%2fb", "/b"),
        ("/a/..;/b", "/b"),
        ("/caf%C3%A9", "/café"),
        ("/100%25", "/100%"),
    ],
)
def test_normalize_path(raw, expected):
    assert normalize_path(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("*", "asterisk"),
        ("a/b", "does not start with '/'"),
        ("/a/%252e%252e/b", "twice"),
        ("/a/%252fb", "twice"),
        ("/a/%zz", "malformed"),
        ("/a/%2", "malformed"),
        ("/a/%00b", "control"),
        ("/a/%0d%0a", "control"),
        ("/a\\..\\b", "backslash"),
        ("/a/..%5cb", "encoded backslash"),
        ("/a%3b/b", "';'"),
        ("/a%3F/../b", "'?'"),
        ("/a%23/../b", "'#'"),
        ("/%ff", "UTF-8"),
    ],
)
def test_normalize_path_refuses_what_it_cannot_check(raw, why):
    with pytest.raises(ValueError, match=why):
        normalize_path(raw)


@pytest.mark.parametrize(
    ("path", "prefix", "matches"),
    [
        ("/repos/a", "/repos/a", True),
        ("/repos/a/", "/repos/a", True),
        ("/repos/a/x", "/repos/a", True),
        ("/repos/a/x", "/repos/a/", True),
        ("/repos/a", "/repos/a/", True),
        ("/repos/a-evil", "/repos/a", False),
        ("/repos/a-evil", "/repos/a/", False),
        ("/repos/ab", "/repos/a", False),
        ("/repos", "/repos/a", False),
        ("/anything", "/", True),
        ("/", "/", True),
    ],
)
def test_prefix_match_on_segment_boundaries(path, prefix, matches):
    assert prefix_match(path, prefix) is matches


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/allowed", True),
        ("/allowed/", True),
        ("/allowed/x?q=1", True),
        ("/allowed;jsessionid=1/x", True),
        ("/allowed/./x", True),
        ("/allowed/x/../y", True),
        ("/allowed//x", True),
        ("/repos/a", True),
        ("/repos/a/pulls/1", True),
        ("/allowed/../secret", False),
        ("/allowed/%2e%2e/secret", False),
        ("/allowed/%2E%2E/secret", False),
        ("/allowed/.%2E/secret", False),
        ("/allowed%2f..%2fsecret", False),
        ("/allowed/..%2Fsecret", False),
        ("/allowed//../secret", False),
        ("/allowed/%252e%252e/secret", False),
        ("/allowed/..;/secret", False),
        ("/allowed/..%3b/secret", False),
        ("/allowed/..\\secret", False),
        ("/x/../allowed", False),  # fine once resolved, outside as sent
        ("/allowedx", False),
        ("/allowed-evil", False),
        ("/repos/a-evil", False),
        ("/repos/a%2d-evil", False),
        ("/Allowed", False),
        ("/secret?/allowed", False),
        ("/", False),
        ("", False),
        ("*", False),
    ],
)
def test_path_allowlist(path, allowed):
    d = POLICY.decide("api.example.test", path, "GET")
    assert d.allowed is allowed, d.reason
    if not allowed:
        assert d.route is not None and d.route.host == "api.example.test"


def test_path_denial_names_path_allowlist_and_host():
    d = POLICY.decide("api.example.test", "/allowed/../secret?token=x", "GET")
    assert (
        d.reason
        == "path /secret is not in the allowlist [/allowed, /repos/a/] of host api.example.test"
    )
    assert d.path == "/secret"


def test_encoded_slash_in_prefix_is_normalised_the_same_way():
    assert POLICY.decide("enc.example.test", "/projects/group%2Fproj/issues").allowed
    assert POLICY.decide("enc.example.test", "/projects/group/proj").allowed
    assert not POLICY.decide("enc.example.test", "/projects/group%2Fother").allowed


def test_whole_host_route_allows_any_path_even_odd_ones():
    for path in ("/", "/anything/../at/all", "/x%252e", "/a%3b"):
        assert POLICY.decide("whole.example.test", path, "DELETE").allowed


def test_root_prefix_allows_every_normal_path():
    assert POLICY.decide("root.example.test", "/a/b").allowed
    assert not POLICY.decide("root.example.test", "/a/%252e").allowed  # still must be checkable


# --------------------------------------------------------------------------- methods, host-only


@pytest.mark.parametrize(
    ("method", "allowed"),
    [("GET", True), ("get", True), ("HEAD", True), ("POST", False), ("DELETE", False)],
)
def test_methods(method, allowed):
    d = POLICY.decide("get.example.test", "/x", method)
    assert d.allowed is allowed
    if not allowed:
        assert d.reason == (
            f"method {method.upper()} is not allowed for host get.example.test (allowed: GET, HEAD)"
        )


def test_host_only_question_ignores_paths_and_methods():
    assert POLICY.decide("api.example.test").allowed
    assert POLICY.decide("get.example.test").allowed
    assert not POLICY.decide("nope.example.test").allowed


def test_tls_passthrough_route():
    d = POLICY.decide("pass.example.test")
    assert d.allowed and d.route is not None and d.route.tls_passthrough
    assert not POLICY.decide("api.example.test").route.tls_passthrough


def test_functional_decide_and_route_for():
    routes = (Route("a.test"),)
    assert decide(routes, "A.test", "/x", "GET").allowed
    assert Policy(routes).route_for("A.TEST.") == routes[0]
    assert Policy(routes).route_for("bad host") is None


def test_empty_policy_denies_everything():
    assert not Policy().decide("a.test", "/").allowed


# --------------------------------------------------------------------------- routes files


def test_load_routes_full_example(tmp_path):
    f = tmp_path / "routes.json"
    f.write_text(
        json.dumps(
            {
                "routes": [
                    {
                        "host": "API.GitHub.com",
                        "path_allowlist": ["/repos/acme/app/", "/user"],
                        "methods": ["get", "POST"],
                        "auth": {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"},
                    },
                    {"host": "registry.npmjs.org", "tls_passthrough": True},
                    {"host": "pypi.org", "path_allowlist": None, "auth": None, "methods": None},
                ]
            }
        )
    )
    routes = load_routes(f)
    assert routes == (
        Route(
            host="api.github.com",
            path_allowlist=("/repos/acme/app/", "/user"),
            methods=("GET", "POST"),
            auth=("Bearer", "GITHUB_TOKEN"),
            tls_passthrough=False,
        ),
        Route(host="registry.npmjs.org", tls_passthrough=True),
        Route(host="pypi.org"),
    )


def test_empty_routes_list_is_valid(tmp_path):
    f = tmp_path / "r.json"
    f.write_text('{"routes": []}')
    assert load_routes(f) == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "top level must be an object"),
        ({}, "missing the 'routes' list"),
        ({"routes": {}}, "'routes' must be a list"),
        ({"routes": [], "extra": 1}, "unknown top-level key(s) extra"),
        ({"routes": ["a.test"]}, "routes[0]: must be an object"),
        ({"routes": [{}]}, "routes[0]: missing required key 'host'"),
        ({"routes": [{"host": ""}]}, "routes[0].host: must be a non-empty string"),
        ({"routes": [{"host": 5}]}, "routes[0].host: must be a non-empty string"),
        ({"routes": [{"host": "*.a.test"}]}, "wildcards are not supported"),
        ({"routes": [{"host": "https://a.test"}]}, "bare host name"),
        ({"routes": [{"host": "a.test:443"}]}, "bare host name"),
        ({"routes": [{"host": "[::1]:443"}]}, "bare host name"),
        ({"routes": [{"host": "a b.test"}]}, "routes[0].host"),
        ({"routes": [{"host": "2130706433"}]}, "non-standard IP address form"),
        ({"routes": [{"host": "a.test", "bogus": 1}]}, "routes[0]: unknown key(s) bogus"),
        ({"routes": [{"host": "a.test"}, {"host": "A.TEST."}]}, "routes[1].host: duplicate host"),
        ({"routes": [{"host": "a.test", "path_allowlist": "/x"}]}, "must be a list"),
        ({"routes": [{"host": "a.test", "path_allowlist": []}]}, "is empty"),
        ({"routes": [{"host": "a.test", "path_allowlist": ["x"]}]}, "path_allowlist[0]"),
        ({"routes": [{"host": "a.test", "path_allowlist": ["/a?b"]}]}, "query or fragment"),
        ({"routes": [{"host": "a.test", "path_allowlist": ["/a/../b"]}]}, "'..' segments"),
        ({"routes": [{"host": "a.test", "path_allowlist": ["/a/%252e"]}]}, "twice"),
        ({"routes": [{"host": "a.test", "path_allowlist": [7]}]}, "path_allowlist[0]"),
        ({"routes": [{"host": "a.test", "methods": []}]}, "non-empty list"),
        ({"routes": [{"host": "a.test", "methods": ["GE T"]}]}, "methods[0]"),
        ({"routes": [{"host": "a.test", "methods": ["CONNECT"]}]}, "CONNECT"),
        ({"routes": [{"host": "a.test", "auth": "Bearer x"}]}, "routes[0].auth"),
        ({"routes": [{"host": "a.test", "auth": {"scheme": "Bearer"}}]}, "auth.token_ref"),
        (
            {"routes": [{"host": "a.test", "auth": {"scheme": "Bearer", "token_ref": "1X"}}]},
            "not an environment variable name",
        ),
        (
            {"routes": [{"host": "a.test", "auth": {"scheme": "a b", "token_ref": "X"}}]},
            "auth.scheme",
        ),
        (
            {"routes": [{"host": "a.test", "auth": {"scheme": "B", "token_ref": "X", "t": 1}}]},
            "unknown key(s) t",
        ),
        ({"routes": [{"host": "a.test", "tls_passthrough": "yes"}]}, "true or false"),
        (
            {
                "routes": [
                    {
                        "host": "a.test",
                        "tls_passthrough": True,
                        "auth": {"scheme": "Bearer", "token_ref": "T"},
                    }
                ]
            },
            "tls_passthrough cannot be combined with auth",
        ),
        (
            {"routes": [{"host": "a.test", "tls_passthrough": True, "path_allowlist": ["/"]}]},
            "tls_passthrough cannot be combined with path_allowlist",
        ),
    ],
)
def test_bad_routes_are_refused_with_a_clear_message(tmp_path, data, message):
    f = tmp_path / "routes.json"
    f.write_text(json.dumps(data))
    with pytest.raises(ValueError) as info:
        load_routes(f)
    assert message in str(info.value)
    assert str(info.value).startswith(str(f))


def test_unreadable_routes_files(tmp_path):
    with pytest.raises(ValueError, match="routes file not found"):
        load_routes(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_routes(bad)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match="cannot read"):
        load_routes(binary)
