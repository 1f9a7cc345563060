"""A table of rows by key whose redraw costs only the rows that changed.

Textual's DataTable draws every visible cell again when any cell changes (its
render caches are keyed by one table-wide count of updates), and a refresh
of the dashboard changes a row or two: with 50 rows that was most of a tick's
CPU. Here each row is rendered once into a strip and kept until that row, the
column widths or the styles change; a changed row repaints its own line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

PAD = 1  # blank cells either side of a column


class KeyedTable(ScrollView, can_focus=True):
    """A header line, then one line a row; a row cursor; Enter (or a click on it) selects."""

    BINDINGS = [
        Binding("enter", "select", "select", show=False),
        Binding("up", "cursor(-1)", show=False),
        Binding("down", "cursor(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "cursor_to(0)", show=False),
        Binding("end", "cursor_to(-1)", show=False),
    ]
    COMPONENT_CLASSES = {"keyed-table--header", "keyed-table--cursor"}
    DEFAULT_CSS = """
    KeyedTable {
        background: $surface;
        color: $foreground;
        & > .keyed-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .keyed-table--cursor { background: $block-cursor-blurred-background; }
        &:focus > .keyed-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    class RowSelected(Message):
        def __init__(self, table: KeyedTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    def __init__(self, header: Iterable[str], *, id: str) -> None:
        super().__init__(id=id)
        self._header = tuple(Text(h) for h in header)
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._widths = [h.cell_len for h in self._header]
        self._strips: dict[str, Strip] = {}  # rows without the cursor, as last rendered
        self.cursor_row = 0

    # -- reading

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def get_row(self, key: str) -> list[Text]:
        return list(self._cells[key])

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def cursor_key(self) -> str | None:
        return self._keys[self.cursor_row] if self._keys else None

    # -- changing

    def set_rows(self, rows: Sequence[tuple[str, tuple[Text, ...]]]) -> None:
        """Show ``rows`` in this order; lines whose row is unchanged are not drawn again."""
        keys = [k for k, _ in rows]
        changed = [k for k, cells in rows if _sig(self._cells.get(k)) != _sig(cells)]
        widths = [h.cell_len for h in self._header]
        for _, cells in rows:
            for n, cell in enumerate(cells):
                widths[n] = max(widths[n], cell.cell_len)
        moved = keys != self._keys
        for k in [*changed, *(set(self._keys) - set(keys))]:
            self._strips.pop(k, None)
        self._cells = dict(rows)
        self._keys = keys
        self._index = {k: n for n, k in enumerate(keys)}
        if widths != self._widths:
            self._widths = widths
            self._strips.clear()
            moved = True
        self.cursor_row = min(self.cursor_row, max(0, len(keys) - 1))
        if moved:
            self.virtual_size = Size(sum(widths) + 2 * PAD * len(widths), len(keys) + 1)
            self.refresh()
            return
        for k in changed:
            self.refresh_line(self._index[k] + 1)

    def clear(self) -> None:
        self.set_rows([])

    def move_cursor(self, *, row: int) -> None:
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        if row != self.cursor_row:
            self.refresh_line(self.cursor_row + 1)
            self.cursor_row = row
            self.refresh_line(row + 1)
        self._scroll_to_cursor()

    def move_to(self, key: str) -> None:
        if key in self._index:
            self.move_cursor(row=self._index[key])

    def _scroll_to_cursor(self) -> None:
        seen = max(1, self.scrollable_content_region.height - 1)  # the header stays
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + seen:
            self.scroll_to(y=self.cursor_row - seen + 1, animate=False)

    # -- keys and the mouse

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.move_cursor(row=self.cursor_row + direction * page)

    def action_cursor_to(self, row: int) -> None:
        self.move_cursor(row=row if row >= 0 else len(self._keys) - 1)

    def action_select(self) -> None:
        key = self.cursor_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return  # the header
        row = offset.y - 1 + self.scroll_offset.y
        if row >= len(self._keys):
            return
        if row == self.cursor_row:
            self.action_select()
        else:
            self.move_cursor(row=row)

    def _on_focus(self, event: events.Focus) -> None:
        self.refresh_line(self.cursor_row + 1)  # the cursor's colour says where keys go

    def _on_blur(self, event: events.Blur) -> None:
        self.refresh_line(self.cursor_row + 1)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self.refresh()

    # -- drawing

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line of this pass needs, looked up once (each costs a style walk).
        self._pass = (
            self.scroll_offset,
            self.scrollable_content_region.width,
            self.rich_style,
            self.get_component_rich_style("keyed-table--header"),
            self.get_component_rich_style("keyed-table--cursor"),
        )
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        (scroll_x, scroll_y), width, base, header, cursor = self._pass
        fill = base
        if y == 0:
            strip, fill = self._render(self._header, header), base + header
        else:
            row = y - 1 + scroll_y
            if row >= len(self._keys):
                return Strip.blank(width, base)
            key = self._keys[row]
            if row == self.cursor_row:
                strip = self._render(self._cells[key], cursor)  # one line: never kept
                fill = base + cursor
            else:
                strip = self._strips.get(key)
                if strip is None:
                    strip = self._strips[key] = self._render(self._cells[key], None)
        # The header's and the cursor's colour run to the right edge.
        return strip.crop_extend(scroll_x, scroll_x + width, fill)

    def _render(self, cells: Sequence[Text], style) -> Strip:
        line = Text(no_wrap=True, end="")
        blank = " " * PAD
        for cell, width in zip(cells, self._widths, strict=False):
            line.append(blank)
            line.append_text(cell)
            line.append(" " * (width - cell.cell_len) + blank)
        if style is not None:
            line.stylize(style)
        segments = list(line.render(self.app.console))
        return Strip(segments, line.cell_len).apply_style(self._pass[2])


def _sig(cells: tuple[Text, ...] | None) -> object:
    """What a row looks like (Text's own == leaves its style out)."""
    if cells is None:
        return None
    return tuple((c.plain, c.style, tuple(c.spans)) for c in cells)
