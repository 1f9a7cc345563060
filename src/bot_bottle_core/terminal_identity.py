"""Which bottle a terminal shows: its title and a tint, set on attach and reset after.

With several agents in several terminals, the window title (OSC 0) says
``label (agent)`` and the background (OSC 11) and palette black (OSC 4;0) take
a dark tint of the agent's colour. Leaving the agent, however it ends (an exit,
a crash, Ctrl-C), resets both (OSC 104, OSC 111). Nothing is written when the
output is not a terminal.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

from .colors import rgb
from .config import Agent

# How much of the agent's colour goes into the near-black background.
TINT = 0.18
OSC = "\x1b]"
ST = "\x07"
RESET = f"{OSC}104{ST}{OSC}111{ST}"


def tint(color: str | None) -> str | None:
    """``#rrggbb``: the colour mixed into black, dark enough to read any text on."""
    base = rgb(color)
    if base is None:
        return None
    r, g, b = (round(c * TINT) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"


def _clean(text: str) -> str:
    # A label goes into an escape sequence: no control character may end it early.
    return "".join(c for c in text if c.isprintable())


def enter(agent: Agent) -> str:
    """What the terminal is sent on attach ("" when the agent has neither label nor colour)."""
    out = ""
    if agent.label:
        out += f"{OSC}0;{_clean(agent.display_name)}{ST}"
    shade = tint(agent.color)
    if shade:
        out += f"{OSC}11;{shade}{ST}{OSC}4;0;{shade}{ST}"
    return out


@contextlib.contextmanager
def shown(agent: Agent, stream: TextIO | None = None) -> Iterator[None]:
    """The agent's identity on the terminal for the block; reset afterwards, whatever happens."""
    out = sys.stdout if stream is None else stream
    sequences = enter(agent) if out.isatty() else ""
    if not sequences:
        yield
        return
    out.write(sequences)
    out.flush()
    try:
        yield
    finally:
        out.write(RESET)
        out.flush()
