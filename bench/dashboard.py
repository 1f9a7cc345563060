"""The dashboard with 50 bottles and 50 pending proposals: time to first paint, CPU per refresh.

The bottles run on a file-backed backend installed as a real plugin (what the
docker backend's one list call costs is in bench/list_active.py); their
queues, routes and egress decision logs are real files in a temporary home.
The app runs headless (Textual's pilot), so the figures are the dashboard's own
work: gathering in its worker thread, comparing, redrawing.

* first paint: from starting a fresh interpreter (wall clock: from just before
  it is spawned; CPU: the process's own) to the first picture holding every
  bottle and proposal, everything imported on the way as `bot-bottle
  dashboard` would (target: <= 500 ms);
* CPU per refresh tick: the process's CPU time (every thread, Textual's own
  loop included) over ``--ticks`` refreshes at the real one-second interval,
  divided by their number; once with nothing changing between ticks, once with
  a new proposal and a new denial every tick (target: <= 20 ms).

    uv run python bench/dashboard.py [--bottles 50] [--proposals 50] [--ticks 10]

An older revision is measured by putting its ``src/`` first on ``PYTHONPATH``
(``git archive REV src | tar -x -C /tmp/rev``, then ``PYTHONPATH=/tmp/rev/src``).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKEND = """
import json, os
from pathlib import Path
from bot_bottle_core import hookimpl
from bot_bottle_core.plan import ActiveBottle

@hookimpl
def enumerate_active():
    rows = json.loads(Path(os.environ["BENCH_BOTTLES"]).read_text())
    return [ActiveBottle(backend="bench", slug=r["slug"], agent=r["agent"], label=r["label"],
                         services=("agent", "sidecars"), started_at=r["started"]) for r in rows]
"""


def install_backend(root: Path) -> Path:
    site = root / "site"
    info = site / "bot_bottle_bench-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bot-bottle-bench\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[bot_bottle.backend]\nbench = bench_backend\n")
    (site / "bench_backend.py").write_text(BACKEND)
    return site


def make_fleet(home: Path, bottles: int, proposals: int) -> list[str]:
    from bot_bottle_sidecars.proposals import Proposal, Queue
    from bot_bottle_sidecars.routes import parse_route

    from bot_bottle_core import launch_record
    from bot_bottle_core.launch_record import LaunchRecord
    from bot_bottle_core.process_stamp import ProcessStamp
    from bot_bottle_core.routes_file import write_routes
    from bot_bottle_core.state import Metadata, write_metadata

    slugs = [f"agent{i % 7}-{i:05d}" for i in range(bottles)]
    rows = []
    for i, slug in enumerate(slugs):
        state = home / "state" / slug
        state.mkdir(parents=True)
        agent = slug.split("-")[0]
        write_metadata(state, Metadata(slug, agent, "bench", "shell", "demo", "/"))
        write_routes(state / "sidecar", [parse_route({"host": "example.com"})[0]])
        launch_record.write(state, LaunchRecord(ProcessStamp.current(), "t", "t"))
        (home / "queue" / slug).mkdir(parents=True)
        deny(home, slug, i)
        rows.append({"slug": slug, "agent": agent, "label": None, "started": "2025-06-01T08:00:00"})
    (home / "bottles.json").write_text(json.dumps(rows))
    for i in range(proposals):
        slug = slugs[i % bottles]
        host = f"pkg{i // 2}.example"  # two bottles ask each host: rows are grouped
        route, _ = parse_route({"host": host, "path_allowlist": ["/simple"]})
        Queue(home / "queue" / slug).submit(Proposal.egress(route, f"install package {i}"))
    return slugs


def deny(home: Path, slug: str, n: int) -> None:
    from bot_bottle_core.plan import egress_log_dir
    from bot_bottle_core.supervision import DECISIONS_FILE

    line = {"time": "2025-06-01T08:59:00Z", "decision": "deny", "host": f"h{n}.example",
            "method": "GET", "path": "/", "reason": "no route"}  # fmt: skip
    log = egress_log_dir(home / "state" / slug)
    log.mkdir(parents=True, exist_ok=True)
    with open(log / DECISIONS_FILE, "a") as f:
        f.write(json.dumps(line) + "\n")


async def ticks(app, seconds: int, churn) -> float:
    """CPU seconds per refresh over ``seconds`` of running (the churn's own cost taken out)."""
    start_cpu, side, first = time.process_time(), 0.0, app.snapshots
    for n in range(seconds):
        if churn:
            t = time.process_time()
            churn(n)
            side += time.process_time() - t
        await asyncio.sleep(1.0)  # a plain sleep: polling the app would cost CPU itself
    return (time.process_time() - start_cpu - side) / max(1, app.snapshots - first)


def first_paint(home: Path, bottles: int) -> None:
    """In a fresh interpreter: print wall and CPU seconds from its start to the first picture."""
    from bot_bottle_core.cli.context import AppContext
    from bot_bottle_core.dashboard.app import Dashboard

    app = Dashboard(AppContext(), environ={})

    async def run() -> None:
        async with app.run_test(size=(160, 60)) as pilot:
            while app.snapshots < 1:
                await asyncio.sleep(0.005)
            await pilot.pause()  # the picture is drawn
            assert app.main.agents.row_count == bottles
            wall = time.time() - float(os.environ["BENCH_SPAWNED"])
            print(wall, time.process_time())

    asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bottles", type=int, default=50)
    ap.add_argument("--proposals", type=int, default=50)
    ap.add_argument("--ticks", type=int, default=10)
    ap.add_argument("--home", help=argparse.SUPPRESS)  # the fresh interpreter's fleet
    args = ap.parse_args()
    if args.home:
        first_paint(Path(args.home), args.bottles)
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    atexit.register(shutil.rmtree, tmp, True)  # the fleet is only files: nothing outlives the run
    home = tmp / "home"
    site = install_backend(tmp)
    sys.path.insert(0, str(site))
    os.environ.update(BOT_BOTTLE_HOME=str(home), BOT_BOTTLE_PLUGINS="bench")
    os.environ["BENCH_BOTTLES"] = str(home / "bottles.json")
    slugs = make_fleet(home, args.bottles, args.proposals)

    from bot_bottle_sidecars.proposals import Proposal, Queue
    from bot_bottle_sidecars.routes import parse_route

    def churn(n: int) -> None:
        slug = slugs[n % len(slugs)]
        deny(home, slug, 1000 + n)
        route, _ = parse_route({"host": f"new{n}.example"})
        p = dataclasses.replace(Proposal.egress(route, "more"), created_at="2025-06-01T10:00:00")
        Queue(home / "queue" / slug).submit(p)

    # As installed by pip (which compiles bytecode): the first start writes what
    # is missing, and is not counted.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # The caller's own path first (PYTHONPATH=<an older src> measures that revision).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(site)) if p)
    paints = []
    for _ in range(4):
        env["BENCH_SPAWNED"] = repr(time.time())
        out = subprocess.run(
            [sys.executable, __file__, "--home", str(home), "--bottles", str(args.bottles)],
            capture_output=True, text=True, check=True, env=env,
        ).stdout  # fmt: skip
        paints.append(tuple(float(x) for x in out.split()))
    paints = paints[1:]

    from bot_bottle_core.cli.context import AppContext
    from bot_bottle_core.dashboard.app import Dashboard

    app = Dashboard(AppContext(), environ={})
    result: dict[str, object] = {}

    async def run() -> None:
        async with app.run_test(size=(160, 60)):
            while app.snapshots < 1:
                await asyncio.sleep(0.005)
            assert app.main.agents.row_count == args.bottles
            result["rows"] = app.main.proposals.row_count
            result["steady"] = await ticks(app, args.ticks, None)
            app.tick_cpu.clear()
            result["gather_steady"] = statistics.median(app.tick_cpu or [0])
            result["churn"] = await ticks(app, args.ticks, churn)
            result["gather_churn"] = statistics.median(list(app.tick_cpu))

    asyncio.run(run())
    print(
        f"dashboard: {args.bottles} bottles, {args.proposals} pending proposals"
        f" ({result['rows']} rows), headless"
    )
    wall = statistics.median(p[0] for p in paints)
    cpu = statistics.median(p[1] for p in paints)
    print(
        f"time to first paint: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"
        f" (median of {len(paints)} fresh starts; target <= 500 ms)"
    )
    print(
        f"CPU per refresh tick, nothing changed: {result['steady'] * 1000:.1f} ms (target <= 20 ms)"
    )
    print(
        f"CPU per refresh tick, a new proposal and denial every tick: "
        f"{result['churn'] * 1000:.1f} ms (gather + compare + redraw in the dashboard's own"
        f" code: median {result['gather_churn'] * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
