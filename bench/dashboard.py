"""The dashboard with 50 bottles and 50 pending proposals: time to first paint, CPU per refresh.

The bottles run on a file-backed backend installed as a real plugin (what the
docker backend's one list call costs is in bench/list_active.py); their
queues, routes and egress decision logs are real files in a temporary home.
For the ticks the app runs headless (Textual's pilot), so those figures are the
dashboard's own work: gathering in its worker thread, comparing, redrawing.

* first paint: ``bot-bottle dashboard`` itself, started in a pseudo-terminal of
  its own (160x60, its real terminal driver), from just before its interpreter
  is spawned until the terminal has received the first picture with data (the
  agents pane's count, the first bottle, the oldest proposal); CPU: the
  process's own by then (target: <= 500 ms);
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
import fcntl
import json
import os
import re
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
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


# Control sequences (CSI, OSC) taken out of what the terminal received, leaving its text.
CONTROL = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, ended by BEL or ST
    rb"|\x1b[()][0-9A-Za-z]"  # character set
)


def first_paint(env: dict[str, str], marks: list[bytes]) -> tuple[float, float]:
    """``bot-bottle dashboard`` in a terminal of its own (a pty, 160x60): wall seconds from
    just before its interpreter is spawned until the terminal has been sent every one of
    ``marks``, and the CPU seconds the process had used by then (/proc, 10 ms ticks)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 160, 0, 0))
    spawned = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot_bottle_core", "dashboard"],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    seen, painted = b"", None
    try:
        while painted is None and time.time() - spawned < 30:
            if not select.select([master], [], [], 1.0)[0]:
                continue
            seen += os.read(master, 1 << 16)
            text = CONTROL.sub(b"", seen)
            if all(m in text for m in marks):
                painted = time.time() - spawned
                stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        if painted is None:
            raise SystemExit(f"the dashboard never showed {marks}; it printed:\n{seen[-2000:]!r}")
        os.write(master, b"q")  # quit, leaving every bottle running
        while proc.poll() is None and select.select([master], [], [], 5.0)[0]:
            try:
                os.read(master, 1 << 16)  # keep the terminal drained while it restores
            except OSError:
                break
        if proc.wait(timeout=10) != 0:
            raise SystemExit(f"the dashboard exited {proc.returncode} on q")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return painted, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bottles", type=int, default=50)
    ap.add_argument("--proposals", type=int, default=50)
    ap.add_argument("--ticks", type=int, default=10)
    ap.add_argument("--paints", type=int, default=7)
    args = ap.parse_args()

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
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "TMUX")}
    env["TERM"] = "xterm-256color"
    # The caller's own path first (PYTHONPATH=<an older src> measures that revision).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(site)) if p)
    # The first picture with data: the agents pane's count, its first bottle, the
    # oldest proposal's host (none of them is drawn before the first refresh lands).
    marks = [f"Agents ({args.bottles})".encode(), slugs[0].encode(), b"pkg0.example"]
    paints = [first_paint(env, marks) for _ in range(args.paints + 1)][1:]

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
        f"time to first paint of `bot-bottle dashboard` in a terminal: {wall * 1000:.0f} ms"
        f" wall, {cpu * 1000:.0f} ms CPU (median of {len(paints)} fresh starts, fastest"
        f" {min(p[0] for p in paints) * 1000:.0f} ms, slowest"
        f" {max(p[0] for p in paints) * 1000:.0f} ms; target <= 500 ms)"
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
