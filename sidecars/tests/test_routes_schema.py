"""The route schema and the routes file: every problem, each at its place."""

from __future__ import annotations

import json

import pytest
from bot_bottle_sidecars.routes import (
    Route,
    RouteAuth,
    check_route,
    load_routes,
    parse_route,
    parse_routes,
    route_to_json,
    routes_document,
)
from hypothesis import given
from hypothesis import strategies as st


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
                    {"host": "registry.npmjs.org", "tls_passthrough": True, "ports": [443]},
                    {
                        "host": "api.anthropic.com",
                        "auth": {"header": "X-Api-Key", "token_ref": "K"},
                    },
                    {"host": "pypi.org", "path_allowlist": None, "auth": None, "methods": None},
                ]
            }
        )
    )
    assert load_routes(f) == (
        Route(
            host="api.github.com",
            path_allowlist=("/repos/acme/app/", "/user"),
            methods=("GET", "POST"),
            auth=RouteAuth(scheme="Bearer", token_ref="GITHUB_TOKEN"),
        ),
        Route(host="registry.npmjs.org", ports=(443,), tls_passthrough=True),
        Route(host="api.anthropic.com", auth=RouteAuth(header="x-api-key", token_ref="K")),
        Route(host="pypi.org"),
    )


def test_auth_header_forms():
    bearer = RouteAuth(scheme="Bearer", token_ref="T")
    assert (bearer.header_name, bearer.header_value("s3")) == ("Authorization", "Bearer s3")
    key = RouteAuth(header="x-api-key", token_ref="T")
    assert (key.header_name, key.header_value("s3")) == ("x-api-key", "s3")


def test_empty_routes_list_is_valid(tmp_path):
    f = tmp_path / "r.json"
    f.write_text('{"routes": []}')
    assert load_routes(f) == ()


def _r(**route: object) -> dict:
    return {"routes": [{"host": "a.test", **route}]}


def _auth(**auth: object) -> dict:
    return _r(auth=auth)


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        ([], "", "top level must be a mapping"),
        ({}, "routes", "'routes' must be a list"),
        ({"routes": {}}, "routes", "'routes' must be a list"),
        ({"routes": [], "extra": 1}, "extra", "unknown key 'extra'"),
        ({"routes": ["a.test"]}, "routes[0]", "must be a mapping"),
        ({"routes": [{}]}, "routes[0].host", "required key 'host' is missing"),
        ({"routes": [{"host": ""}]}, "routes[0].host", "must not be empty"),
        ({"routes": [{"host": 5}]}, "routes[0].host", "expected a string, got a number (5)"),
        ({"routes": [{"host": "a.test"}, {"host": "A.TEST."}]}, "routes[1].host", "duplicate"),
        (_r(bogus=1), "routes[0].bogus", "unknown key"),
        (_r(method=1), "routes[0].method", "did you mean 'methods'"),
        (_r(path_allowlist="/x"), "routes[0].path_allowlist", "write it as a list"),
        (_r(path_allowlist=[]), "routes[0].path_allowlist", "empty"),
        (_r(path_allowlist=[7]), "routes[0].path_allowlist[0]", "expected a string"),
        (_r(path_allowlist=["/a/../b"]), "routes[0].path_allowlist[0]", "'..' segments"),
        (_r(methods=[]), "routes[0].methods", "empty"),
        (_r(methods=["GE T"]), "routes[0].methods[0]", "unknown HTTP method"),
        (_r(methods=["CONNECT"]), "routes[0].methods[0]", "unknown HTTP method"),
        (_r(ports=[]), "routes[0].ports", "empty"),
        (_r(ports=443), "routes[0].ports", "list of port numbers"),
        (_r(ports=[0]), "routes[0].ports[0]", "1 to 65535"),
        (_r(ports=[65536]), "routes[0].ports[0]", "1 to 65535"),
        (_r(ports=[True]), "routes[0].ports[0]", "boolean"),
        (_r(ports=["443"]), "routes[0].ports[0]", "string"),
        (_r(auth="Bearer x"), "routes[0].auth", "mapping"),
        (_auth(scheme="Bearer"), "routes[0].auth.token_ref", "missing"),
        (_auth(token_ref="T"), "routes[0].auth", "exactly one"),
        (_auth(scheme="B", header="x-k", token_ref="T"), "routes[0].auth", "exactly one"),
        (_auth(scheme="Bearer", token_ref="1X"), "routes[0].auth.token_ref", "variable name"),
        (_auth(scheme="a b", token_ref="X"), "routes[0].auth.scheme", "one word"),
        (_auth(header="a b", token_ref="X"), "routes[0].auth.header", "header name"),
        (_auth(header="Host", token_ref="X"), "routes[0].auth.header", "frames or routes"),
        (_auth(header="X-Forwarded-Host", token_ref="X"), "routes[0].auth.header", "routes"),
        (_auth(header="Authorization", token_ref="X"), "routes[0].auth.header", "its scheme"),
        (_auth(scheme="B", token_ref="X", t=1), "routes[0].auth.t", "unknown key"),
        (_r(tls_passthrough="yes"), "routes[0].tls_passthrough", "true or false"),
        (
            _r(tls_passthrough=True, auth={"scheme": "B", "token_ref": "T"}),
            "routes[0].tls_passthrough",
            "cannot be combined with auth",
        ),
        (
            _r(tls_passthrough=True, path_allowlist=["/"]),
            "routes[0].tls_passthrough",
            "path_allowlist",
        ),
        (_r(tls_passthrough=True, methods=["GET"]), "routes[0].tls_passthrough", "methods"),
    ],
)
def test_bad_routes_are_refused_with_a_clear_message(tmp_path, data, where, message):
    _, problems = parse_routes(data)
    assert [(p.where(), message in p.message) for p in problems] == [(where, True)], problems
    f = tmp_path / "routes.json"
    f.write_text(json.dumps(data))
    with pytest.raises(ValueError) as info:
        load_routes(f)
    assert str(info.value).startswith(f"{f}: {where}")


def test_every_problem_of_a_route_is_reported_at_once():
    _, problems = parse_route(
        {"host": "x.test:1", "methods": ["NOPE"], "ports": [0], "auth": {"token_ref": "1"}}
    )
    assert {p.where() for p in problems} == {
        "host",
        "methods[0]",
        "ports[0]",
        "auth.token_ref",
        "auth",
    }


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


def test_a_route_built_in_code_is_checked_by_the_same_rules():
    assert (
        check_route(
            Route(host="api.anthropic.com", auth=RouteAuth(header="x-api-key", token_ref="K"))
        )
        == []
    )
    assert check_route(Route(host="API.anthropic.com"))  # not in normal form
    assert check_route(Route(host="a.test", ports=(0,)))
    with pytest.raises(ValueError):
        Route(host="a.test", path_allowlist=("/a/../b",))


VALID = st.builds(
    dict,
    host=st.sampled_from(["a.test", "10.0.0.1", "::1", "b_c.test"]),
    path_allowlist=st.none()
    | st.lists(st.sampled_from(["/", "/a", "/a/b/", "/x%20y"]), min_size=1),
    methods=st.none() | st.lists(st.sampled_from(["GET", "post", "DELETE"]), min_size=1),
    ports=st.none() | st.lists(st.integers(1, 65535), min_size=1),
    auth=st.none()
    | st.sampled_from(
        [{"scheme": "Bearer", "token_ref": "T"}, {"header": "x-key", "token_ref": "_K"}]
    ),
)


@given(VALID)
def test_valid_routes_round_trip_through_their_json(data):
    route, problems = parse_route(data)
    assert problems == [] and route is not None
    again, problems = parse_route(json.loads(json.dumps(route_to_json(route))))
    assert again == route
    assert parse_routes(routes_document([route])) == ((route,), [])
