"""``n`` starts an agent (picker, backend picker, preflight), Enter attaches, ``x`` stops, ``e``."""

from __future__ import annotations

import sys

from bot_bottle_core.dashboard.pickers import AgentPicker, ChoicePicker, Confirm
from bot_bottle_core.process_stamp import ProcessStamp


async def start_from_picker(app, pilot, wait, typed: str):
    await pilot.press("n")
    await wait(pilot, lambda: isinstance(app.screen, AgentPicker))
    await pilot.press(*typed, "enter")


def test_n_picks_an_agent_with_a_filter_and_running_counts(fleet, dash, wait):
    fleet.agent("coder", label="cody")
    fleet.agent("reviewer")
    fleet.bottle("demo-aaaaa")
    fleet.bottle("demo-bbbbb")

    async def scenario(app, pilot):
        await pilot.press("n")
        await wait(pilot, lambda: isinstance(app.screen, AgentPicker))
        picker = app.screen
        choices = picker.query_one("#choices")

        def shown():
            return [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]

        assert shown() == ["coder", "demo  (2 running)", "reviewer"]
        await pilot.press(*"EV")  # case-insensitive, anywhere in the name
        assert shown() == ["reviewer"]
        await pilot.press("z")
        assert shown() == ["(no agents match the filter)"]
        await pilot.press("escape")  # first Esc clears the filter
        assert shown() == ["coder", "demo  (2 running)", "reviewer"]
        await pilot.press("escape")  # the second leaves
        await wait(pilot, lambda: app.screen is app.main)
        assert app.messages[-1] == "No agent started."

    dash.run(scenario)


def test_n_starts_in_the_background_then_attaches(fleet, dash, wait, row):
    fleet.agent("coder", label="cody")

    async def scenario(app, pilot):
        await start_from_picker(app, pilot, wait, "cod")
        await wait(pilot, lambda: isinstance(app.screen, Confirm))  # one backend: no backend picker
        plan = str(app.screen.body)
        assert "fake-runtime" in plan and "coder" in plan
        await pilot.press("y")
        await wait(pilot, lambda: any(m.startswith("Left coder-") for m in app.messages))
        (slug,) = app.bottles.owned
        assert f"Started {slug}." in app.messages
        assert "fake engine: creating " + slug in app.messages  # the launch's progress
        await wait(pilot, lambda: app.main.agents.row_count == 1)
        assert row(app.main.agents, slug)[0] == "*"  # started here

    dash.run(scenario)
    (slug,) = fleet.log("launches")
    assert fleet.log("attaches") == [f"{slug} bash --login"]


def test_a_second_backend_is_asked_for_and_no_at_the_preflight_leaves_nothing(
    fleet, dash, wait, monkeypatch
):
    monkeypatch.setenv("BOT_BOTTLE_PLUGINS", "alpha,beta")

    async def scenario(app, pilot):
        await start_from_picker(app, pilot, wait, "demo")
        await wait(pilot, lambda: isinstance(app.screen, ChoicePicker))
        assert [label for label, _ in app.screen.choices] == ["[alpha]", "[beta]"]
        await pilot.press("down", "enter")
        await wait(pilot, lambda: isinstance(app.screen, Confirm))
        assert "beta" in str(app.screen.body)
        await pilot.press("n")
        await wait(pilot, lambda: "Not started; the plan was discarded." in app.messages)

    dash.run(scenario)
    assert fleet.log("launches") == []
    assert not any((fleet.home / "state").iterdir())


def test_enter_attaches_to_the_selected_bottle(fleet, dash, wait):
    fleet.bottle("demo-aaaaa")
    fleet.bottle("demo-bbbbb")

    async def scenario(app, pilot):
        app.main.agents.move_to("demo-bbbbb")
        await pilot.press("enter")
        await wait(pilot, lambda: app.messages)
        assert app.messages[-1] == "Left demo-bbbbb (exit status 0); it keeps running."

    dash.run(scenario)
    assert fleet.log("attaches") == ["demo-bbbbb bash --login"]
    assert fleet.log("stops") == []


def test_enter_on_an_interrupted_launch_says_what_to_do(fleet, dash, wait):
    fleet.bottle("demo-ccccc", launcher=ProcessStamp(1, "another-boot:1"), completed=False)

    async def scenario(app, pilot):
        await pilot.press("enter")
        await wait(pilot, lambda: app.messages)
        assert "never finished starting" in app.messages[-1]
        assert "bot-bottle cleanup" in app.messages[-1]

    dash.run(scenario)
    assert fleet.log("attaches") == []


def test_x_stops_only_what_this_dashboard_started_and_asks_first(fleet, dash, wait):
    fleet.bottle("demo-aaaaa")

    async def scenario(app, pilot):
        await pilot.press("x")  # not ours
        await wait(pilot, lambda: app.messages)
        assert "was not started by this dashboard" in app.messages[-1]
        await start_from_picker(app, pilot, wait, "demo")
        await wait(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait(pilot, lambda: len(app.bottles.owned) == 1)
        (slug,) = app.bottles.owned
        await wait(pilot, lambda: app.main.agents.row_count == 2)
        app.main.agents.move_to(slug)
        await pilot.press("x")
        await wait(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")  # asked first: no keeps it
        await wait(pilot, lambda: app.messages[-1] == f"{slug} keeps running.")
        await pilot.press("x")
        await wait(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await wait(pilot, lambda: app.messages[-1] == f"stopped {slug}")
        await wait(pilot, lambda: app.main.agents.row_count == 1)
        assert app.bottles.owned == set()

    dash.run(scenario)
    (slug,) = fleet.log("stops")
    assert slug.startswith("demo-") and slug != "demo-aaaaa"
    assert not (fleet.home / "state" / slug).exists()


def test_e_edits_the_live_routes_as_routes_edit_does(fleet, dash, wait, tmp_path, monkeypatch):
    fleet.bottle("demo-aaaaa", routes=({"host": "example.com"},))
    script = tmp_path / "editor.py"

    def editor(text: str) -> str:
        script.write_text(f"import sys\nopen(sys.argv[1], 'w').write({text!r})\n")
        return f"{sys.executable} {script}"

    monkeypatch.setenv("EDITOR", editor('{"routes": [{"host": "example.com", "ports": [0]}]}'))

    async def bad(app, pilot):
        await pilot.press("e")
        await wait(pilot, lambda: app.messages)
        assert app.messages[-1].startswith("The edited routes are not valid (")

    dash.run(bad)
    assert fleet.live_routes("demo-aaaaa") == [{"host": "example.com"}]
    assert fleet.log("reloads") == []

    monkeypatch.setenv("EDITOR", editor('{"routes": [{"host": "pypi.org"}]}'))

    async def good(app, pilot):
        await pilot.press("e")
        await wait(pilot, lambda: app.messages and "changed" in app.messages[-1])
        assert app.messages[-1] == "The routes of demo-aaaaa are changed and egress reloaded."

    dash.run(good)
    assert fleet.live_routes("demo-aaaaa") == [{"host": "pypi.org"}]
    assert fleet.log("reloads") == ["demo-aaaaa"]
    audit = (
        (fleet.home / "audit.jsonl").read_text() if (fleet.home / "audit.jsonl").exists() else ""
    )
    assert '"action": "edit"' in audit or '"action":"edit"' in audit
