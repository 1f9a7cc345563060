"""The dashboard against real bottles: an agent asks, the operator presses a key, the retry passes.

Two bottles on the docker backend (the real plugins, loaded as ``bot-bottle
dashboard`` loads them) are shared by the module's tests. Their agents call the
real supervise sidecar with the standard-library MCP client (``agent_mcp.py``);
the operator is the real dashboard app, driven headless by Textual's pilot.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fake_internet import launched_bottle, requests_with
from supervise_agent import ask_in_background, fetch_status, put_client

from bot_bottle_core.cli.context import AppContext
from bot_bottle_core.dashboard.app import Dashboard
from bot_bottle_core.dashboard.pickers import ChoicePicker

pytestmark = pytest.mark.docker

# Both served by the fake internet and not routed in bottle 'sec'; one per test, so
# what one test approved does not answer the other's request.
ALONE_HOST = "example.com"
GROUP_HOST = "api.fakeprov.test"


@pytest.fixture(scope="module")
def bottles(bottle_env, docker_client):
    with (
        launched_bottle(bottle_env, docker_client) as one,
        launched_bottle(bottle_env, docker_client) as two,
    ):
        for b in (one, two):
            put_client(b.agent)
        yield one, two


@pytest.fixture
def operator_env(bottle_env, monkeypatch):
    """The dashboard's process environment: the home and engine settings of the bottles."""
    for k in ("TMUX", "TMUX_PANE", "BOT_BOTTLE_PLUGINS"):
        monkeypatch.delenv(k, raising=False)
    for k, v in bottle_env.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(bottle_env.home)


async def until(pilot, condition, what: str, timeout: float = 60.0) -> None:
    """Let the app run until ``condition()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def run_dashboard(scenario) -> Dashboard:
    """The real app, headless, once its first picture is drawn: ``await scenario(app, pilot)``."""
    app = Dashboard(AppContext(), environ={})

    async def main() -> None:
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda: app.snapshots >= 1, "the first refresh")
            await scenario(app, pilot)

    asyncio.run(main())
    return app


def cells(pane, key: str) -> list[str]:
    return [str(c) for c in pane.get_row(key)]


def group_of(app, host: str):
    return next((g for g in app.snapshot.groups if g.first.proposal.route.host == host), None)


def test_approve_from_the_dashboard_and_the_agents_retry_passes(bottles, operator_env, upstream):
    m = uuid.uuid4().hex[:10]
    bottle = bottles[0]
    assert fetch_status(bottle.agent, f"https://{ALONE_HOST}/refused-{m}") == 403
    state: dict = {}

    async def scenario(app, pilot):
        main = app.main
        # The bottle as the docker backend lists it, with the refusal egress logged.
        await until(pilot, lambda: f"refused-{m}" in " ".join(cells(main.agents, bottle.slug)),
                    "the bottle's last denial")  # fmt: skip
        assert cells(main.agents, bottle.slug)[1] == "[docker]"
        assert main.focused is main.agents

        ask = {"host": ALONE_HOST, "justification": f"fetch the data {m}"}
        state["thread"], state["out"] = ask_in_background(
            bottle.agent, ask, f"https://{ALONE_HOST}/granted-{m}"
        )
        await until(pilot, lambda: group_of(app, ALONE_HOST) is not None, "the proposal")
        group = group_of(app, ALONE_HOST)
        assert group.slugs == (bottle.slug,)
        # A new proposal takes the focus, with the cursor on it.
        await until(pilot, lambda: main.focused is main.proposals, "the focus")
        assert main.proposals.cursor_key() == group.id
        row = cells(main.proposals, group.id)
        assert row[1] == bottle.slug and f"fetch the data {m}" in row[-1]

        await pilot.press("a")
        await until(pilot, lambda: app.messages, "the answer")
        assert app.messages[-1] == (
            f"Approved {group.id} for {bottle.slug}: {ALONE_HOST} is routed."
        ), app.messages
        await until(pilot, lambda: group_of(app, ALONE_HOST) is None, "the row to go")
        state["id"] = group.id

    run_dashboard(scenario)
    state["thread"].join(60)
    out = state["out"]
    assert out.get("result"), out.get("raw")
    assert '"approved"' in out["result"]["content"][0]["text"], out
    assert out["retry_status"] == 200 and requests_with(upstream, f"granted-{m}")
    assert not requests_with(upstream, f"refused-{m}")


def test_the_same_request_from_two_bottles_is_one_row_and_one_key_approves_both(
    bottles, operator_env, upstream
):
    m = uuid.uuid4().hex[:10]
    prefix = f"/pkg-{m}"
    ask = {"host": GROUP_HOST, "path_allowlist": [prefix]}
    for b in bottles:
        assert fetch_status(b.agent, f"https://{GROUP_HOST}{prefix}/refused") == 403
    asks: list = []

    async def scenario(app, pilot):
        main = app.main
        for n, b in enumerate(bottles):
            why = {**ask, "justification": f"install package {n} ({m})"}
            asks.append(ask_in_background(b.agent, why, f"https://{GROUP_HOST}{prefix}/{n}"))

        def both_asked():
            g = group_of(app, GROUP_HOST)
            return g is not None and g.count == 2

        await until(pilot, both_asked, "both requests")
        group = group_of(app, GROUP_HOST)
        assert sorted(group.slugs) == sorted(b.slug for b in bottles)
        ours = [g for g in app.snapshot.groups if g.first.proposal.route.host == GROUP_HOST]
        assert len(ours) == 1  # one row for both
        await until(pilot, lambda: cells(main.proposals, group.id)[1] == "2 bottles", "the row")
        await until(pilot, lambda: main.proposals.cursor_key() == group.id, "the cursor")
        assert main.focused is main.proposals

        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ChoicePicker), "the choice")
        assert app.screen.choices[0][0] == "all 2 bottles"
        await pilot.press("enter")
        await until(pilot, lambda: app.messages, "the answer")
        assert app.messages[-1].startswith(f"Approved {group.id} for "), app.messages
        assert all(b.slug in app.messages[-1] for b in bottles)
        await until(pilot, lambda: group_of(app, GROUP_HOST) is None, "the row to go")

    run_dashboard(scenario)
    for n, (thread, out) in enumerate(asks):
        thread.join(60)
        assert out.get("result"), out.get("raw")
        assert '"approved"' in out["result"]["content"][0]["text"], out
        assert out["retry_status"] == 200, out
        assert requests_with(upstream, f"{prefix}/{n}")
    assert not requests_with(upstream, f"{prefix}/refused")
