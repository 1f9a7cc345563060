"""One route model: whatever `config check` accepts, the egress sidecar loads, and
whatever one refuses, the other refuses, at the same place.

Hypothesis writes manifests whose routes mix valid and broken values of every
key; each goes through the core's loader (YAML, cattrs, the checks) and, as the
JSON the sidecar would read, through the sidecar's own loader.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from bot_bottle_sidecars.routes import load_routes, parse_routes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot_bottle_core.config import ConfigError, load_config
from bot_bottle_core.home import Home
from bot_bottle_core.routes_file import write_routes

GOOD = {
    "host": st.sampled_from(
        [
            "api.example.test",
            "API.Example.Test.",
            "a_b.example.test",
            "10.0.0.7",
            "::1",
            "[2001:db8::1]",
            "xn--bcher-kva.test",
        ]
    ),
    "path_allowlist": st.lists(
        st.sampled_from(["/", "/repos/a", "/repos/a/", "/files/my%20dir", "/v1/messages"]),
        min_size=1,
        max_size=3,
    ),
    "methods": st.lists(st.sampled_from(["GET", "get", "POST", "DELETE"]), min_size=1, max_size=3),
    "ports": st.lists(st.sampled_from([443, 80, 8443, 1, 65535]), min_size=1, max_size=3),
    "auth": st.sampled_from(
        [
            {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"},
            {"header": "x-api-key", "token_ref": "_T"},
            {"header": "X-Goog-Api-Key", "token_ref": "K1"},
        ]
    ),
    "tls_passthrough": st.sampled_from([False, None]),
}
BAD = {
    "host": st.sampled_from(
        [
            "127.1",
            "2130706433",
            "exa mple.test",
            "https://x.test",
            "x.test:443",
            "*.x.test",
            "-x.test",
            "bücher.test",
            "",
            "x" * 64 + ".test",
            "a..b",
            "user@x.test",
            "x.test/path",
            5,
        ]
    ),
    "path_allowlist": st.sampled_from(
        [
            [],
            "/repos",
            ["/a/../b"],
            ["/a?x"],
            ["/a#f"],
            ["a"],
            ["/a;b"],
            ["//a"],
            ["/a/./b"],
            ["/%2e%2e/x"],
            ["/a%zz"],
            ["/a b"],
            ["/a\\b"],
            ["/%252e"],
            ["/ü"],
            [5],
        ]
    ),
    "methods": st.sampled_from([[], ["PROPFIND"], ["CONNECT"], [""], ["G ET"], "GET", [1]]),
    "ports": st.sampled_from([[], [0], [65536], [-1], [True], ["443"], 443, [443, "x"]]),
    "auth": st.sampled_from(
        [
            "Bearer",
            {},
            {"scheme": "Bearer"},
            {"token_ref": "T"},
            {"scheme": "Bearer", "header": "x-k", "token_ref": "T"},
            {"scheme": "Bad Scheme", "token_ref": "T"},
            {"header": "Host", "token_ref": "T"},
            {"header": "authorization", "token_ref": "T"},
            {"header": "x-forwarded-host", "token_ref": "T"},
            {"scheme": "Bearer", "token_ref": "1BAD"},
            {"scheme": "Bearer", "token_ref": "T", "extra": 1},
        ]
    ),
    "tls_passthrough": st.sampled_from(["yes", 1, True]),  # True clashes when paired below
    "paths": st.just(["/x"]),  # an unknown key
}


@st.composite
def routes_strategy(draw):
    """Mostly valid routes; in some, one or two keys broken or left out."""
    routes = []
    for _ in range(draw(st.integers(0, 4))):
        keys = ["host", *draw(st.lists(st.sampled_from(sorted(GOOD)[1:]), unique=True, max_size=5))]
        route = {k: draw(GOOD[k]) for k in dict.fromkeys(keys) if k in GOOD}
        if "tls_passthrough" in route and draw(st.booleans()):
            route.pop("tls_passthrough")
        for key in draw(st.lists(st.sampled_from(sorted(BAD)), unique=True, max_size=2)):
            route[key] = draw(BAD[key])
        if draw(st.integers(0, 9)) == 0:
            route.pop("host", None)
        routes.append(route)
    return routes


ROUTES = routes_strategy()


def _core_verdict(tmp: Path, routes: list) -> tuple[bool, set[str], object]:
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    manifest = {"bottles": {"web": {"egress": {"routes": routes}}}}
    (home / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    try:
        config = load_config(Home(config_dir=home, state_root=home), tmp)
    except ConfigError as err:
        prefix = "bottles.web.egress."
        paths = {p.path.removeprefix(prefix) for p in err.problems}
        assert all(p.path.startswith(prefix) for p in err.problems), err.problems
        return False, paths, None
    return True, set(), config.bottles["web"].egress.routes


def _sidecar_verdict(routes: list) -> tuple[bool, set[str], object]:
    loaded, problems = parse_routes({"routes": routes})
    return not problems, {p.where() for p in problems}, loaded


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(routes=ROUTES)
def test_config_check_and_the_sidecar_agree(tmp_path_factory, routes):
    tmp = tmp_path_factory.mktemp("agree")
    core_ok, core_where, core_routes = _core_verdict(tmp, routes)
    side_ok, side_where, side_routes = _sidecar_verdict(json.loads(json.dumps(routes)))
    assert core_ok == side_ok, (routes, core_where, side_where)
    assert core_where == side_where, routes
    if core_ok:
        assert core_routes == side_routes
        # What the core writes for the sidecar is what the sidecar loads.
        written = write_routes(tmp / "sidecar", core_routes)
        assert load_routes(written) == core_routes


@pytest.mark.parametrize(
    "route",
    [
        {"host": "x.test", "path_allowlist": ["/a/../b"]},  # config check used to accept these
        {"host": "x.test", "path_allowlist": ["/a?x"]},
        {"host": "x.test", "ports": [0]},
        {"host": "x.test", "auth": {"header": "Host", "token_ref": "T"}},
    ],
)
def test_routes_the_sidecar_would_refuse_fail_config_check(tmp_path, route):
    ok, where, _ = _core_verdict(tmp_path, [route])
    assert not ok and where
    assert not _sidecar_verdict([route])[0]


def test_a_host_with_an_underscore_is_accepted_by_both(tmp_path):
    route = {"host": "a_b.example.test"}
    assert _core_verdict(tmp_path, [route])[0]
    assert _sidecar_verdict([route])[0]
