"""A new proposal rings and takes focus; Enter shows it; a, m and r answer it (supervision)."""

from __future__ import annotations

import sys
import textwrap

from bot_bottle_core.dashboard.detail import ADDED_HOST, ProposalDetail
from bot_bottle_core.dashboard.pickers import Ask


def test_a_new_proposal_rings_flashes_and_takes_focus(fleet, dash, wait, row):
    fleet.bottle("demo-aaaaa")
    fleet.bottle("demo-bbbbb")
    old = fleet.ask("demo-aaaaa", {"host": "old.example"}, "asked before the dashboard started")

    async def scenario(app, pilot):
        assert app.alerts == 0 and app.flashing == frozenset()  # what waited before is no news
        assert app.main.focused is app.main.agents
        new = fleet.ask("demo-bbbbb", {"host": "pypi.org"}, "pip install")
        await wait(pilot, lambda: app.alerts == 1)
        assert app.flashing == {new.id}
        assert app.main.focused is app.main.proposals
        assert app.main.proposals.cursor_key() == new.id
        assert row(app.main.proposals, new.id)[0] == "NEW"
        assert row(app.main.proposals, old.id)[0] == ""
        assert "1 new!" in str(app.main.proposals.border_title)
        await wait(pilot, lambda: app.flashing == frozenset())  # a few seconds, then calm
        assert row(app.main.proposals, new.id)[0] == ""
        assert app.alerts == 1  # the same proposal does not ring twice

    dash.run(scenario, refresh_s=0.1, flash_s=3)  # long enough to be seen under load


def test_enter_shows_why_what_was_refused_and_the_route_diff(fleet, dash, wait):
    fleet.bottle("demo-aaaaa", routes=({"host": "api.github.com", "path_allowlist": ["/a"]},))
    fleet.deny("demo-aaaaa", "pypi.org", "/simple/requests/")
    fleet.deny("demo-aaaaa", "other.example", "/")
    new = fleet.ask("demo-aaaaa", {"host": "pypi.org", "path_allowlist": ["/simple"]}, "pip")
    more = fleet.ask("demo-aaaaa", {"host": "api.github.com", "path_allowlist": ["/b"]}, "gh")

    async def scenario(app, pilot):
        await pilot.press("tab")
        app.main.proposals.move_to(new.id)
        await pilot.press("enter")
        await wait(pilot, lambda: isinstance(app.screen, ProposalDetail))
        text = app.screen.text
        plain = text.plain
        assert "Justification\n  pip\n" in plain
        assert "GET pypi.org/simple/requests/: no route for pypi.org" in plain
        assert "other.example" not in plain  # only the denials of the host asked for
        assert '+ {"host": "pypi.org", "path_allowlist": ["/simple"]}' in plain
        assert "pypi.org is a new host for this bottle" in plain
        start = plain.index('"host": "pypi.org"') + len('"host": "')
        assert any(
            s.style == ADDED_HOST and (s.start, s.end) == (start, start + 8) for s in text.spans
        )
        await pilot.press("escape")
        app.main.proposals.move_to(more.id)
        await pilot.press("enter")
        await wait(pilot, lambda: isinstance(app.screen, ProposalDetail))
        plain = app.screen.text.plain
        assert '- {"host": "api.github.com", "path_allowlist": ["/a"]}' in plain
        assert '+ {"host": "api.github.com", "path_allowlist": ["/a", "/b"]}' in plain
        assert "new host" not in plain

    dash.run(scenario)


HIDING = "ok\x1b[8m hidden\x1b]0;title\x07\r\u202eevil\u2028fake heading\x9b"


def test_what_the_agent_wrote_cannot_act_on_the_operators_terminal(fleet, dash, wait, row):
    """Its justification and the paths egress refused reach the screen escaped: none of
    it can hide text, set a title or fake a line of ours."""
    fleet.bottle("demo-aaaaa")
    fleet.deny("demo-aaaaa", "pypi.org", "/x\x1b[2J\x1b[8m")
    p = fleet.ask("demo-aaaaa", {"host": "pypi.org"}, HIDING)

    async def scenario(app, pilot):
        await pilot.press("tab")
        cells = "".join(row(app.main.proposals, p.id))
        await pilot.press("enter")
        await wait(pilot, lambda: isinstance(app.screen, ProposalDetail))
        shown = [
            cells,
            app.screen.text.plain,
            *(r.last_denial.line() for r in app.snapshot.agents if r.last_denial),
        ]
        for text in shown:
            assert not any(ch in text for ch in "\x1b\x07\r\u202e\u2028\x9b"), repr(text)
        assert "\\x1b[8m" in app.screen.text.plain and "\\u202e" in app.screen.text.plain

    dash.run(scenario)


def test_a_approves_through_supervision_and_egress_reloads(fleet, dash, wait):
    fleet.bottle("demo-aaaaa")
    p = fleet.ask("demo-aaaaa", {"host": "pypi.org", "path_allowlist": ["/simple"]}, "pip")

    async def scenario(app, pilot):
        await pilot.press("tab", "enter")
        await wait(pilot, lambda: isinstance(app.screen, ProposalDetail))
        await pilot.press("a")
        await wait(pilot, lambda: app.main.proposals.row_count == 0)
        assert app.screen is app.main
        assert app.messages[-1] == f"Approved {p.id} for demo-aaaaa: pypi.org is routed."

    dash.run(scenario)
    assert {"host": "pypi.org", "path_allowlist": ["/simple"]} in fleet.live_routes("demo-aaaaa")
    assert fleet.log("reloads") == ["demo-aaaaa"]
    answer = fleet.queue("demo-aaaaa").answer(p.id)
    assert answer.status == "approved" and answer.applied_at


def editor(tmp_path, text: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys
        open(sys.argv[1], "w").write({text!r})
        """)
    )
    return f"{sys.executable} {script}"


def test_m_grants_the_operators_route_after_checking_it(fleet, dash, wait, tmp_path, monkeypatch):
    fleet.bottle("demo-aaaaa")
    p = fleet.ask("demo-aaaaa", {"host": "pypi.org"}, "pip")

    monkeypatch.setenv("EDITOR", editor(tmp_path, '{"host": "pypi.org", "path_allowlist": 3}'))

    async def bad(app, pilot):
        await pilot.press("tab", "m")
        await wait(pilot, lambda: app.messages)
        assert app.messages[-1].startswith("The edited route is not valid (")
        assert app.main.status.has_class("error")

    dash.run(bad)
    assert fleet.queue("demo-aaaaa").answer(p.id) is None and fleet.log("reloads") == []

    edited = '{"host": "pypi.org", "path_allowlist": ["/simple"]}'
    monkeypatch.setenv("EDITOR", editor(tmp_path, edited))

    async def good(app, pilot):
        await pilot.press("tab", "m")
        await wait(pilot, lambda: app.main.proposals.row_count == 0)
        assert app.messages[-1].startswith(f"Approved as modified {p.id} for demo-aaaaa")

    dash.run(good)
    assert {"host": "pypi.org", "path_allowlist": ["/simple"]} in fleet.live_routes("demo-aaaaa")
    assert fleet.queue("demo-aaaaa").answer(p.id).status == "modified"


def test_r_rejects_with_the_reason_the_agent_reads(fleet, dash, wait):
    fleet.bottle("demo-aaaaa")
    p = fleet.ask("demo-aaaaa", {"host": "evil.example"}, "exfiltrate")
    before = fleet.live_routes("demo-aaaaa")

    async def scenario(app, pilot):
        await pilot.press("tab", "r")
        await wait(pilot, lambda: isinstance(app.screen, Ask))
        await pilot.press("escape")  # changed my mind: nothing answered
        await wait(pilot, lambda: app.messages == ["Nothing was rejected."])
        await pilot.press("r")
        await wait(pilot, lambda: isinstance(app.screen, Ask))
        await pilot.press(*"not for this task", "enter")
        await wait(pilot, lambda: app.main.proposals.row_count == 0)

    dash.run(scenario)
    answer = fleet.queue("demo-aaaaa").answer(p.id)
    assert (answer.status, answer.notes) == ("rejected", "not for this task")
    assert fleet.live_routes("demo-aaaaa") == before and fleet.log("reloads") == []


def test_proposal_keys_act_only_in_the_proposals_pane(fleet, dash):
    fleet.bottle("demo-aaaaa")
    p = fleet.ask("demo-aaaaa", {"host": "pypi.org"}, "pip")

    async def scenario(app, pilot):
        assert app.main.focused is app.main.agents
        await pilot.press("a")
        await pilot.pause(0.2)

    dash.run(scenario)
    assert fleet.queue("demo-aaaaa").answer(p.id) is None
