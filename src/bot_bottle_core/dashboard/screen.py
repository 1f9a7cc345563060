"""The main screen: a summary line, the proposals pane, the agents pane, a status line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.visual import VisualType
from textual.widgets import Static

from .keys import KeyLine
from .panes import AgentsPane, Pane, ProposalsPane
from .table import KeyedTable

CSS = """
#summary { height: 1; padding: 0 1; background: $boost; }
#summary.flash { background: $success; color: $text; text-style: bold; }
Pane { height: 1fr; border: round $panel-lighten-2; }
Pane:focus { border: round $accent; }
#status { height: 1; padding: 0 1; }
#status.error { color: $error; }
"""


class Line(Static):
    """One line of text: its size never depends on what it says, so a new text lays nothing out."""

    _said: VisualType | None = None

    def update(self, content: VisualType = "", *, layout: bool = False) -> None:
        if content != self._said:  # an update repaints, even to the same text
            self._said = content
            super().update(content, layout=layout)


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("tab", "switch_pane", "switch pane"),
        Binding("n", "new_agent", "new agent"),
        Binding("a", "answer('approve')", "approve"),
        Binding("m", "answer('modify')", "modify"),
        Binding("r", "answer('reject')", "reject"),
        Binding("x", "stop_agent", "stop"),
        Binding("e", "edit_routes", "edit routes"),
        Binding("q", "quit_dashboard", "quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.proposals = ProposalsPane()
        self.agents = AgentsPane()
        self.summary = Line("", id="summary", markup=False)
        self.status = Line("", id="status", markup=False)

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.proposals
        yield self.agents
        yield self.status
        yield KeyLine()

    def on_mount(self) -> None:
        self.agents.focus()  # most of the time the operator is managing agents

    @property
    def focused_pane(self) -> Pane | None:
        focused = self.focused
        return focused if isinstance(focused, Pane) else None

    def action_switch_pane(self) -> None:
        other = self.agents if self.focused is self.proposals else self.proposals
        other.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Proposal keys act in the proposals pane, bottle keys in the agents pane.
        if action == "answer":
            return self.focused is self.proposals and self.proposals.row_count > 0
        if action in ("stop_agent", "edit_routes"):
            return self.focused is self.agents and self.agents.row_count > 0
        return True

    # The work is the app's (it owns the snapshot and the workers).
    def action_new_agent(self) -> None:
        self.app.new_agent()  # type: ignore[attr-defined]

    def action_answer(self, verb: str) -> None:
        key = self.proposals.cursor_key()
        if key is not None:
            self.app.answer(verb, key)  # type: ignore[attr-defined]

    def action_stop_agent(self) -> None:
        key = self.agents.cursor_key()
        if key is not None:
            self.app.stop_agent(key)  # type: ignore[attr-defined]

    def action_edit_routes(self) -> None:
        key = self.agents.cursor_key()
        if key is not None:
            self.app.edit_routes(key)  # type: ignore[attr-defined]

    def action_quit_dashboard(self) -> None:
        self.app.exit(0)

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        if event.table is self.proposals:
            self.app.open_proposal(event.key)  # type: ignore[attr-defined]
        elif event.table is self.agents:
            self.app.attach(event.key)  # type: ignore[attr-defined]
