"""The queue against an agent that asks too much: the host's disk and the operator's reader.

The queue directory is on the host and the agent decides what is asked, so
what it can write there is bounded: no file larger than its reader accepts,
and no more than ``MAX_PENDING`` proposals waiting for the operator at once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from bot_bottle_sidecars.proposals import Answer, Proposal, Queue, Refused, now_iso
from bot_bottle_sidecars.proposals.model import MAX_TEXT
from bot_bottle_sidecars.proposals.store import MAX_FILE_BYTES, MAX_PENDING
from bot_bottle_sidecars.routes import parse_route
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Characters that cost the most once written as JSON: controls (\u0000), astral
# ones (two escapes each), quotes and backslashes, and plain ASCII.
EXPENSIVE = st.sampled_from(["\x00", "\x1b", "\U0001f600", "\u202e", '"', "\\", "a", "\n", "é"])


def long_text(min_size: int = 1) -> st.SearchStrategy[str]:
    """Text up to MAX_TEXT characters: a short random chunk repeated (fast to generate)."""
    return st.builds(
        lambda chunk, n: (chunk * n)[:MAX_TEXT],
        st.text(EXPENSIVE, min_size=1, max_size=6),
        st.integers(min_size, MAX_TEXT),
    )


def paths() -> st.SearchStrategy[list[str]]:
    return st.builds(
        lambda n, width: [f"/p{i:0{width}d}" for i in range(n)],
        st.integers(1, 60_000),
        st.integers(1, 60),
    )


def route(obj):
    r, problems = parse_route(obj)
    assert not problems, problems
    return r


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def submitted_or_refused(proposal: Proposal) -> None:
    with tempfile.TemporaryDirectory() as d:
        q = Queue(d)
        try:
            stored = q.submit(proposal)
        except Refused as exc:
            assert "bytes" in str(exc) and "ask for less" in str(exc)
            assert files(Path(d)) == []  # not even a temporary file
            return
        assert stored == proposal
        path = q.proposal_path(proposal.id)
        assert path.stat().st_size <= MAX_FILE_BYTES
        assert Queue(d).proposal(proposal.id) == proposal  # the operator's side reads it


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfile=long_text(), justification=long_text())
def test_no_capability_proposal_is_written_that_its_reader_refuses(dockerfile, justification):
    submitted_or_refused(Proposal.capability("FROM x\n" + dockerfile[:-7], justification))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefixes=paths(), justification=long_text())
def test_no_egress_proposal_is_written_that_its_reader_refuses(prefixes, justification):
    asked = route({"host": "api.example.test", "path_allowlist": prefixes})
    submitted_or_refused(Proposal.egress(asked, justification))


# One step of an agent and an operator: ask for route i (again, maybe), or answer the
# oldest waiting proposal.
STEPS = st.lists(
    st.one_of(st.tuples(st.just("ask"), st.integers(0, 40)), st.just(("answer", 0))),
    max_size=120,
)


@settings(max_examples=60, deadline=None)
@given(steps=STEPS)
def test_at_most_max_pending_proposals_wait_whatever_the_agent_asks(steps):
    with tempfile.TemporaryDirectory() as d:
        q = Queue(d)
        for step, i in steps:
            waiting = q.pending_ids()
            if step == "answer":
                if waiting:
                    pid = min(waiting)
                    q.answer_once(Answer(pid, "rejected", "no", now_iso()))
                continue
            p = Proposal.egress(route({"host": f"h{i}.example.test"}), "why")
            already = q.proposal(p.id) is not None
            if already or len(waiting) < MAX_PENDING:
                assert q.submit(p).id == p.id  # new with room, or joining one asked before
            else:
                with pytest.raises(Refused, match="waiting for the operator"):
                    q.submit(p)
                assert q.proposal(p.id) is None
            assert len(q.pending_ids()) <= MAX_PENDING
        proposals = [n for n in files(Path(d)) if n.endswith(".proposal.json")]
        answered = [n for n in files(Path(d)) if n.endswith(".answer.json")]
        assert len(proposals) <= MAX_PENDING + len(answered)


def test_a_flood_of_distinct_asks_stops_at_the_cap_and_says_why(tmp_path):
    q = Queue(tmp_path)
    for i in range(MAX_PENDING):
        q.submit(Proposal.egress(route({"host": f"h{i}.example.test"}), "why"))
    with pytest.raises(Refused) as refused:
        q.submit(Proposal.egress(route({"host": "one-more.example.test"}), "why"))
    assert f"{MAX_PENDING} proposals of this bottle are waiting for the operator" in str(
        refused.value
    )
    assert len(files(tmp_path)) == MAX_PENDING
    # Asking again for one that waits still joins it.
    again = Proposal.egress(route({"host": "H0.example.test."}), "still")
    assert q.submit(again).justification == "why"
