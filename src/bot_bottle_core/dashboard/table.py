"""A table of rows by key whose redraw costs only the rows that changed.

Textual's DataTable draws every visible cell again when any cell changes (its
render caches are keyed by one table-wide count of updates), and a refresh
of the dashboard changes a row or two: with 50 rows that was most of a tick's
CPU. Here each row is rendered once into a strip and kept until that row, the
column widths or the styles change; a changed row repaints its own line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.style import Style
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
        self._header_size = tuple(h.cell_len for h in self._header)
        self._widths = list(self._header_size)
        self._sizes: dict[str, tuple[int, ...]] = {}  # each row's cell widths
        # Lines as last rendered, by row (None: the header) and style (the cursor's, or none).
        self._strips: dict[str | None, dict[Style | None, Strip]] = {}
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
        changed, sizes = [], {}
        for k, cells in rows:
            old = self._cells.get(k)
            if old is not None and _same(old, cells):
                sizes[k] = self._sizes[k]
            else:
                changed.append(k)
                sizes[k] = tuple(c.cell_len for c in cells)
        widths = [max(column) for column in zip(self._header_size, *sizes.values(), strict=True)]
        old_keys = self._keys
        for k in [*changed, *(set(old_keys) - set(keys))]:
            self._strips.pop(k, None)
        self._cells, self._sizes, self._keys = dict(rows), sizes, keys
        self._index = {k: n for n, k in enumerate(keys)}
        self.cursor_row = min(self.cursor_row, max(0, len(keys) - 1))
        if widths != self._widths:
            self._widths = widths
            self._strips.clear()
            self.refresh()  # every line moves sideways
        elif keys != old_keys:
            # Lines from the first that moved down to the last (an added row at the end: one).
            first = next(
                (n for n, (a, b) in enumerate(zip(old_keys, keys, strict=False)) if a != b),
                min(len(old_keys), len(keys)),
            )
            self.refresh_lines(first + 1, max(len(old_keys), len(keys)) - first)
        for k in changed:
            self.refresh_line(self._index[k] + 1)
        self.virtual_size = Size(sum(widths) + 2 * PAD * len(widths), len(keys) + 1)

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
            strip, fill = self._strip(None, header), base + header
        else:
            row = y - 1 + scroll_y
            if row >= len(self._keys):
                return Strip.blank(width, base)
            key = self._keys[row]
            if row == self.cursor_row:
                strip, fill = self._strip(key, cursor), base + cursor
            else:
                strip = self._strip(key, None)
        # The header's and the cursor's colour run to the right edge.
        return strip.crop_extend(scroll_x, scroll_x + width, fill)

    def _strip(self, key: str | None, style: Style | None) -> Strip:
        kept = self._strips.setdefault(key, {})
        strip = kept.get(style)
        if strip is None:
            cells = self._header if key is None else self._cells[key]
            strip = kept[style] = self._render(cells, style)
        return strip

    def _render(self, cells: Sequence[Text], style: Style | None) -> Strip:
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


def _same(old: tuple[Text, ...], new: tuple[Text, ...]) -> bool:
    """Whether two rows look the same (Text's own == leaves its style out)."""
    return len(old) == len(new) and all(
        a is b or (a.plain, a.style, a.spans) == (b.plain, b.style, b.spans)
        for a, b in zip(old, new, strict=True)
    )
