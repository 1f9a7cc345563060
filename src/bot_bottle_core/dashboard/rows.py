"""The cells of each pane's rows: one wording for the TUI and for ``--once``."""

from __future__ import annotations

from ..proposal_view import one_line
from .model import AgentRow, ProposalGroup, local_clock

PROPOSAL_HEADER = ("BOTTLE", "ID", "KIND", "ASKED", "ASKS FOR", "WHY")
AGENT_HEADER = ("BACKEND", "AGENT", "SLUG", "STATUS", "SIDECARS", "STARTED", "LAST DENIAL")
WHY_WIDTH = 60


def bottles_cell(group: ProposalGroup) -> str:
    if group.count == 1:
        return group.first.slug
    return f"{group.count} bottles"


def proposal_cells(group: ProposalGroup) -> tuple[str, ...]:
    p = group.first.proposal
    why = one_line(" ".join(p.justification.split()))  # the agent's text: nothing hidden
    if len(why) > WHY_WIDTH:
        why = why[: WHY_WIDTH - 1] + "…"
    return (bottles_cell(group), p.id, p.kind, local_clock(p.created_at), group.asks_for(), why)


def status_cell(row: AgentRow) -> str:
    if row.incomplete:
        return "INCOMPLETE"  # its launcher is gone: nothing will finish it
    return row.status or "-"


def agent_cells(row: AgentRow) -> tuple[str, ...]:
    return (
        f"[{row.backend}]",
        row.display_name,
        row.slug,
        status_cell(row),
        ",".join(row.sidecars) or ("-" if row.listed else "(starting)"),
        local_clock(row.started_at),
        row.last_denial.line() if row.last_denial else "-",
    )
