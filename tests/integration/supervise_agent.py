"""The agent's side of supervision without an agent CLI: ``agent_mcp.py`` run inside a bottle.

* :func:`put_client` copies the client into the agent container;
* :func:`ask_in_background` calls a supervise tool from the agent (it blocks until the
  operator answers, so it runs in a thread) and, once answered, retries a request.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
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
