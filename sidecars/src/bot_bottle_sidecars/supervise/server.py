"""The supervise MCP server (``mcp`` SDK 2: ``MCPServer``, streamable HTTP at ``/mcp``).

Tools:

* ``egress-block(host, path_allowlist?, ports?, auth?, justification)``: ask for a route;
* ``capability-block(dockerfile, justification)``: ask for a different image;
* ``list-egress-routes()``: the live routes, without secrets.

An ask is checked (:mod:`.asks`; a bad one is a tool error and queues nothing),
queued (:mod:`..proposals`; asking the same again joins the same proposal or
gets its stored answer), and the call waits for the operator's answer
(:mod:`.waiting`), reporting progress meanwhile. It returns approved, modified
or rejected with the operator's notes.

The server answers only to the Host names the agent uses (``supervise:8081``):
the SDK's DNS-rebinding guard refuses every other Host and any browser Origin.
One JSON line per event goes to stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette

from bot_bottle_sidecars import layout
from bot_bottle_sidecars.proposals import Answer, CorruptFile, Proposal, Queue, Refused, now_iso
from bot_bottle_sidecars.routes import Route, read_routes, route_to_json

from . import asks
from .config import SuperviseConfig
from .waiting import Ticker, await_answer, await_egress

if TYPE_CHECKING:
    import uvicorn

__all__ = ["build_app", "build_server", "http_server", "main", "serve"]

INSTRUCTIONS = (
    "This bottle reaches the network only through an egress proxy with an allowlist. When a"
    " request is refused with 403 by bot-bottle egress, ask the operator for the route with"
    " egress-block (or for a different image with capability-block) and say why; the call"
    " waits for the operator's answer. list-egress-routes shows what is allowed now."
)


class AuthAsk(BaseModel):
    """How a credential this bottle already holds for the host would travel."""

    model_config = ConfigDict(extra="forbid")
    token_ref: str = Field(description="the credential's name, as list-egress-routes shows it")
    scheme: str | None = Field(None, description="sent as 'Authorization: <scheme> <token>'")
    header: str | None = Field(None, description="or sent as '<header>: <token>'")


def _log(event: str, **fields: object) -> None:
    line = {"time": now_iso(), "sidecar": "supervise", "event": event, **fields}
    print(json.dumps(line, sort_keys=True), flush=True)


def _route_words(route: Route) -> str:
    paths = ", ".join(route.path_allowlist) if route.path_allowlist else "every path"
    ports = f" on ports {', '.join(map(str, route.ports))}" if route.ports else ""
    return f"{route.host} ({paths}){ports}"


def _result(proposal: Proposal, answer: Answer, served: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"proposal": proposal.id, "status": answer.status, "notes": answer.notes}
    if answer.route is not None:
        out["route"] = route_to_json(answer.route)
    said = f" The operator's notes: {answer.notes}" if answer.notes else ""
    if answer.status == "rejected":
        out["message"] = f"Rejected.{said} Do not ask for the same again."
    elif proposal.kind == "capability":
        out["message"] = (
            f"{answer.status.capitalize()}: this bottle stops now and is resumed with the new"
            f" image; your conversation continues there.{said}"
        )
    else:
        assert answer.route is not None
        what = _route_words(answer.route)
        if answer.status == "modified":
            head = (
                f"Approved with changes: the operator granted {what}, not exactly what you asked."
            )
        else:
            head = f"Approved: {what} is routed."
        if answer.expires_at:
            out["until"] = answer.expires_at
            head += f" Only until {answer.expires_at}: then it lapses by itself."
        tail = (
            " Retry your request."
            if served
            else " Egress has not loaded the new routes yet: retry in a moment, and tell the"
            " operator if it is still refused."
        )
        out["message"] = head + tail + said
    return out


def _has_progress_token(ctx: Context) -> bool:
    try:
        meta = ctx.request_context.meta or {}
        return meta.get("progress_token", meta.get("progressToken")) is not None
    except Exception:
        return False


def build_server(config: SuperviseConfig) -> MCPServer:
    server = MCPServer("supervise", instructions=INSTRUCTIONS)
    queue = Queue(config.queue_dir)

    async def decide(proposal: Proposal, ctx: Context) -> dict[str, Any]:
        try:
            stored = queue.submit(proposal)
            answer = queue.answer(stored.id)
        except Refused as exc:
            _log("refused", proposal=proposal.id, error=str(exc))
            raise ToolError(f"the proposal was not queued: {exc}") from None
        except (OSError, CorruptFile) as exc:
            _log("error", proposal=proposal.id, error=str(exc))
            raise ToolError(
                f"the proposal could not be queued ({exc}); tell the operator"
            ) from None
        _log(
            "asked",
            proposal=stored.id,
            kind=stored.kind,
            new=stored is proposal,
            answered=answer is not None,
            progress_token=_has_progress_token(ctx),
        )

        async def report(progress: float, message: str) -> None:
            await ctx.report_progress(progress, None, message)

        ticker = Ticker(report, config.progress_s)
        try:
            answer = await await_answer(queue, stored.id, ticker, poll_s=config.poll_s)
        except CorruptFile as exc:
            _log("error", proposal=stored.id, error=str(exc))
            raise ToolError(
                f"the operator's answer is unreadable ({exc}); tell the operator"
            ) from None
        served = True
        if answer.granted and answer.route is not None:
            served = await await_egress(
                answer,
                Path(config.routes_file),
                Path(config.egress_ready_file),
                ticker,
                poll_s=config.poll_s,
                timeout_s=config.egress_wait_s,
            )
        _log("answered", proposal=stored.id, status=answer.status, served=served)
        return _result(stored, answer, served)

    @server.tool(
        name="egress-block",
        description=(
            "Ask the operator to allow a host (and optionally only some path prefixes or ports)"
            " that egress refused. Waits for the answer: approved (retry your request),"
            " modified (the operator granted something else) or rejected (with a reason)."
        ),
    )
    async def egress_block(
        host: str,
        justification: str,
        ctx: Context,
        path_allowlist: list[str] | None = None,
        ports: list[int] | None = None,
        auth: AuthAsk | None = None,
    ) -> dict[str, Any]:
        try:
            proposal = asks.egress_ask(
                host=host,
                justification=justification,
                path_allowlist=path_allowlist,
                ports=ports,
                auth=auth.model_dump(exclude_none=True) if auth is not None else None,
                token_hosts=config.token_hosts,
            )
        except asks.BadAsk as exc:
            _log("refused", tool="egress-block", error=str(exc))
            raise ToolError(str(exc)) from None
        return await decide(proposal, ctx)

    @server.tool(
        name="capability-block",
        description=(
            "Ask the operator for a different image for this bottle: give the whole Dockerfile"
            " and why. Waits for the answer."
        ),
    )
    async def capability_block(dockerfile: str, justification: str, ctx: Context) -> dict[str, Any]:
        try:
            proposal = asks.capability_ask(dockerfile=dockerfile, justification=justification)
        except asks.BadAsk as exc:
            _log("refused", tool="capability-block", error=str(exc))
            raise ToolError(str(exc)) from None
        return await decide(proposal, ctx)

    @server.tool(
        name="list-egress-routes",
        description="The routes egress allows now (hosts, paths, ports; never a credential).",
    )
    def list_egress_routes() -> dict[str, Any]:
        try:
            routes, _ = read_routes(config.routes_file)
        except ValueError as exc:
            raise ToolError(f"the routes cannot be read ({exc}); tell the operator") from None
        return {"routes": asks.routes_listing(routes)}

    return server


def build_app(config: SuperviseConfig, server: MCPServer | None = None) -> Starlette:
    """The ASGI app: ``/mcp``, guarded against every Host but the agent's names."""
    server = server or build_server(config)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=config.allowed_hosts,
        allowed_origins=[],
    )
    return server.streamable_http_app(
        streamable_http_path=layout.SUPERVISE_PATH,
        transport_security=security,
        host=config.listen_host,
        max_request_body_size=config.max_request_bytes,
        max_sessions=config.max_sessions,
    )


def http_server(config: SuperviseConfig) -> uvicorn.Server:
    """The HTTP server for :func:`build_app` (``should_exit = True`` stops it)."""
    import uvicorn

    return uvicorn.Server(
        uvicorn.Config(
            build_app(config),
            host=config.listen_host,
            port=config.port,
            log_level="warning",
            # Requests beyond this many open connections get 503 before their body is read.
            limit_concurrency=config.max_connections,
        )
    )


async def serve(config: SuperviseConfig, ready_file: str | None = None) -> None:
    """Serve until stopped; ``ready_file`` is written once the port listens."""
    server = http_server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # failed to start: its error
            return
        await asyncio.sleep(0.02)
    ports = [s.getsockname()[1] for srv in server.servers for s in srv.sockets]
    info = {"listen": [config.listen_host, ports[0] if ports else config.port]}
    if ready_file:
        write_ready(ready_file, info)
    _log("ready", queue=config.queue_dir, **info)
    await task


def write_ready(path: str, info: dict[str, object]) -> None:
    tmp = f"{path}.tmp"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(tmp).write_text(json.dumps(info) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main() -> int:
    # The init forwards SIGHUP (egress's reload) to every daemon; it means nothing here.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        config = SuperviseConfig.from_env()
    except ValueError as exc:
        print(f"bot-bottle supervise: {exc}", file=sys.stderr, flush=True)
        return 1
    ready = os.environ.get(layout.ENV_SUPERVISE_READY_FILE) or layout.SUPERVISE_READY_FILE
    with contextlib.suppress(FileNotFoundError):
        os.unlink(ready)
    asyncio.run(serve(config, ready))
    return 0
