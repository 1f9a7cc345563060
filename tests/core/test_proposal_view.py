"""``supervise show`` against a hostile agent: the operator sees exactly what approval grants.

The agent writes the justification and the Dockerfile (and the requests egress
logs as denials). Whatever they hold, the terminal gets no character it would
act on or hide, and no line of theirs can pass for a line of the output. And an
ask that widens a route carrying a credential says so, though it names none.
"""

from __future__ import annotations

import unicodedata

import pytest
from bot_bottle_sidecars.proposals import Entry, Proposal, Queue
from bot_bottle_sidecars.routes import parse_route
from hypothesis import given, settings
from hypothesis import strategies as st

from bot_bottle_core.proposal_view import MARGIN, credential_line, one_line, quoted
from bot_bottle_core.supervision import Pending, Supervision

from .conftest import GH_AUTH, SUPERVISED_SLUG

SLUG = SUPERVISED_SLUG
HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# What terminals act on, one of each kind, and lines that imitate ours.
NASTY = [
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b[1A\x1b[2K",  # cursor up, erase the line: overwrite what was printed
    "\x1b[8m",  # conceal what follows (the route)
    "\x1b[30;40m",  # black on black
    "\x1b]0;title\x07",  # OSC: window title
    "\x1b]52;c;ZXZpbA==\x07",  # OSC 52: write the clipboard
    "\x9b2J",  # C1 CSI
    "\r",
    "\x08" * 20,
    "\u202e",  # right-to-left override
    "\u2066\u2069",  # isolates
    "\u200b\u200d\ufeff",  # zero-width
    "\u2028\u2029\x85\x0b\x0c",  # line breaks other than \n
    '\nroute asked:\n{\n  "host": "pypi.org"\n}',
    "\nroutes diff on approval: none (the live routes already allow it)",
    "\nstatus: approved",
]
AGENT_TEXT = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=30)), max_size=12).map(
    "".join
)


def route(obj):
    r, problems = parse_route(obj)
    assert not problems, problems
    return r


def no_hidden_characters(lines: list[str]) -> None:
    for line in lines:
        bad = [c for c in line if c != "\t" and unicodedata.category(c) in HIDDEN]
        assert not bad, f"{line!r} holds {bad!r}"


def ours(text: str) -> list[str]:
    """The lines that are not the agent's (those sit under the margin)."""
    return [line for line in text.splitlines() if not line.startswith(MARGIN)]


@settings(max_examples=500, deadline=None)
@given(text=AGENT_TEXT)
def test_the_agents_text_is_escaped_and_kept_under_the_margin(text):
    lines = quoted(text)
    no_hidden_characters(lines)
    assert all(line.startswith(MARGIN) for line in lines)
    assert len(lines) == text.count("\n") + 1  # only its own newlines break lines
    single = one_line(text)
    no_hidden_characters([single])
    assert "\n" not in single


def test_show_prints_the_agents_text_escaped_and_none_of_it_passes_for_ours(op):
    queue = Queue(op.home / "queue" / SLUG)
    asked = route({"host": "pypi.org", "path_allowlist": ["/simple"]})
    nasty = "".join(NASTY)
    for proposal, neutral in (
        (Proposal.egress(asked, nasty), Proposal.egress(asked, "x")),
        (Proposal.capability("FROM x\n" + nasty, nasty), Proposal.capability("FROM x\n", "x")),
    ):
        shown = op.run("supervise", "show", SLUG, queue.submit(proposal).id)
        assert shown.code == 0, shown.err
        no_hidden_characters(shown.out.splitlines())
        assert "\\x1b[8m" in shown.out and "\\u202e" in shown.out
        for p in queue.ids():  # the neutral twin asks the same, so it replaces the proposal
            (queue.dir / f"{p}.proposal.json").unlink()
        plain = op.run("supervise", "show", SLUG, queue.submit(neutral).id)
        assert ours(shown.out)[1:] == ours(plain.out)[1:]  # the first line names the id
        (queue.dir / f"{neutral.id}.proposal.json").unlink()


LIVE = {"host": "api.github.com", "path_allowlist": ["/repos/a"], "auth": GH_AUTH}
# Asks for a routed host whose route carries a credential: each extends where it goes.
WIDENING = {
    "another path": {"host": "api.github.com", "path_allowlist": ["/repos/b"]},
    "the whole host": {"host": "API.GitHub.com."},
    "another port": {"host": "api.github.com", "path_allowlist": ["/repos/a"], "ports": [8443]},
    "asking with other auth": {
        "host": "api.github.com",
        "path_allowlist": ["/user"],
        "auth": {"header": "x-api-key", "token_ref": "OTHER"},
    },
}
HARMLESS = {
    "a new host": {"host": "pypi.org"},
    "what the route already lists": {"host": "api.github.com", "path_allowlist": ["/repos/a"]},
}


def pending(op, asked: dict) -> Pending:
    p = Queue(op.home / "queue" / SLUG).submit(Proposal.egress(route(asked), "why"))
    return Pending(SLUG, Entry(p))


def supervision(op) -> Supervision:
    return Supervision(queue_root=op.home / "queue", state_root=op.home / "state")


@pytest.mark.parametrize("asked", WIDENING.values(), ids=WIDENING.keys())
def test_an_ask_that_extends_a_credential_names_it(op, asked):
    line = credential_line(supervision(op), pending(op, asked))
    assert line is not None
    assert "GITHUB_TOKEN (sent as 'Authorization: Bearer <token>')" in line
    assert "OTHER" not in line  # the agent's auth is not what travels


@pytest.mark.parametrize("asked", HARMLESS.values(), ids=HARMLESS.keys())
def test_an_ask_that_extends_no_credential_says_nothing_of_one(op, asked):
    assert credential_line(supervision(op), pending(op, asked)) is None


def test_show_through_the_cli_names_the_credential(op):
    p = pending(op, WIDENING["another path"]).proposal
    r = op.run("supervise", "show", SLUG, p.id)
    assert r.code == 0, r.err
    assert "credential: approval extends api.github.com's route, which carries GITHUB_TOKEN" in (
        r.out
    )
    assert LIVE["host"] in r.out
