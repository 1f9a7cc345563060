"""The two panes: proposals (top) and agents (bottom), each a table keyed by what its rows show.

Cells are :class:`~rich.text.Text`, never markup: a ``[docker]`` tag or a
justification is shown as written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from .model import AgentRow, ProposalGroup
from .rows import AGENT_HEADER, PROPOSAL_HEADER, agent_cells, proposal_cells

FLASH = "bold black on green"


class Pane(DataTable):
    """A table that keeps its cursor on the same row (by key) across refreshes."""

    def __init__(self, header: Iterable[str], *, id: str) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._header = ("", *header)
        self._shown: object = None

    def on_mount(self) -> None:
        self._columns = self.add_columns(*self._header)
        self._rows: dict[str, tuple] = {}

    def cursor_key(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def move_to(self, key: str) -> None:
        with contextlib.suppress(RowDoesNotExist):
            self.move_cursor(row=self.get_row_index(key))

    def _fill(self, shown: object, rows: list[tuple[str, tuple]]) -> None:
        """Show ``rows``, touching only what changed (a refresh rarely changes much)."""
        if shown == self._shown:
            return
        self._shown = shown
        wanted = dict(rows)
        kept = [k for k in self._rows if k in wanted]
        added = [k for k, _ in rows if k not in self._rows]
        if kept + added != [k for k, _ in rows]:
            self._rebuild(rows)
            return
        index = self.cursor_row
        for key in [k for k in self._rows if k not in wanted]:
            self.remove_row(key)
        for key in kept:
            old, new = self._rows[key], wanted[key]
            for column, before, after in zip(self._columns, old, new, strict=True):
                if before != after:
                    self.update_cell(key, column, after, update_width=True)
        for key in added:
            self.add_row(*wanted[key], key=key)
        self._rows = wanted
        if rows and self.cursor_key() is None:
            self.move_cursor(row=min(index, len(rows) - 1))

    def _rebuild(self, rows: list[tuple[str, tuple]]) -> None:
        keep, index = self.cursor_key(), self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        self._rows = dict(rows)
        if keep is not None and keep in self._rows:
            self.move_to(keep)
        elif rows:
            # The row under the cursor went (answered, stopped): the next one takes its place.
            self.move_cursor(row=min(index, len(rows) - 1))


class ProposalsPane(Pane):
    def __init__(self) -> None:
        super().__init__(PROPOSAL_HEADER, id="proposals")
        self.border_title = "Proposals"

    def show(self, groups: tuple[ProposalGroup, ...], flashing: frozenset[str]) -> None:
        rows = []
        for g in groups:
            # Only the marker changes when a flash starts or ends: one cell, not a row.
            mark = Text("NEW", FLASH) if g.id in flashing else Text("")
            cells = (mark, *(Text(c) for c in proposal_cells(g)))
            rows.append((g.id, cells))
        self._fill((groups, flashing), rows)


class AgentsPane(Pane):
    def __init__(self) -> None:
        super().__init__(AGENT_HEADER, id="agents")
        self.border_title = "Agents"

    def show(self, agents: tuple[AgentRow, ...], owned: frozenset[str], right: str | None) -> None:
        rows = []
        for a in agents:
            # ▶ the bottle in the right-hand tmux pane; * one this dashboard started.
            mark = ("▶" if a.slug == right else "") + ("*" if a.slug in owned else "")
            style = "red" if a.incomplete else ""
            rows.append((a.slug, tuple(Text(c, style) for c in (mark, *agent_cells(a)))))
        self._fill((agents, owned, right), rows)
