"""Proposal round trip: tool call -> operator approves through the CLI -> tool returns -> the
retried request passes (target: median <= 1 s, excluding human time).

One real bottle on the fake internet (tests/integration/fake_internet.py). Inside it, a
standard-library MCP client (tests/integration/agent_mcp.py) calls supervise's
``egress-block`` for a new path each run, then sends the request again through egress.
On the host the operator watches the queue directory and, as soon as the proposal is
there, runs the real ``bot-bottle supervise approve``. Human time is the gap between the
proposal appearing and the approve command starting; it is measured and left out
(here it is only this script's polling, at most a few ms).

Containers and the host share one clock, so the agent's times and the operator's compare.

    uv run python bench/supervise.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, os.path.dirname(__file__))
from _common import BASE_IMAGE  # noqa: E402
from fake_internet import BottleEnv, launched_bottle, running_upstream  # noqa: E402
from supervise_agent import put_client  # noqa: E402

HOST = "api.fakeprov.test"  # served by the fake internet, not routed in bottle 'sec'


def one_run(env: BottleEnv, bottle, queue: Path, n: int) -> dict[str, float]:
    path = f"/bench-{n}-{os.urandom(3).hex()}"
    ask = {"host": HOST, "path_allowlist": [path], "justification": f"benchmark run {n}"}
    out: dict = {}
    argv = [
        "python3",
        "/opt/agent_mcp.py",
        "egress-block",
        json.dumps(ask),
        f"https://{HOST}{path}/x",
    ]

    def agent_side() -> None:
        r = bottle.agent.exec_run(argv)
        out.update(json.loads(r.output.decode().strip().splitlines()[-1]))

    before = set(queue.glob("*.proposal.json"))
    t = threading.Thread(target=agent_side)
    t.start()
    while True:  # the operator notices the proposal
        new = set(queue.glob("*.proposal.json")) - before
        if new:
            break
        time.sleep(0.002)
    seen = time.time()
    pid = new.pop().name.split(".")[0]
    cli_start = time.time()
    r = env.run("supervise", "approve", bottle.slug, pid)
    cli_end = time.time()
    if r.returncode != 0:
        raise SystemExit(f"approve failed: {r.stderr}")
    t.join(120)
    if out.get("retry_status") != 200:
        raise SystemExit(f"the retried request was not let through: {out}")
    human = cli_start - seen
    return {
        "total": out["retried_at"] - out["called_at"] - human,
        "queued": seen - out["called_at"],
        "approve_cli": cli_end - cli_start,
        "answer_to_agent": out["answered_at"] - cli_end,
        "retry": out["retried_at"] - out["answered_at"],
        "human": human,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    client = docker.from_env()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        (tmp / "up").mkdir()
        with running_upstream(client, BASE_IMAGE, tmp / "up") as up:
            env = BottleEnv(tmp / "home", up, BASE_IMAGE)
            with launched_bottle(env, client) as bottle:
                put_client(bottle.agent)
                queue = env.home / "queue" / bottle.slug
                one_run(env, bottle, queue, -1)  # warm: first MCP session, first CLI run
                runs = [one_run(env, bottle, queue, n) for n in range(args.runs)]
    print(f"proposal round trip, {len(runs)} runs (seconds; human time left out):")
    for key in ("total", "queued", "approve_cli", "answer_to_agent", "retry", "human"):
        vals = sorted(r[key] for r in runs)
        print(
            f"  {key:16s} median {statistics.median(vals):.3f}  min {vals[0]:.3f}"
            f"  max {vals[-1]:.3f}"
        )
    total = statistics.median(r["total"] for r in runs)
    print(f"target <= 1 s: {'met' if total <= 1.0 else 'missed'} ({total:.3f} s median)")


if __name__ == "__main__":
    main()
