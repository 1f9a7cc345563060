"""The agent's side of supervision without an agent CLI: ``agent_mcp.py`` run inside a bottle.

* :func:`put_client` copies the client into the agent container;
* :func:`ask_in_background` calls a supervise tool from the agent (it blocks until the
  operator answers, so it runs in a thread) and, once answered, retries a request;
* :func:`exec_in_background` runs an agent CLI the same way, :func:`pending_id` waits for
  its proposal as the operator sees it.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from pathlib import Path

CLIENT = Path(__file__).with_name("agent_mcp.py")


def put_client(agent) -> None:
    data = CLIENT.read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("agent_mcp.py")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    assert agent.put_archive("/opt", buf.getvalue())  # not /tmp: a tmpfs under gVisor


def ask_in_background(
    agent, arguments: dict, retry: str, tool: str = "egress-block"
) -> tuple[threading.Thread, dict]:
    """The tool's answer lands in the dict (``result``, ``retry_status``; ``raw``: the output)."""
    out: dict = {}

    def go() -> None:
        argv = ["python3", "/opt/agent_mcp.py", tool, json.dumps(arguments), retry]
        r = agent.exec_run(argv)
        out["raw"] = r.output.decode(errors="replace")
        if r.exit_code == 0:
            out.update(json.loads(out["raw"].strip().splitlines()[-1]))

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def fetch_status(agent, url: str) -> int:
    """The HTTP status the agent gets for ``url`` through its egress (0: no answer)."""
    r = agent.exec_run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url])
    return int(r.output.decode().strip() or 0)


def exec_in_background(container, argv: list[str], workdir: str = "/workspace"):
    """Run ``argv`` in the container from a thread (an agent CLI waiting on the operator);
    its output lands in the dict under ``text``."""
    out: dict = {}

    def go() -> None:
        result = container.exec_run(argv, workdir=workdir)
        out["text"] = result.output.decode(errors="replace")

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def pending_id(env, slug: str, timeout: float = 180) -> str:
    """The id of ``slug``'s proposal once supervise queued it, seen through the operator's
    CLI (``env`` is a :class:`fake_internet.BottleEnv`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = env.run("supervise", "list", "--json")
        assert r.returncode == 0, r.stderr
        mine = [p for p in json.loads(r.stdout) if p["slug"] == slug]
        if mine:
            return mine[0]["id"]
        time.sleep(0.5)
    raise AssertionError(f"no proposal of {slug} was queued within {timeout:.0f} s")
