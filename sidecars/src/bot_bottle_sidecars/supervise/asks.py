"""Checking what the agent asks for, before anything is queued.

A bad call raises :class:`BadAsk` whose message says every problem, in the
route model's words (the same checks ``config check`` and egress make), so the
agent can correct itself; nothing reaches the operator.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot_bottle_sidecars.proposals import Proposal
from bot_bottle_sidecars.proposals.model import MAX_TEXT
from bot_bottle_sidecars.routes import Route, parse_route, route_to_json

__all__ = ["BadAsk", "capability_ask", "egress_ask", "routes_listing"]


# What one ask may list. The operator reads every entry, and a waiting call keeps
# what it asked in the server's memory until the answer comes.
MAX_ASKED_PATHS = 32
MAX_ASKED_PORTS = 16


class BadAsk(ValueError):
    """A tool call that cannot become a proposal; the message is for the agent."""


def _justification(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise BadAsk(
            "justification is missing: say what you are doing and why you need this,"
            " the operator reads it before deciding"
        )
    if len(text) > MAX_TEXT:
        raise BadAsk(f"justification is longer than {MAX_TEXT} characters; keep it short")
    return text.strip()


def egress_ask(
    *,
    host: object,
    justification: object,
    path_allowlist: object = None,
    ports: object = None,
    auth: object = None,
    token_hosts: Mapping[str, frozenset[str]],
) -> Proposal:
    """The proposal for one route, or :class:`BadAsk`.

    ``auth`` may only name a credential this bottle was started with for that
    host (``token_hosts``): egress could not send any other, and the agent never
    chooses where a credential goes.
    """
    for name, value, most in (
        ("path_allowlist", path_allowlist, MAX_ASKED_PATHS),
        ("ports", ports, MAX_ASKED_PORTS),
    ):
        if isinstance(value, list) and len(value) > most:
            raise BadAsk(
                f"{name} lists {len(value)} entries; ask for at most {most} at once"
                " (the operator reads each one)"
            )
    asked: dict[str, object] = {"host": host}
    for key, value in (("path_allowlist", path_allowlist), ("ports", ports), ("auth", auth)):
        if value is not None:
            asked[key] = value
    route, problems = parse_route(asked)
    if route is None:
        raise BadAsk(
            "this route cannot be asked for: "
            + "; ".join(f"{p.where() or 'route'}: {p.message}" for p in problems)
        )
    if route.auth is not None:
        _check_auth(route, token_hosts)
    return Proposal.egress(route, _justification(justification))


def _check_auth(route: Route, token_hosts: Mapping[str, frozenset[str]]) -> None:
    assert route.auth is not None
    ref = route.auth.token_ref
    if route.host in token_hosts.get(ref, ()):
        return
    offered = sorted(
        f"{r} (for {', '.join(sorted(hosts))})" for r, hosts in token_hosts.items() if hosts
    )
    where = f"; this bottle offers {', '.join(offered)}" if offered else ""
    raise BadAsk(
        f"auth.token_ref {ref} is not a credential this bottle offers for {route.host}{where}."
        " Ask without auth; the operator decides whether a credential goes with the route"
    )


def capability_ask(*, dockerfile: object, justification: object) -> Proposal:
    if not isinstance(dockerfile, str) or not dockerfile.strip():
        raise BadAsk("dockerfile is missing: give the whole Dockerfile of the image you need")
    if len(dockerfile) > MAX_TEXT:
        raise BadAsk(f"dockerfile is longer than {MAX_TEXT} characters")
    instructions = [
        line.split(None, 1)[0].upper()
        for line in dockerfile.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if "FROM" not in instructions:
        raise BadAsk("dockerfile has no FROM instruction; give the whole Dockerfile")
    return Proposal.capability(dockerfile, _justification(justification))


def routes_listing(routes: tuple[Route, ...]) -> list[dict[str, object]]:
    """The live routes as the agent may see them: where each credential goes, never a token."""
    return [route_to_json(r) for r in routes]
