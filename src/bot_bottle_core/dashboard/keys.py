"""The line of keys at the bottom: what each key does where the focus is.

Textual's Footer mounts a widget for every key and mounts them all again at
every change of bindings (a focus change, a screen shown: several times while
the dashboard starts), which made it the costliest part of the first picture
and of a refresh that moved the focus. This is one line of text, drawn again
only when the keys it shows changed.
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static


class KeyLine(Static):
    COMPONENT_CLASSES = {"key-line--key"}
    DEFAULT_CSS = """
    KeyLine {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
        & > .key-line--key { color: $footer-key-foreground; text-style: bold; }
    }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)
        self._shown: object = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._changed)
        self._changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _changed(self, screen: Screen) -> None:
        keys = tuple(
            (self.app.get_key_display(binding), binding.description, enabled)
            for _, binding, enabled, _ in screen.active_bindings.values()
            if binding.show
        )
        if keys == self._shown:
            return
        self._shown = keys
        key_style = self.get_component_rich_style("key-line--key")
        line = Text(no_wrap=True, overflow="ellipsis")
        for key, what, enabled in keys:
            dim = "" if enabled else "dim"
            line.append(f" {key} ", key_style if enabled else dim)
            line.append(f"{what} ", dim)
        self.update(line, layout=False)  # one line, whatever it says
