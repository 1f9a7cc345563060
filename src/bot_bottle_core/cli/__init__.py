"""The ``bot-bottle`` command line."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    """The console script. The command modules load on first use, so code that only
    needs :mod:`.context` (the dashboard) does not import every command."""
    from .main import main as run

    run(argv)


__all__ = ["main"]
