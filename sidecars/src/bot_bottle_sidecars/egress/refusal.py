"""What a client reads when egress refuses a request or upstream fails.

Both are plain text an agent can act on, and both carry ``X-Bot-Bottle-Egress``
so a client can tell them apart from an upstream's own answer: ``denied`` (a
policy decision; HTTP 403) or ``failed`` (the route allowed it, but upstream
could not be reached; HTTP 502, or 504 on a timeout).
"""

from __future__ import annotations

import json

from mitmproxy import http

__all__ = ["ASK_TOOL", "HEADER", "denied", "denied_text", "failed", "failed_text"]

HEADER = "X-Bot-Bottle-Egress"
ASK_TOOL = "egress-block"
_TEXT = "text/plain; charset=utf-8"


def denied_text(reason: str, host: str | None, path: str | None, ask: bool) -> str:
    lines = ["bot-bottle egress proxy: request denied.", f"Reason: {reason}.", ""]
    if ask:
        args = [f"host={json.dumps(host or '')}"]
        if path and path != "/":
            args.append(f"path_allowlist=[{json.dumps(path)}]")
        args.append('justification="<why this task needs it>"')
        lines += [
            "If the task needs this, ask for the route: call the",
            f"{ASK_TOOL} tool with {', '.join(args)}.",
            "The operator approves, changes or rejects the request.",
        ]
    else:
        lines.append("No route request changes this; change the request or tell the operator.")
    return "\n".join(lines) + "\n"


def failed_text(host: str, cause: str) -> str:
    return (
        "bot-bottle egress proxy: the request was allowed, but upstream could not be reached.\n"
        f"Host: {host}\n"
        f"Cause: {cause}.\n"
        "\n"
        "This is not a policy refusal: retrying later may work; if it keeps failing,"
        " tell the operator.\n"
    )


def denied(reason: str, host: str | None, path: str | None, ask: bool = True) -> http.Response:
    return http.Response.make(
        403, denied_text(reason, host, path, ask), {"Content-Type": _TEXT, HEADER: "denied"}
    )


def failed(host: str, cause: str, status: int = 502) -> http.Response:
    return http.Response.make(
        status, failed_text(host, cause), {"Content-Type": _TEXT, HEADER: "failed"}
    )
