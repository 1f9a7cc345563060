"""Fleet triage: one row for the same request from several bottles; one answer for all, or one."""

from __future__ import annotations

from bot_bottle_core.dashboard.pickers import Ask, ChoicePicker

SAME = {"host": "pypi.org", "path_allowlist": ["/simple"]}


def three_bottles_ask(fleet):
    for slug in ("demo-aaaaa", "demo-bbbbb", "demo-ccccc"):
        fleet.bottle(slug)
    p = fleet.ask("demo-aaaaa", SAME, "pip install requests", when="2025-06-01T09:00:00+00:00")
    fleet.ask("demo-bbbbb", SAME, "pip install flask", when="2025-06-01T09:01:00+00:00")
    other = fleet.ask("demo-ccccc", {"host": "pypi.org"}, "the whole host")
    return p, other


def test_identical_requests_are_one_row_with_a_count(fleet, dash, row):
    p, other = three_bottles_ask(fleet)

    async def scenario(app, pilot):
        proposals = app.main.proposals
        assert proposals.row_count == 2  # different prefixes: a different request
        assert row(proposals, p.id)[1] == "2 bottles"
        assert row(proposals, other.id)[1] == "demo-ccccc"
        assert "3 pending" in str(proposals.border_title)

    dash.run(scenario)


def test_one_answer_approves_every_bottle_that_asked(fleet, dash, wait):
    p, other = three_bottles_ask(fleet)

    async def scenario(app, pilot):
        await pilot.press("tab")
        app.main.proposals.move_to(p.id)
        await pilot.press("a")
        await wait(pilot, lambda: isinstance(app.screen, ChoicePicker))
        labels = [label for label, _ in app.screen.choices]
        assert labels == ["all 2 bottles", "only demo-aaaaa", "only demo-bbbbb"]
        await pilot.press("enter")  # all of them
        await wait(pilot, lambda: app.main.proposals.row_count == 1)
        done = f"Approved {p.id} for demo-aaaaa, demo-bbbbb: pypi.org is routed."
        assert app.messages[-1] == done

    dash.run(scenario)
    for slug in ("demo-aaaaa", "demo-bbbbb"):
        assert SAME in fleet.live_routes(slug)
        assert fleet.queue(slug).answer(p.id).status == "approved"
    assert sorted(fleet.log("reloads")) == ["demo-aaaaa", "demo-bbbbb"]
    assert fleet.queue("demo-ccccc").answer(other.id) is None


def test_or_one_bottle_only_and_the_row_stays_for_the_rest(fleet, dash, wait, row):
    p, _ = three_bottles_ask(fleet)

    async def scenario(app, pilot):
        await pilot.press("tab")
        app.main.proposals.move_to(p.id)
        await pilot.press("r")
        await wait(pilot, lambda: isinstance(app.screen, ChoicePicker))
        await pilot.press("down", "down", "enter")  # only demo-bbbbb
        await wait(pilot, lambda: isinstance(app.screen, Ask))
        await pilot.press(*"no flask here", "enter")
        await wait(pilot, lambda: row(app.main.proposals, p.id)[1] == "demo-aaaaa")

    dash.run(scenario)
    assert fleet.queue("demo-bbbbb").answer(p.id).notes == "no flask here"
    assert fleet.queue("demo-aaaaa").answer(p.id) is None


def test_escape_at_the_choice_answers_nothing(fleet, dash, wait):
    p, _ = three_bottles_ask(fleet)

    async def scenario(app, pilot):
        await pilot.press("tab")
        app.main.proposals.move_to(p.id)
        await pilot.press("a")
        await wait(pilot, lambda: isinstance(app.screen, ChoicePicker))
        await pilot.press("escape")
        await wait(pilot, lambda: app.screen is app.main)

    dash.run(scenario)
    assert fleet.log("reloads") == []
