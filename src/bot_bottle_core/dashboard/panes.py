"""The two panes: proposals (top) and agents (bottom), each a table keyed by what its rows show.

Cells are :class:`~rich.text.Text`, never markup: a ``[docker]`` tag or a
justification is shown as written.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

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
        self._title: str | None = None
        # Cells by what they show: those of the last fill, and those of the one under way.
        self._made: dict[Hashable, tuple[Text, ...]] = {}
        self._next: dict[Hashable, tuple[Text, ...]] = {}

    def title(self, text: str) -> None:
        # Setting a border title repaints the whole pane, even to the same text.
        if text != self._title:
            self._title = text
            self.border_title = text

    def _made_cells(self, what: Hashable, make: Callable[[], tuple[Text, ...]]) -> tuple[Text, ...]:
        """A row's cells, made again only when what they show changed."""
        cells = self._made.get(what)
        if cells is None:
            cells = make()
        self._next[what] = cells
        return cells

    def _fill(self, shown: object, make_rows: Callable[[], list[tuple[str, tuple[Text, ...]]]]):
        if shown == self._shown:
            return  # a refresh rarely changes anything: nothing is made
        self._shown = shown
        self._next = {}
        rows = make_rows()
        self._made, self._next = self._next, {}
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
        def rows():
            out = []
            for g in groups:
                first = g.first.proposal
                # Only the marker changes when a flash starts or ends: one cell, not a row.
                mark = Text("NEW", FLASH) if g.id in flashing else Text("")
                what = (g.id, g.slugs, first.created_at, first.justification)
                make = lambda g=g: tuple(Text(c) for c in proposal_cells(g))  # noqa: E731
                cells = self._made_cells(what, make)
                out.append((g.id, (mark, *cells)))
            return out

        self._fill((groups, flashing), rows)


class AgentsPane(Pane):
    def __init__(self) -> None:
        super().__init__(AGENT_HEADER, id="agents")
        self.border_title = "Agents"

    def show(self, agents: tuple[AgentRow, ...], owned: frozenset[str], right: str | None) -> None:
        def rows():
            out = []
            for a in agents:
                # ▶ the bottle in the right-hand tmux pane; * one this dashboard started.
                mark = ("▶" if a.slug == right else "") + ("*" if a.slug in owned else "")
                style = "red" if a.incomplete else ""
                make = lambda a=a, mark=mark, style=style: tuple(  # noqa: E731
                    Text(c, style) for c in (mark, *agent_cells(a))
                )
                out.append((a.slug, self._made_cells((a, mark), make)))
            return out

        self._fill((agents, owned, right), rows)
