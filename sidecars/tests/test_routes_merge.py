"""How a granted route joins the live routes (SPEC §7), as a table."""

from __future__ import annotations

import pytest
from bot_bottle_sidecars.routes import merge_route, parse_route, route_to_json

GH_AUTH = {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"}


def route(obj: dict):
    r, problems = parse_route(obj)
    assert not problems, problems
    return r


CASES = [
    pytest.param(
        [{"host": "a.test"}],
        {"host": "new.test", "path_allowlist": ["/x"]},
        [{"host": "a.test"}, {"host": "new.test", "path_allowlist": ["/x"]}],
        True,
        id="a new host is appended as asked",
    ),
    pytest.param(
        [{"host": "api.github.com", "path_allowlist": ["/repos/a"], "auth": GH_AUTH}],
        {"host": "api.github.com", "path_allowlist": ["/repos/b", "/repos/a"]},
        [{"host": "api.github.com", "path_allowlist": ["/repos/a", "/repos/b"], "auth": GH_AUTH}],
        False,
        id="a routed host gets the union of prefixes, its auth kept",
    ),
    pytest.param(
        [{"host": "api.github.com", "path_allowlist": ["/repos/a"]}],
        {"host": "API.GitHub.COM.", "path_allowlist": ["/repos/b"]},
        [{"host": "api.github.com", "path_allowlist": ["/repos/a", "/repos/b"]}],
        False,
        id="a case-variant host (and a trailing dot) is the same host",
    ),
    pytest.param(
        [{"host": "api.github.com", "path_allowlist": ["/repos/a"], "auth": GH_AUTH}],
        {
            "host": "api.github.com",
            "path_allowlist": ["/repos/a"],
            "auth": {"header": "x-api-key", "token_ref": "EVIL"},
        },
        [{"host": "api.github.com", "path_allowlist": ["/repos/a"], "auth": GH_AUTH}],
        False,
        id="the agent cannot change auth on a routed host",
    ),
    pytest.param(
        [{"host": "api.github.com"}],
        {"host": "api.github.com", "auth": {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"}},
        [{"host": "api.github.com"}],
        False,
        id="the agent cannot set auth on a routed host without one",
    ),
    pytest.param(
        [{"host": "a.test"}],
        {"host": "a.test", "path_allowlist": ["/only"]},
        [{"host": "a.test"}],
        False,
        id="a host already open in full stays open in full",
    ),
    pytest.param(
        [{"host": "a.test", "path_allowlist": ["/x"]}],
        {"host": "a.test"},
        [{"host": "a.test"}],
        False,
        id="asking for the whole host opens the whole host",
    ),
    pytest.param(
        [{"host": "a.test", "methods": ["GET"], "path_allowlist": ["/x"]}],
        {"host": "a.test", "path_allowlist": ["/y"]},
        [{"host": "a.test", "methods": ["GET"], "path_allowlist": ["/x", "/y"]}],
        False,
        id="methods stay as the operator set them",
    ),
    pytest.param(
        [{"host": "a.test", "ports": [8443]}],
        {"host": "a.test", "ports": [9443]},
        [{"host": "a.test", "ports": [8443, 9443]}],
        False,
        id="ports are joined",
    ),
    pytest.param(
        [{"host": "a.test"}],
        {"host": "a.test", "ports": [8443]},
        [{"host": "a.test", "ports": [443, 80, 8443]}],
        False,
        id="an extra port keeps the usual ones",
    ),
    pytest.param(
        [{"host": "a.test", "ports": [8443]}],
        {"host": "a.test"},
        [{"host": "a.test", "ports": [8443]}],
        False,
        id="asking without ports leaves the ports alone",
    ),
    pytest.param(
        [{"host": "p.test", "tls_passthrough": True}],
        {"host": "p.test", "path_allowlist": ["/x"]},
        [{"host": "p.test", "tls_passthrough": True}],
        False,
        id="a passthrough route is left as it is",
    ),
]


@pytest.mark.parametrize(("before", "asked", "after", "added"), CASES)
def test_merge(before, asked, after, added):
    routes = tuple(route(r) for r in before)
    merged = merge_route(routes, route(asked))
    assert [route_to_json(r) for r in merged.routes] == after
    assert merged.added is added
    assert merged.changed is ([route_to_json(r) for r in routes] != after)
    host = route(asked).host
    assert merged.route == next(r for r in merged.routes if r.host == host)


def test_merging_twice_changes_nothing_more():
    routes = (route({"host": "a.test", "path_allowlist": ["/x"]}),)
    asked = route({"host": "A.test", "path_allowlist": ["/y"]})
    once = merge_route(routes, asked)
    twice = merge_route(once.routes, asked)
    assert twice.routes == once.routes and not twice.changed
