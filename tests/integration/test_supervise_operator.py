"""The operator's side in a real bottle: what they see, what is audited, grants that lapse,
and host directories no other local user can write.

The agent side is a small MCP client run inside the bottle (``agent_mcp.py``, the
standard library only) calling the real supervise sidecar; the operator is the real
CLI. The bottle is launched as a non-root operator would have it (their uid and
group), so the sidecar writes the queue and the decisions through that group.
"""

from __future__ import annotations

import json
import stat
import threading
import time
import uuid
from pathlib import Path

import pytest
from bot_bottle_docker import bundle_dirs
from bot_bottle_sidecars.egress.decisions import decisions
from fake_internet import TOKEN, launched_bottle, requests_with, wait_for
from supervise_agent import ask_in_background, fetch_status, put_client

pytestmark = pytest.mark.docker

HOST = "api.fakeprov.test"  # served by the fake internet, not routed in bottle 'sec'
OPERATOR = bundle_dirs.Operator(uid=42_101, gid=42_101)


def curl(agent, path: str) -> int:
    return fetch_status(agent, f"https://{HOST}{path}")


def pending(env, slug: str, out: dict, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [
            p
            for p in json.loads(env.run("supervise", "list", "--json").stdout)
            if p["slug"] == slug
        ]
        if mine:
            return mine[0]["id"]
        time.sleep(0.2)
    raise AssertionError(f"no proposal was queued; the client said: {out.get('raw')}")


@pytest.fixture
def as_operator(monkeypatch):
    """Launch as a non-root operator would: their uid and primary group own the dirs."""
    monkeypatch.setattr(bundle_dirs.Operator, "current", classmethod(lambda cls: OPERATOR))


def test_context_a_grant_that_lapses_and_the_audit_in_a_real_bottle(
    bottle_env, docker_client, upstream, as_operator
):
    m = uuid.uuid4().hex[:10]
    env = bottle_env
    with launched_bottle(env, docker_client) as bottle:
        slug, agent = bottle.slug, bottle.agent
        home = Path(env.env["BOT_BOTTLE_HOME"])
        queue, logs = home / "queue" / slug, home / "logs" / slug
        # The directories the sidecar writes: the operator's group, no one else.
        for d in (queue, logs):
            mode = d.stat().st_mode
            assert stat.S_IMODE(mode) == 0o2770 and d.stat().st_gid == OPERATOR.gid, d
        groups = bottle.sidecars.exec_run(["sh", "-c", "grep ^Groups: /proc/1/status"]).output
        assert str(OPERATOR.gid) in groups.decode()

        assert curl(agent, f"/refused-{m}") == 403
        put_client(agent)
        ask = {"host": HOST, "justification": f"fetch the data {m}"}
        thread, out = ask_in_background(agent, ask, f"https://{HOST}/granted-{m}")
        pid = pending(env, slug, out)
        proposal_file = queue / f"{pid}.proposal.json"
        assert proposal_file.stat().st_uid != 0  # written by the sidecar, through the group

        shown = json.loads(env.run("supervise", "show", slug, pid, "--json").stdout)["context"]
        assert shown["justification"] == f"fetch the data {m}"
        assert [(d["method"], d["path"]) for d in shown["denials"]] == [("GET", f"/refused-{m}")]
        assert f'+      "host": "{HOST}"' in shown["routes_diff"]

        r = env.run("supervise", "approve", slug, pid, "--for", "6s", "--notes", f"briefly {m}")
        assert r.returncode == 0, r.stderr
        thread.join(60)
        result = json.loads(out["result"]["content"][0]["text"])
        assert result["status"] == "approved" and result["until"], result
        assert out["retry_status"] == 200 and requests_with(upstream, f"granted-{m}")

        # No operator process runs now: egress lets the grant lapse by itself.
        wait_for(
            lambda: any(
                '"lapse"' in line for line in (logs / "egress.jsonl").read_text().splitlines()
            ),
            "the lapse",
            timeout=30,
        )
        assert curl(agent, f"/after-{m}") == 403
        assert not requests_with(upstream, f"after-{m}")

        # Whoever looks next records the lapse.
        assert env.run("supervise", "list").returncode == 0
        mine = [e for e in json.loads(env.run("audit", "--json").stdout) if e["slug"] == slug]
        assert [(e["action"], e["proposal"]) for e in mine] == [("approve", pid), ("lapse", pid)]
        assert mine[0]["justification"] == f"fetch the data {m}"
        assert mine[0]["notes"] == f"briefly {m}" and mine[0]["diff"] == shown["routes_diff"]
        verified = env.run("audit", "verify")
        assert verified.returncode == 0, verified.stderr

        rows = json.loads(env.run("audit", "--egress", slug, "--json").stdout)
        seen = {(r["decision"], r["path"]) for r in rows if r.get("kind") == "request"}
        assert {
            ("deny", f"/refused-{m}"),
            ("allow", f"/granted-{m}"),
            ("deny", f"/after-{m}"),
        } <= seen
    # The decisions outlive the bottle, and no token is in anything the operator keeps.
    assert len(decisions(logs / "egress.jsonl")) >= 3
    for path in (home / "audit.jsonl", logs / "egress.jsonl"):
        assert TOKEN not in path.read_text()


SHELL_DOCKERFILE = Path(__file__).parents[2] / "src/bot_bottle_core/builtin/shell/Dockerfile"


def resume_in_process(env, slug: str):
    """``resume`` as the CLI runs it, without attaching: prepare (mode resume) and launch."""
    import os

    from bot_bottle_core import running
    from bot_bottle_core.config import load_config
    from bot_bottle_core.dispatch import Plugins
    from bot_bottle_core.home import Home
    from bot_bottle_core.preparation import find_agent, prepare_bottle
    from bot_bottle_core.state import StateStore

    home = Home.from_env()
    config = load_config(home, env.home)
    plugins = Plugins.load()
    store = StateStore(home.state_dir)
    prepared = prepare_bottle(
        plugins=plugins,
        config=config,
        slug=slug,
        state_dir=store.path(slug),
        agent=find_agent(config, "probe"),
        backend=plugins.backend("docker"),
        cwd=env.home,
        environ=dict(os.environ),
        ask=None,
        mode="resume",
    )
    running.launch(prepared, lambda line: None)
    store.unmark_preserved(slug)
    return prepared


def test_an_approved_image_stops_the_bottle_and_resume_builds_it(
    bottle_env, docker_client, monkeypatch
):
    m = uuid.uuid4().hex[:10]
    env = bottle_env
    # The agent's own image, plus a "package" (nothing leaves the machine to fetch one).
    wanted = SHELL_DOCKERFILE.read_text().replace(
        "USER agent",
        "USER root\n"
        f"RUN printf 'added-package {m}\\n' > /usr/local/share/added-package\n"
        "USER agent",
    )
    for k, v in env.env.items():
        monkeypatch.setenv(k, v)
    with launched_bottle(env, docker_client) as bottle:
        slug = bottle.slug
        home = Path(env.env["BOT_BOTTLE_HOME"])
        put_client(bottle.agent)
        out: dict = {}

        def ask() -> None:
            argv = [
                "python3",
                "/opt/agent_mcp.py",
                "capability-block",
                json.dumps({"dockerfile": wanted, "justification": f"need the package {m}"}),
            ]
            out["raw"] = bottle.agent.exec_run(argv).output.decode(errors="replace")

        thread = threading.Thread(target=ask, daemon=True)
        thread.start()
        pid = pending(env, slug, out)
        r = env.run("supervise", "approve", slug, pid)
        assert r.returncode == 0, r.stderr
        assert f"bot-bottle resume {slug}" in r.stdout
        thread.join(60)
        # Stopped, its state kept, the image it asked for in the state.
        assert not docker_client.containers.list(
            all=True, filters={"label": f"bot-bottle.slug={slug}"}
        )
        state = home / "state" / slug
        assert (state / ".preserve").exists() and (
            state / "image" / "Dockerfile"
        ).read_text() == wanted
        assert docker_client.volumes.list(filters={"label": f"bot-bottle.slug={slug}"})
        (entry,) = [e for e in json.loads(env.run("audit", "--json").stdout) if e["slug"] == slug]
        assert (entry["component"], entry["action"]) == ("capability", "approve")

        prepared = resume_in_process(env, slug)
        assert prepared.request.dockerfile == state / "image" / "Dockerfile"
        agent = docker_client.containers.get(f"bb-{slug}-agent")
        got = agent.exec_run(["cat", "/usr/local/share/added-package"])
        assert got.exit_code == 0 and got.output.decode().strip() == f"added-package {m}"


def test_the_bundle_killed_with_a_proposal_pending_loses_nothing(
    bottle_env, docker_client, upstream
):
    """SIGKILL of the sidecar bundle while the agent waits: the proposal survives on the
    host; after the bundle restarts the agent asks again and joins the same proposal;
    the one approval is applied once (one route, one audit line) and the retry passes."""
    m = uuid.uuid4().hex[:10]
    env = bottle_env
    with launched_bottle(env, docker_client) as bottle:
        slug, agent = bottle.slug, bottle.agent
        put_client(agent)
        ask = {"host": HOST, "justification": f"after the crash {m}"}
        thread, out = ask_in_background(agent, ask, f"https://{HOST}/unused-{m}")
        pid = pending(env, slug, out)
        bottle.sidecars.kill()  # SIGKILL: nothing is flushed on the way down
        thread.join(60)
        assert not thread.is_alive() and "result" not in out, out  # the call died with it
        listed = json.loads(env.run("supervise", "list", "--json").stdout)
        assert [p["id"] for p in listed if p["slug"] == slug] == [pid]  # still pending

        bottle.sidecars.start()
        probe = ["python3", "/opt/agent_mcp.py", "list-egress-routes", "{}"]
        wait_for(lambda: agent.exec_run(probe).exit_code == 0, "supervise after the restart")
        thread, out = ask_in_background(agent, ask, f"https://{HOST}/after-{m}")
        wait_for(
            lambda: '"new": false' in bottle.sidecars.logs(stderr=False).decode(),
            "the second call joining the pending proposal",
        )
        r = env.run("supervise", "approve", slug, pid, "--notes", f"once {m}")
        assert r.returncode == 0, r.stderr
        thread.join(60)
        result = json.loads(out["result"]["content"][0]["text"])
        assert result["status"] == "approved" and result["proposal"] == pid, result
        assert out["retry_status"] == 200 and requests_with(upstream, f"after-{m}")
        # Asked a third time: the stored answer at once, no new proposal, no second merge.
        thread, out = ask_in_background(agent, ask, f"https://{HOST}/again-{m}")
        thread.join(60)
        result = json.loads(out["result"]["content"][0]["text"])
        assert result["status"] == "approved" and result["proposal"] == pid, result
        live = json.loads(env.run("routes", "show", slug, "--json").stdout)["routes"]
        queue = Path(env.env["BOT_BOTTLE_HOME"]) / "queue" / slug
        assert [p.name for p in queue.glob("*.proposal.json")] == [f"{pid}.proposal.json"]
    assert [r["host"] for r in live].count(HOST) == 1, live
    mine = [e for e in json.loads(env.run("audit", "--json").stdout) if e["slug"] == slug]
    assert [(e["action"], e["proposal"]) for e in mine] == [("approve", pid)]
