"""The supervise MCP server, driven by the SDK's real client over streamable HTTP on loopback.

The operator is the core's own :class:`~bot_bottle_core.supervision.Supervision`
(what ``bot-bottle supervise approve`` runs); its reload of egress is stood in for by
writing egress's ready file, which is what real egress does on SIGHUP.

These run in their own environment (``mcp`` and mitmproxy 11 cannot share one):
``nox -s "tests(dist='supervise')"``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
import pytest
from bot_bottle_sidecars.proposals import Proposal, Queue
from bot_bottle_sidecars.proposals.store import MAX_PENDING
from bot_bottle_sidecars.routes import load_routes, parse_route, route_to_json, routes_digest
from bot_bottle_sidecars.supervise.config import SuperviseConfig
from bot_bottle_sidecars.supervise.server import http_server
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bot_bottle_core.routes_file import write_routes
from bot_bottle_core.supervision import Supervision

SLUG = "bob-abcde"
GH_AUTH = {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def route(obj):
    r, problems = parse_route(obj)
    assert not problems, problems
    return r


@dataclass
class Bottle:
    """One bottle's files as the host sees them, and its supervise server."""

    root: Path
    port: int = field(default_factory=free_port)
    progress_s: float = 0.2
    egress_wait_s: float = 5.0
    server: object = None
    thread: threading.Thread | None = None
    reloads: int = 0

    @property
    def queue_dir(self) -> Path:
        return self.root / "queue" / SLUG

    @property
    def sidecar_dir(self) -> Path:
        return self.root / "state" / SLUG / "sidecar"

    @property
    def ready_file(self) -> Path:
        return self.root / "egress.ready"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def config(self) -> SuperviseConfig:
        return SuperviseConfig(
            queue_dir=str(self.queue_dir),
            routes_file=str(self.sidecar_dir / "routes.json"),
            egress_ready_file=str(self.ready_file),
            listen_host="127.0.0.1",
            port=self.port,
            hosts=("supervise",),
            progress_s=self.progress_s,
            poll_s=0.02,
            egress_wait_s=self.egress_wait_s,
            token_hosts={"GITHUB_TOKEN": frozenset({"api.github.com"})},
        )

    def start(self) -> None:
        self.server = http_server(self.config())
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.server.force_exit = True  # as if killed: do not wait for the calls under way
            self.thread.join(10)
            self.server = None

    # -- the egress side, as real egress does it
    def egress_reload(self, slug: str) -> None:
        self.reloads += 1
        digest = routes_digest((self.sidecar_dir / "routes.json").read_bytes())
        self.ready_file.write_text(json.dumps({"routes_sha256": digest}))

    # -- the operator
    @property
    def operator(self) -> Supervision:
        return Supervision(queue_root=self.root / "queue", state_root=self.root / "state")

    def proposals(self) -> list[str]:
        return Queue(self.queue_dir).ids()

    def wait_for_proposal(self, count: int = 1) -> str:
        deadline = time.monotonic() + 10
        while len(self.proposals()) < count:
            assert time.monotonic() < deadline, "no proposal was queued"
            time.sleep(0.01)
        return self.proposals()[-1]

    def live(self) -> list[dict]:
        return [route_to_json(r) for r in load_routes(self.sidecar_dir / "routes.json")]


@pytest.fixture
def asked(monkeypatch) -> list[dict]:
    """Every call's "asked" event as supervise logs it: that call has joined its proposal."""
    from bot_bottle_sidecars.supervise import server

    seen: list[dict] = []
    original = server._log

    def record(event: str, **fields: object) -> None:
        if event == "asked":
            seen.append(fields)
        original(event, **fields)

    monkeypatch.setattr(server, "_log", record)
    return seen


def wait_until(check, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def bottle(tmp_path) -> Iterator[Bottle]:
    b = Bottle(tmp_path)
    b.queue_dir.mkdir(parents=True)
    write_routes(
        b.sidecar_dir,
        [route({"host": "api.github.com", "path_allowlist": ["/repos/a"], "auth": GH_AUTH})],
    )
    b.egress_reload(SLUG)
    b.reloads = 0
    b.start()
    yield b
    b.stop()


@dataclass
class Call:
    result: object = None
    progress: list[tuple[float, str | None]] = field(default_factory=list)
    error: BaseException | None = None


async def call(url: str, tool: str, args: dict, *, read_timeout: float = 30.0) -> Call:
    """One tool call through the SDK's streamable HTTP client; ``read_timeout`` is the
    client's idle limit (no byte from the server for that long fails the call)."""
    out = Call()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        out.progress.append((progress, message))

    http = httpx2.AsyncClient(timeout=httpx2.Timeout(10.0, read=read_timeout))
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        out.result = await client.call_tool(tool, args, progress_callback=on_progress)
    return out


def run_call(url: str, tool: str, args: dict, **kw) -> Call:
    return anyio.run(lambda: call(url, tool, args, **kw))


def in_background(url: str, tool: str, args: dict, **kw) -> tuple[threading.Thread, Call]:
    holder = Call()

    def go() -> None:
        try:
            done = run_call(url, tool, args, **kw)
            holder.result, holder.progress = done.result, done.progress
        except BaseException as exc:  # the test reads it
            holder.error = exc

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, holder


def text(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def structured(result) -> dict:
    return result.structured_content or json.loads(text(result))


ASK = {"host": "pypi.org", "path_allowlist": ["/simple"], "justification": "pip install requests"}


def test_the_three_tools_are_listed(bottle):
    async def names():
        async with Client(bottle.url) as client:
            return sorted(t.name for t in (await client.list_tools()).tools)

    assert anyio.run(names) == ["capability-block", "egress-block", "list-egress-routes"]


def test_list_egress_routes_shows_where_credentials_go_never_a_token(bottle):
    got = structured(run_call(bottle.url, "list-egress-routes", {}).result)
    assert got == {
        "routes": [{"host": "api.github.com", "path_allowlist": ["/repos/a"], "auth": GH_AUTH}]
    }


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"host": 5}, "host"),
        ({"ports": ["https"]}, "ports"),
        ({"path_allowlist": "/simple"}, "path_allowlist"),
        ({"justification": ["why"]}, "justification"),
        ({"host": "https://pypi.org/simple"}, "host"),
        ({"host": "*.pypi.org"}, "host"),
        ({"host": "pypi org"}, "host"),
        ({"host": ""}, "host"),
        ({"path_allowlist": ["simple"]}, "path_allowlist"),
        ({"path_allowlist": []}, "path_allowlist is empty"),
        ({"ports": [0]}, "port"),
        ({"justification": "  "}, "justification is missing"),
        (
            {"auth": {"scheme": "Bearer", "token_ref": "AWS_SECRET_ACCESS_KEY"}},
            "AWS_SECRET_ACCESS_KEY is not a credential this bottle offers for pypi.org",
        ),
        (
            {"host": "pypi.org", "auth": {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"}},
            "GITHUB_TOKEN is not a credential this bottle offers for pypi.org",
        ),
        ({"auth": {"token_ref": "GITHUB_TOKEN", "sneaky": "x"}}, "auth"),
        ({"path_allowlist": [f"/p{i}" for i in range(33)]}, "ask for at most 32"),
        ({"ports": list(range(1000, 1017))}, "ask for at most 16"),
        ({"auth": {"token_ref": "GITHUB_TOKEN", "header": "Host"}}, "auth"),
    ],
)
def test_a_malformed_call_is_a_tool_error_and_queues_nothing(bottle, args, says):
    got = run_call(bottle.url, "egress-block", {**ASK, **args}).result
    assert got.is_error, text(got)
    assert says in text(got)
    assert bottle.proposals() == [] and not any(bottle.queue_dir.iterdir())


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"dockerfile": "RUN apt-get install -y jq"}, "no FROM"),
        ({"dockerfile": ""}, "dockerfile is missing"),
        ({"justification": ""}, "justification is missing"),
    ],
)
def test_a_malformed_capability_call_is_a_tool_error_and_queues_nothing(bottle, args, says):
    ask = {"dockerfile": "FROM x\nRUN apt-get install -y jq\n", "justification": "jq", **args}
    got = run_call(bottle.url, "capability-block", ask).result
    assert got.is_error and says in text(got)
    assert bottle.proposals() == []


def test_new_asks_beyond_the_waiting_limit_are_a_tool_error_and_write_nothing(bottle):
    """An agent cannot fill the host's disk with distinct asks nobody has answered."""
    queue = Queue(bottle.queue_dir)
    for i in range(MAX_PENDING):
        queue.submit(Proposal.egress(route({"host": f"h{i}.example.test"}), "why"))
    before = sorted(p.name for p in bottle.queue_dir.iterdir())
    got = run_call(bottle.url, "egress-block", ASK).result
    assert got.is_error
    assert f"{MAX_PENDING} proposals of this bottle are waiting for the operator" in text(got)
    assert sorted(p.name for p in bottle.queue_dir.iterdir()) == before
    # Once the operator answers one, there is room again.
    waiting = bottle.proposals()
    bottle.operator.reject(SLUG, waiting[0], reason="no")
    thread, call_ = in_background(bottle.url, "egress-block", ASK)
    bottle.wait_for_proposal(MAX_PENDING + 1)
    (pid,) = set(bottle.proposals()) - set(waiting)
    bottle.operator.reject(SLUG, pid, reason="no")
    thread.join(10)
    assert structured(call_.result)["status"] == "rejected"


def test_approved_the_route_is_live_and_the_agent_hears_it(bottle):
    thread, call_ = in_background(bottle.url, "egress-block", ASK)
    pid = bottle.wait_for_proposal()
    item = bottle.operator.find(SLUG, pid)
    assert item.proposal.justification == "pip install requests"
    bottle.operator.approve(SLUG, pid, notes="only the index", reload=bottle.egress_reload)
    thread.join(10)
    assert call_.error is None and not call_.result.is_error, text(call_.result)
    got = structured(call_.result)
    assert got["status"] == "approved" and got["notes"] == "only the index"
    assert got["route"] == {"host": "pypi.org", "path_allowlist": ["/simple"]}
    assert "is routed" in got["message"] and "Retry" in got["message"]
    assert bottle.live()[-1] == {"host": "pypi.org", "path_allowlist": ["/simple"]}
    assert call_.progress and call_.progress[0][0] == 1.0
    assert pid in (call_.progress[0][1] or "")


def test_approved_for_a_while_the_agent_hears_until_when_and_egress_serves_the_lease(bottle):
    from datetime import timedelta

    thread, call_ = in_background(bottle.url, "egress-block", ASK)
    pid = bottle.wait_for_proposal()
    bottle.operator.approve(SLUG, pid, reload=bottle.egress_reload, lasting=timedelta(minutes=30))
    thread.join(10)
    got = structured(call_.result)
    assert got["status"] == "approved" and got["until"]
    assert f"Only until {got['until']}" in got["message"] and "Retry" in got["message"]
    assert bottle.live()[-1] == {"host": "pypi.org", "path_allowlist": ["/simple"]}


def test_an_approved_image_tells_the_agent_its_bottle_stops(bottle):
    dockerfile = "FROM x\nRUN apt-get install -y jq\n"
    ask = {"dockerfile": dockerfile, "justification": "jq"}
    thread, call_ = in_background(bottle.url, "capability-block", ask)
    pid = bottle.wait_for_proposal()
    stopped = []
    bottle.operator.approve(SLUG, pid, reload=bottle.egress_reload, stop=stopped.append)
    thread.join(10)
    got = structured(call_.result)
    assert got["status"] == "approved" and "stops now" in got["message"]
    assert stopped == [SLUG]


def test_modified_the_agent_is_told_what_it_got(bottle):
    thread, call_ = in_background(bottle.url, "egress-block", {**ASK, "path_allowlist": None})
    pid = bottle.wait_for_proposal()
    mine = route({"host": "pypi.org", "path_allowlist": ["/simple/requests"]})
    bottle.operator.approve(SLUG, pid, route=mine, reload=bottle.egress_reload)
    thread.join(10)
    got = structured(call_.result)
    assert got["status"] == "modified"
    assert got["route"] == {"host": "pypi.org", "path_allowlist": ["/simple/requests"]}
    assert "not exactly what you asked" in got["message"]


def test_rejected_the_reason_reaches_the_agent_and_the_routes_stay(bottle):
    before = bottle.live()
    thread, call_ = in_background(bottle.url, "egress-block", ASK)
    pid = bottle.wait_for_proposal()
    bottle.operator.reject(SLUG, pid, reason="use the internal mirror")
    thread.join(10)
    got = structured(call_.result)
    assert got["status"] == "rejected" and got["notes"] == "use the internal mirror"
    assert "use the internal mirror" in got["message"]
    assert bottle.live() == before and bottle.reloads == 0


def test_a_call_waiting_longer_than_the_clients_idle_limit_stays_alive(bottle):
    """The client gives up after 1 s without a byte; the operator takes 2 s and more."""
    thread, call_ = in_background(bottle.url, "egress-block", ASK, read_timeout=1.0)
    pid = bottle.wait_for_proposal()
    started = time.monotonic()
    while time.monotonic() - started < 2.5:  # the call is waiting all this time
        assert thread.is_alive() and call_.error is None
        thread.join(0.1)
    bottle.operator.approve(SLUG, pid, reload=bottle.egress_reload)
    thread.join(10)
    assert call_.error is None, repr(call_.error)
    assert structured(call_.result)["status"] == "approved"
    counts = [p for p, _ in call_.progress]
    assert len(counts) >= 10 and counts == sorted(set(counts))  # growing, every ~0.2 s


def test_without_progress_that_client_would_have_given_up(tmp_path):
    """The control for the test above: the same wait with progress every 10 s fails."""
    b = Bottle(tmp_path, progress_s=10.0)
    b.queue_dir.mkdir(parents=True)
    write_routes(b.sidecar_dir, [])
    b.start()
    try:
        thread, call_ = in_background(b.url, "egress-block", ASK, read_timeout=1.0)
        b.wait_for_proposal()
        thread.join(15)
        assert call_.error is not None or (call_.result and call_.result.is_error)
    finally:
        b.stop()


def test_asking_the_same_again_joins_the_proposal_or_gets_the_stored_answer(bottle, asked):
    first, a = in_background(bottle.url, "egress-block", ASK)
    pid = bottle.wait_for_proposal()
    again = {**ASK, "host": "PyPI.org", "justification": "still need it"}
    second, b = in_background(bottle.url, "egress-block", again)
    wait_until(lambda: len(asked) == 2, "the second call")
    assert [e["new"] for e in asked] == [True, False] and {e["proposal"] for e in asked} == {pid}
    assert bottle.proposals() == [pid]
    bottle.operator.approve(SLUG, pid, reload=bottle.egress_reload)
    first.join(10)
    second.join(10)
    assert structured(a.result)["status"] == structured(b.result)["status"] == "approved"
    # After the answer: at once, and still one proposal, one merge, one reload.
    started = time.monotonic()
    c = run_call(bottle.url, "egress-block", again)
    assert structured(c.result)["proposal"] == pid and time.monotonic() - started < 2
    assert bottle.proposals() == [pid] and bottle.reloads == 1
    assert [r["host"] for r in bottle.live()] == ["api.github.com", "pypi.org"]


def test_a_restart_of_the_server_loses_nothing(bottle, asked):
    thread, call_ = in_background(bottle.url, "egress-block", ASK)
    pid = bottle.wait_for_proposal()
    bottle.stop()  # the sidecar dies: the pending call with it
    thread.join(10)
    assert call_.error is not None or call_.result.is_error
    bottle.start()
    assert bottle.operator.listing().items[0].proposal.id == pid  # still pending
    thread, call_ = in_background(bottle.url, "egress-block", ASK)  # the agent asks again
    wait_until(lambda: len(asked) == 2, "the call after the restart")
    assert asked[1] == {**asked[1], "proposal": pid, "new": False, "answered": False}
    bottle.operator.approve(SLUG, pid, reload=bottle.egress_reload)
    thread.join(10)
    assert structured(call_.result)["status"] == "approved"
    assert bottle.proposals() == [pid] and bottle.reloads == 1


def test_an_approval_egress_has_not_loaded_is_said(tmp_path):
    b = Bottle(tmp_path, egress_wait_s=0.5)
    b.queue_dir.mkdir(parents=True)
    write_routes(b.sidecar_dir, [])
    b.start()
    try:
        thread, call_ = in_background(b.url, "egress-block", ASK)
        pid = b.wait_for_proposal()
        b.operator.approve(SLUG, pid, reload=lambda slug: None)  # the SIGHUP got lost
        thread.join(10)
        got = structured(call_.result)
        assert got["status"] == "approved" and "has not loaded" in got["message"]
    finally:
        b.stop()


def test_a_capability_request_is_queued_and_its_rejection_returned(bottle):
    ask = {"dockerfile": "FROM x\nRUN apt-get install -y jq\n", "justification": "need jq"}
    thread, call_ = in_background(bottle.url, "capability-block", ask)
    pid = bottle.wait_for_proposal()
    assert bottle.operator.find(SLUG, pid).proposal.dockerfile == ask["dockerfile"]
    bottle.operator.reject(SLUG, pid, reason="not now")
    thread.join(10)
    assert structured(call_.result)["status"] == "rejected"


@pytest.mark.parametrize(
    ("host", "status"),
    [("supervise:{port}", 200), ("127.0.0.1:{port}", 200), ("evil.test:{port}", 421)],
)
def test_only_the_agents_names_are_served(bottle, host, status):
    """The DNS-rebinding guard: a page that resolves its own name to the bundle gets nothing."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
        },
    }
    r = httpx2.post(
        bottle.url,
        json=body,
        headers={
            "Host": host.format(port=bottle.port),
            "Accept": "application/json, text/event-stream",
        },
        timeout=10,
    )
    assert r.status_code == status, r.text
    if status == 200:
        r = httpx2.post(
            bottle.url,
            json=body,
            headers={
                "Host": host.format(port=bottle.port),
                "Origin": "http://evil.test",
                "Accept": "application/json, text/event-stream",
            },
            timeout=10,
        )
        assert r.status_code in (400, 403, 421)
