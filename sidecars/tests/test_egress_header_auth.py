"""A route's header-form auth (``x-api-key``, as the Anthropic API takes it).

Whatever the agent sends under that header's name — any case, repeated, empty,
next to an Authorization header — upstream receives exactly one such header,
holding the real key. Names that only look alike are not the header and pass
as they are; the key is in none of them.
"""

from __future__ import annotations

import pytest
from bot_bottle_sidecars import layout
from egress_client import https
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEY = "sk-ant-api03-header-auth-never-log-me"
ROUTES = {
    "routes": [{"host": "api.example.test", "auth": {"header": "x-api-key", "token_ref": "K"}}]
}


@pytest.fixture(scope="module")
def egress(module_egress):
    env = layout.token_environment([("K", "api.example.test")], {"K": KEY})
    return module_egress(ROUTES, env=env)


def case_variants(name: str):
    return st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda ups: "".join(c.upper() if u else c for c, u in zip(name, ups, strict=True))
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sent=st.lists(
        st.tuples(
            case_variants("x-api-key"), st.sampled_from(["", "placeholder", KEY[:-1], "a b"])
        ),
        min_size=0,
        max_size=4,
    )
)
def test_upstream_gets_exactly_one_key_header_holding_the_real_key(egress, upstream, sent):
    r = https(egress, "api.example.test", "GET", "/v1/messages", headers=sent)
    assert r.status == 200, r
    assert r.upstream_header("x-api-key") == [KEY]


@pytest.mark.parametrize("lookalike", ["x-api-key2", "x_api_key", "xapi-key", "x-api-keys"])
def test_names_that_only_look_alike_pass_unchanged_and_never_carry_the_key(
    egress, upstream, lookalike
):
    r = https(
        egress,
        "api.example.test",
        "GET",
        "/",
        headers=[(lookalike, "agent"), ("Authorization", "Bearer agent")],
    )
    assert r.status == 200, r
    assert r.upstream_header(lookalike) == ["agent"]
    assert r.upstream_header("x-api-key") == [KEY]
    holding_key = [k for k, v in r.json()["headers"] if KEY in v]
    assert holding_key == ["x-api-key"]
