"""The compact plan printed before a bottle starts.

Shows names, never values: env values and hidden names (a provider's
credential placeholder) stay out, and routes show the auth scheme only.
"""

from __future__ import annotations

from .config import Route
from .git_gate import gate_rows
from .preparation import Prepared


def describe_route(route: Route) -> str:
    """``host paths [methods] [ports:…] [auth:scheme]`` as the preflight and listings show it.

    Ports show only when the route sets them (the defaults are 443 and 80).
    """
    ports = f" [ports:{route.ports_shown}]" if route.ports is not None else ""
    if route.tls_passthrough:
        return f"{route.host} (all paths){ports} [tls passthrough]"
    paths = ",".join(route.path_allowlist) if route.path_allowlist else "(all paths)"
    parts = [route.host, paths]
    if route.methods:
        parts.append("[" + ",".join(route.methods) + "]")
    if ports:
        parts.append(ports.strip())
    if route.auth:
        parts.append(f"[auth:{route.auth.shown}]")
    return " ".join(parts)


def render_preflight(p: Prepared) -> str:
    req, plan = p.request, p.plan
    rows: list[tuple[str, list[str]]] = [
        ("agent", [f"{req.agent.display_name}  (provider {req.provider})"]),
        ("bottle", [f"{req.bottle.name}  ({req.bottle.source})"]),
        ("backend", [plan.backend]),
        ("runtime", [plan.runtime]),
        ("image", [plan.image]),
    ]
    rows += [(k, [v]) for k, v in plan.details.items()]
    rows.append(("egress", [describe_route(r) for r in req.routes] or ["(none: all denied)"]))
    git = gate_rows(req.bottle.git.repos)
    rows.append(("git", git or ["(none)"]))
    rows.append(("env", [", ".join(p.visible_env) or "(none)"]))
    if req.skills:
        rows.append(("skills", [", ".join(s.name for s in req.skills)]))
    if req.copy_cwd:
        rows.append(("workspace", [f"copy of {req.cwd}"]))
    width = max(len(k) for k, _ in rows)
    lines = []
    for key, values in rows:
        for i, value in enumerate(values):
            lines.append(f"  {(key if i == 0 else '').ljust(width)}  {value}")
    return "\n".join(lines)
