"""Enter on a proposal: why the agent asks, what egress refused it, and what approving changes."""

from __future__ import annotations

import json

from bot_bottle_sidecars.routes import Route, route_to_json
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ..proposal_view import escaped
from .keys import KeyLine
from .model import ProposalGroup, local_clock
from .supervising import RouteChange, Supervisor

ADDED_HOST = "bold black on green"
ADDED = "green"
REMOVED = "red"
HEADING = "bold underline"


def _route_line(route: Route) -> str:
    return json.dumps(route_to_json(route), separators=(", ", ": "))


def change_text(change: RouteChange) -> Text:
    """``-``/``+`` lines of the host's route; a host approval would add is highlighted."""
    out = Text()
    if change.problem:
        out.append(f"  cannot read the live routes: {change.problem}\n", REMOVED)
    if change.before is not None:
        if change.before == change.after:
            out.append(f"  = {_route_line(change.after)}  (already granted)\n")
            return out
        out.append(f"  - {_route_line(change.before)}\n", REMOVED)
    line = Text(f"  + {_route_line(change.after)}\n", ADDED)
    if change.adds_host:
        quoted = json.dumps(change.after.host)
        start = line.plain.index(quoted) + 1
        line.stylize(ADDED_HOST, start, start + len(change.after.host))
        line.append_text(Text(f"    {change.after.host} is a new host for this bottle\n", ADDED))
    out.append_text(line)
    return out


def detail_text(group: ProposalGroup, supervisor: Supervisor) -> Text:
    p = group.first.proposal
    out = Text()
    out.append(f"Proposal {p.id}", "bold")
    out.append(f" ({p.kind}), first asked {local_clock(p.created_at)}\n")
    out.append(f"Asked by {', '.join(group.slugs)}\n")
    out.append(f"Asks for {group.asks_for()}\n\n")
    out.append("Justification\n", HEADING)
    for item in group.items:
        lead = f"  [{item.slug}] " if group.count > 1 else "  "
        # The agent's text, with every character that could hide or fake a line escaped.
        for line in escaped(item.proposal.justification, keep="\t").split("\\n"):
            out.append(f"{lead}{line}\n")
    if p.route is not None:
        out.append(f"\nRecent denials of {p.route.host}\n", HEADING)
        found = False
        for item in group.items:
            for d in supervisor.recent_denials(item.slug, p.route.host):
                found = True
                lead = f"[{item.slug}] " if group.count > 1 else ""
                out.append(f"  {lead}{d.line()}\n")
        if not found:
            out.append("  (none recorded)\n", "dim")
        out.append("\nWhat approving changes\n", HEADING)
        for item in group.items:
            change = supervisor.route_change(item)
            if change is None:
                continue
            if group.count > 1:
                out.append(f"  {item.slug}:\n")
            out.append_text(change_text(change))
    if p.dockerfile is not None:
        out.append("\nDockerfile asked for\n", HEADING)
        out.append(escaped(p.dockerfile.rstrip()) + "\n")
    return out


class ProposalDetail(Screen[None]):
    BINDINGS = [
        Binding("a", "answer('approve')", "approve"),
        Binding("m", "answer('modify')", "modify"),
        Binding("r", "answer('reject')", "reject"),
        Binding("escape,q", "app.pop_screen", "back"),
    ]

    def __init__(self, group: ProposalGroup, supervisor: Supervisor) -> None:
        super().__init__()
        self.group = group
        self.supervisor = supervisor

    def compose(self) -> ComposeResult:
        self.text = detail_text(self.group, self.supervisor)
        with VerticalScroll():
            yield Static(self.text, id="detail")
        yield KeyLine()

    def action_answer(self, verb: str) -> None:
        self.app.answer(verb, self.group.id)  # type: ignore[attr-defined]
