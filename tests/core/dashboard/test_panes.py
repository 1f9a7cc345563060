"""The two panes, refreshed in the background; Tab, q; a crash leaves its traceback."""

from __future__ import annotations

import pytest

from bot_bottle_core.process_stamp import ProcessStamp

GONE = ProcessStamp(1, "another-boot:1")  # pid 1, but not the process that launched it


def test_panes_show_every_backends_bottles_and_what_waits(fleet, dash, row, monkeypatch):
    monkeypatch.setenv("BOT_BOTTLE_PLUGINS", "alpha,beta")
    fleet.bottle("demo-aaaaa", label="ann")
    fleet.bottle("demo-bbbbb", backend="beta", started="2025-06-01T07:05:09+00:00")
    fleet.bottle("demo-ccccc", launcher=GONE, completed=False, services=("agent",))
    fleet.bottle("demo-ddddd", completed=False, running=False)  # our launch, not listed yet
    fleet.ask("demo-aaaaa", {"host": "pypi.org", "path_allowlist": ["/simple"]}, "pip install")
    fleet.deny("demo-aaaaa", "pypi.org", "/simple/x")

    async def scenario(app, pilot):
        agents, proposals = app.main.agents, app.main.proposals
        assert agents.row_count == 4
        assert row(agents, "demo-aaaaa")[1:] == [
            "[alpha]",
            "ann (demo)",
            "demo-aaaaa",
            "attached",
            "sidecars",
            "08:15:00",
            "08:59:00 GET pypi.org/simple/x: no route for pypi.org",
        ]
        assert row(agents, "demo-bbbbb")[1:7] == [
            "[beta]",
            "demo",
            "demo-bbbbb",
            "attached",
            "sidecars",
            "07:05:09",
        ]
        assert row(agents, "demo-ccccc")[4:6] == ["INCOMPLETE", "-"]
        assert row(agents, "demo-ddddd")[4:6] == ["starting", "(starting)"]
        assert proposals.row_count == 1
        (key,) = [g.id for g in app.snapshot.groups]
        cells = row(proposals, key)
        assert cells[1] == "demo-aaaaa" and "pypi.org /simple" in cells and "pip install" in cells
        assert "[alpha] [beta]" in str(app.main.summary.render())

    dash.run(scenario)


def test_a_new_bottle_shows_up_without_a_key_press(fleet, dash, wait):
    async def scenario(app, pilot):
        assert app.main.agents.row_count == 0
        fleet.bottle("demo-eeeee")
        await wait(pilot, lambda: app.main.agents.row_count == 1)
        assert app.snapshots >= 2

    dash.run(scenario, refresh_s=0.1)


def test_a_slow_engine_never_blocks_the_keys(fleet, dash, wait):
    fleet.bottle("demo-aaaaa")

    async def scenario(app, pilot):
        # The engine answers only when the test says so: keys handled meanwhile
        # prove the gathering does not hold the UI (a blocked UI would hang here).
        (fleet.engine / "slow").write_text("")
        app.refresh_now()
        await wait(pilot, lambda: app._gathering)
        assert app.main.focused is app.main.agents
        await pilot.press("tab")
        assert app.main.focused is app.main.proposals
        await pilot.press("tab")
        assert app.main.focused is app.main.agents
        assert app._gathering  # the engine has still not answered
        (fleet.engine / "slow").unlink()
        await wait(pilot, lambda: not app._gathering)

    dash.run(scenario)


def test_tab_switches_pane_and_the_key_line_follows(fleet, dash, wait):
    fleet.bottle("demo-aaaaa")
    fleet.ask("demo-aaaaa", {"host": "pypi.org"}, "pip install")

    def keys(app) -> str:
        return str(app.main.query_one("KeyLine").render())

    async def scenario(app, pilot):
        assert app.main.focused is app.main.agents
        await wait(pilot, lambda: " x stop " in keys(app))
        assert "approve" not in keys(app)
        await pilot.press("tab")
        assert app.main.focused is app.main.proposals
        await wait(pilot, lambda: " a approve " in keys(app))
        assert "stop" not in keys(app) and " m modify " in keys(app) and " r reject " in keys(app)
        await pilot.press("tab")
        assert app.main.focused is app.main.agents
        await wait(pilot, lambda: "approve" not in keys(app))

    dash.run(scenario)


def test_q_quits_and_leaves_every_bottle_running(fleet, dash):
    fleet.bottle("demo-aaaaa")

    async def scenario(app, pilot):
        await pilot.press("q")

    app = dash.run(scenario)
    assert app.return_code == 0
    assert fleet.log("stops") == []
    assert (fleet.engine / "alpha" / "demo-aaaaa.json").exists()
    assert (fleet.home / "state" / "demo-aaaaa").is_dir()


def test_a_crash_keeps_its_traceback_in_the_logs(fleet, dash):
    def boom():
        raise RuntimeError("something the dashboard did not expect")

    async def scenario(app, pilot):
        app.call_later(boom)
        await pilot.pause(0.2)

    with pytest.raises(RuntimeError):
        dash.run(scenario)
    log = (fleet.home / "logs" / "dashboard-crash.log").read_text()
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: something the dashboard did not expect" in log
    assert "demo-token" not in log
