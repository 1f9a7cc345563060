"""The terminal shows which bottle it is in, and is put back however the agent ends."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot_bottle_core.config import Agent
from bot_bottle_core.terminal_identity import RESET, enter, shown, tint


def agent(**kw) -> Agent:
    return Agent(name="implementer", source=Path("a.md"), bottle="b", provider="shell", **kw)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_title_and_tint_from_the_label_and_colour():
    out = enter(agent(label="bob", color="blue"))
    assert "\x1b]0;bob (implementer)\x07" in out
    shade = tint("blue")
    assert shade == "#071926"  # 18% of (38, 139, 210): dark enough for any text
    assert f"\x1b]11;{shade}\x07" in out and f"\x1b]4;0;{shade}\x07" in out
    assert enter(agent()) == ""
    assert enter(agent(color="#ff0000")) == "\x1b]11;#2e0000\x07\x1b]4;0;#2e0000\x07"


def test_a_label_cannot_end_the_sequence_early():
    out = enter(agent(label="bob\x07\x1b]0;evil"))
    assert out.count("\x07") == 1 and out.count("\x1b") == 1


def test_reset_follows_whatever_ends_the_agent():
    term = Tty()
    with pytest.raises(RuntimeError), shown(agent(label="bob", color="red"), term):
        assert "\x1b]0;bob (implementer)" in term.getvalue()
        raise RuntimeError("the agent crashed")
    assert term.getvalue().endswith(RESET)
    assert RESET == "\x1b]104\x07\x1b]111\x07"


def test_nothing_is_written_when_output_is_not_a_terminal():
    piped = io.StringIO()
    with shown(agent(label="bob", color="red"), piped):
        pass
    assert piped.getvalue() == ""
