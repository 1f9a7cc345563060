"""The two panes: proposals (top) and agents (bottom), each a table keyed by what its rows show.

Cells are :class:`~rich.text.Text`, never markup: a ``[docker]`` tag or a
justification is shown as written.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from .model import AgentRow, ProposalGroup
from .rows import AGENT_HEADER, PROPOSAL_HEADER, agent_cells, proposal_cells
from .table import KeyedTable

FLASH = "bold black on green"


class Pane(KeyedTable):
    """A table that keeps its cursor on the same row (by key) across refreshes."""

    def __init__(self, header: Iterable[str], *, id: str) -> None:
        super().__init__(("", *header), id=id)
        self._shown: object = None

    def _fill(self, shown: object, rows: list[tuple[str, tuple[Text, ...]]]) -> None:
        if shown == self._shown:
            return  # a refresh rarely changes anything
        self._shown = shown
        keep, index = self.cursor_key(), self.cursor_row
        self.set_rows(rows)
        if keep is not None and keep in self._index:
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
            rows.append((g.id, (mark, *(Text(c) for c in proposal_cells(g)))))
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
