"""Hosts, IP literals and authorities as egress compares them."""

from __future__ import annotations

import pytest
from bot_bottle_sidecars.routes.hosts import (
    authority_mismatch,
    host_problem,
    is_ip_literal,
    normalize_host,
    split_host_port,
)


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
    ("raw", "fragment"),
    [
        ("", "empty"),
        (" ", "empty"),
        ("https://a.test", "without a scheme: write 'a.test'"),
        ("a.test:443", "port"),
        ("[::1]:443", "port"),
        ("*.a.test", "wildcards"),
        ("a.test/x", "path"),
        ("u@a.test", "user"),
        ("a b.test", "whitespace"),
        ("bücher.test", "punycode"),
        ("2130706433", "non-standard IP address form"),
        ("127.1", "non-standard IP address form"),
        ("1.2.3", "non-standard"),
        ("a..b", "bad label"),
        ("-a.com", "bad label"),
        ("x" * 64 + ".test", "bad label"),
    ],
)
def test_route_host_problems(raw, fragment):
    problem = host_problem(raw)
    assert problem is not None and fragment in problem, problem


@pytest.mark.parametrize(
    "raw", ["api.github.com", "API.GitHub.com.", "a_b.com", "10.0.0.1", "::1", "[2001:db8::1]"]
)
def test_route_hosts_accepted(raw):
    assert host_problem(raw) is None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "10.1.2.3", "::1", "[::1]", "fe80::1%eth0", "2130706433", "0x7f000001",
        "0x7f.1", "0177.0.0.1", "127.1", "127.0.0.1.", "017700000001", "1.2.3.0x4",
    ],
)  # fmt: skip
def test_ip_literals(host):
    assert is_ip_literal(host)


@pytest.mark.parametrize(
    "host", ["api.example.test", "1.example.test", "0x.example.test", "localhost", "a1b2"]
)
def test_not_ip_literals(host):
    assert not is_ip_literal(host)


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
    "authority", ["", "a.test:", "a.test:x", "a.test:70000", "u@a.test", "[::1", "a.test:٤٤٣"]
)
def test_split_host_port_rejects(authority):
    with pytest.raises(ValueError):
        split_host_port(authority)


@pytest.mark.parametrize(
    ("hosts", "sni", "problem"),
    [
        (["a.test"], None, None),
        (["A.TEST.:443"], "a.test.", None),
        (["a.test", "a.test"], "a.test", None),
        ([], None, "names no Host header"),
        (["b.test"], None, "Host header b.test does not match the target host a.test"),
        (["a.test", "b.test"], None, "Host header b.test"),
        (["a.test"], "b.test", "TLS SNI b.test does not match the target host a.test"),
        (["a.test:x"], None, "malformed"),
        (["user@a.test"], None, "malformed"),
        (["a.test:8443"], None, "Host header port 8443 does not match the target port 443"),
        (["a.test:80"], None, "port 80"),
    ],
)
def test_authority_mismatch(hosts, sni, problem):
    result = authority_mismatch("a.test", 443, hosts, sni, default_port=443)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result, result
