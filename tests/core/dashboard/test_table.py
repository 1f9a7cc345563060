"""The panes' table: a refresh that changes one row draws that row again, and no other."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import App

from bot_bottle_core.dashboard.table import KeyedTable


class Host(App[None]):
    CSS = "KeyedTable { height: 12; border: round $accent; }"

    def __init__(self) -> None:
        super().__init__()
        self.table = KeyedTable(("NAME", "VALUE"), id="t")
        self.selected: list[str] = []
        self.drawn: list[str] = []  # the rows rendered, by their first cell

    def compose(self):
        yield self.table

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        self.selected.append(event.key)


def rows(n: int, **changed: Text) -> list[tuple[str, tuple[Text, ...]]]:
    return [(f"k{i}", (Text(f"k{i}"), changed.get(f"k{i}", Text(f"value {i}")))) for i in range(n)]


def run(scenario) -> Host:
    app = Host()

    async def main():
        async with app.run_test(size=(60, 16)) as pilot:
            render = app.table._render

            def counted(cells, style):
                app.drawn.append(cells[0].plain)
                return render(cells, style)

            app.table._render = counted
            app.table.set_rows(rows(30))
            app.table.focus()
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())
    return app


def test_a_changed_row_is_the_only_one_drawn_again():
    async def scenario(app, pilot):
        # Ten lines inside the border: the header and the first nine rows of 30.
        assert set(app.drawn) == {"NAME", *(f"k{i}" for i in range(9))}
        app.drawn.clear()
        app.table.set_rows(rows(30, k4=Text("VALUE 4")))  # as wide as before
        await pilot.pause()
        assert app.drawn == ["k4"]
        app.drawn.clear()
        app.table.set_rows(rows(30, k4=Text("VALUE 4", "red")))  # the style alone
        await pilot.pause()
        assert app.drawn == ["k4"]
        app.drawn.clear()
        app.table.set_rows(rows(30, k4=Text("VALUE 4", "red")))  # nothing changed
        await pilot.pause()
        assert app.drawn == []
        app.table.set_rows(rows(30, k4=Text("a wider value")))  # every row moves right
        await pilot.pause()
        assert len(app.drawn) == 10

    run(scenario)


def test_a_row_added_at_the_end_is_the_only_one_drawn():
    async def scenario(app, pilot):
        app.table.set_rows(rows(5))
        await pilot.pause()
        app.drawn.clear()
        app.table.set_rows(rows(6))
        await pilot.pause()
        assert app.drawn == ["k5"]
        app.drawn.clear()
        app.table.set_rows(rows(6)[1:])  # the first goes: every row moves up ...
        await pilot.pause()
        assert app.drawn == ["k1"]  # ... as it was drawn, but k1 is under the cursor now
        assert app.table.cursor_key() == "k1"

    run(scenario)


def test_keys_move_the_cursor_into_view_and_enter_selects():
    async def scenario(app, pilot):
        t = app.table
        await pilot.press("down", "down")
        assert t.cursor_key() == "k2"
        await pilot.press("end")
        assert t.cursor_key() == "k29" and t.scroll_offset.y > 0
        assert "k29" in app.drawn
        await pilot.press("pageup")
        assert t.cursor_row < 29
        await pilot.press("home", "up")
        assert t.cursor_key() == "k0" and t.scroll_offset.y == 0
        await pilot.press("enter")
        assert app.selected == ["k0"]

    run(scenario)


def test_a_click_moves_the_cursor_and_a_click_on_it_selects():
    async def scenario(app, pilot):
        # The border is line 0, the header line 1: the third row is on line 4.
        await pilot.click("#t", offset=(5, 4))
        assert app.table.cursor_key() == "k2" and app.selected == []
        await pilot.click("#t", offset=(5, 4))
        assert app.selected == ["k2"]

    run(scenario)


def test_rows_that_go_take_the_cursor_back_inside_the_table():
    async def scenario(app, pilot):
        await pilot.press("end")
        app.table.set_rows(rows(3))
        await pilot.pause()
        assert app.table.row_count == 3 and app.table.cursor_key() == "k2"
        app.table.clear()
        await pilot.pause()
        assert app.table.row_count == 0 and app.table.cursor_key() is None

    run(scenario)
