"""``bot-bottle dashboard --once [--json]``: both panes printed once, for scripts."""

from __future__ import annotations

import json

import attrs
from bot_bottle_sidecars.routes import route_to_json

from ..cli.table import render_table
from .model import AgentRow, ProposalGroup, Snapshot
from .rows import AGENT_HEADER, PROPOSAL_HEADER, agent_cells, proposal_cells


def render_text(snap: Snapshot) -> str:
    tags = " ".join(f"[{b}]" for b in snap.backends) or "none"
    out = [
        f"Proposals: {snap.pending_count} pending"
        + (f" in {len(snap.groups)} rows" if len(snap.groups) != snap.pending_count else ""),
    ]
    if snap.groups:
        out.append(render_table(PROPOSAL_HEADER, [proposal_cells(g) for g in snap.groups]))
        for g in snap.groups:
            if g.count > 1:
                out.append(f"  {g.id} is asked by {', '.join(g.slugs)}")
    out += ["", f"Agents: {len(snap.agents)} on {tags}"]
    if snap.agents:
        out.append(render_table(AGENT_HEADER, [agent_cells(a) for a in snap.agents]))
    return "\n".join(out)


def _group_json(g: ProposalGroup) -> dict[str, object]:
    p = g.first.proposal
    return {
        "id": p.id,
        "kind": p.kind,
        "slugs": list(g.slugs),
        "count": g.count,
        "asks_for": g.asks_for(),
        "route": None if p.route is None else route_to_json(p.route),
        "justification": p.justification,
        "created_at": p.created_at,
    }


def _agent_json(a: AgentRow) -> dict[str, object]:
    out = attrs.asdict(a)
    out["display_name"] = a.display_name
    out["sidecars"] = list(a.sidecars)
    return out


def render_json(snap: Snapshot) -> str:
    return json.dumps(
        {
            "proposals": [_group_json(g) for g in snap.groups],
            "agents": [_agent_json(a) for a in snap.agents],
            "backends": list(snap.backends),
            "problems": list(snap.problems),
        },
        indent=2,
    )
