"""What a launch made, removed in reverse order when a later step fails."""

from __future__ import annotations

from collections.abc import Callable

import attrs

Progress = Callable[[str], None]


@attrs.define
class Undo:
    steps: list[tuple[str, Callable[[], object]]] = attrs.field(factory=list)

    def add(self, what: str, fn: Callable[[], object]) -> None:
        self.steps.append((what, fn))

    def run(self, progress: Progress) -> None:
        """Every step runs, whatever the ones before it did (each counts a thing already
        gone as removed); a failure is reported with what to remove by hand."""
        for what, fn in reversed(self.steps):
            try:
                fn()
            except Exception as exc:  # each step raises its own kind
                progress(f"warning: could not remove {what}: {exc}; remove it by hand")
        self.steps.clear()
