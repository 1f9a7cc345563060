"""Modal screens: the new-agent and backend pickers, the preflight, questions and answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..supervision import Pending

MODAL_CSS = """
ModalScreen { align: center middle; }
ModalScreen > Vertical {
    width: auto; min-width: 50; max-width: 90%; height: auto; max-height: 90%;
    border: round $accent; padding: 0 1; background: $surface;
}
ModalScreen .hint { color: $text-muted; }
ModalScreen OptionList { height: auto; max-height: 20; }
ModalScreen VerticalScroll { height: auto; max-height: 30; }
"""


def filter_names(query: str, names: Sequence[str]) -> list[str]:
    """Case-insensitive substring match, in the given order."""
    q = query.lower()
    return [n for n in names if q in n.lower()]


class AgentPicker(ModalScreen[str | None]):
    """``n``: type to filter, arrows to move, Enter to start, Esc to clear or leave."""

    BINDINGS = [
        Binding("escape", "back", "clear / cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, names: Sequence[str], running: Mapping[str, int]) -> None:
        super().__init__()
        self.names = list(names)
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Start an agent[/b]")
            yield Input(placeholder="filter", id="filter")
            yield OptionList(id="choices")
            yield Static("Enter: start   Esc: clear filter / cancel", classes="hint")

    def on_mount(self) -> None:
        self._refill("")

    def _refill(self, query: str) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.clear_options()
        shown = filter_names(query, self.names)
        for name in shown:
            n = self.running.get(name, 0)
            choices.add_option(Option(f"{name}  ({n} running)" if n else name, id=name))
        if not shown:
            empty = "(no agents match the filter)" if self.names else "(no agents configured)"
            choices.add_option(Option(empty, id="", disabled=True))
        choices.highlighted = 0 if shown else None

    def on_input_changed(self, event: Input.Changed) -> None:
        self._refill(event.value)

    def action_move(self, step: int) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.action_cursor_down() if step > 0 else choices.action_cursor_up()

    def _pick(self) -> None:
        choices = self.query_one("#choices", OptionList)
        if choices.highlighted is None:
            return
        option = choices.get_option_at_index(choices.highlighted)
        if option.id:
            self.dismiss(option.id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._pick()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(event.option.id)

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value:
            box.value = ""
        else:
            self.dismiss(None)


class ChoicePicker(ModalScreen[Any]):
    """A short list to choose one entry from: Enter picks, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, choices: Sequence[tuple[str, Any]]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text)
            yield OptionList(*(Option(label) for label, _ in self.choices), id="choices")
            yield Static("Enter: choose   Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index][1])

    def action_cancel(self) -> None:
        self.dismiss(None)


def backend_picker(agent: str, backends: Sequence[str]) -> ChoicePicker:
    return ChoicePicker(
        f"[b]Start {agent} on which backend?[/b]", [(f"[{b}]", b) for b in backends]
    )


def scope_picker(verb: str, items: Sequence[Pending]) -> ChoicePicker:
    """For a grouped row: answer every bottle that asked, or one of them."""
    choices: list[tuple[str, Any]] = [(f"all {len(items)} bottles", list(items))]
    choices += [(f"only {i.slug}", [i]) for i in items]
    return ChoicePicker(f"[b]{verb}[/b] {items[0].proposal.id} for:", choices)


class Confirm(ModalScreen[bool]):
    """A yes/no question; anything but y is no."""

    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n", "answer(False)", "no"),
        Binding("escape", "answer(False)", show=False),
        Binding("enter", "answer(False)", show=False),
    ]

    def __init__(self, title: str, body: str, question: str) -> None:
        super().__init__()
        self.title_text, self.body, self.question = title, body, question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{self.title_text}[/b]")
            if self.body:
                with VerticalScroll():
                    yield Static(self.body, markup=False, id="body")
            yield Static(f"[b]{self.question} [y/N][/b]")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def preflight(slug: str, plan: str) -> Confirm:
    return Confirm(f"Plan for {slug}", plan, "Start this bottle?")


class Ask(ModalScreen[str | None]):
    """One line of text (a reason, a secret): Enter gives it, Esc gives None."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, *, secret: bool = False) -> None:
        super().__init__()
        self.title_text, self.secret = title, secret

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, markup=False)
            yield Input(password=self.secret, id="answer")
            yield Static("Enter: done   Esc: cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
