"""`start --yes` until the agent's first command runs, images warm (target <= 3 s on runc).

Runs the real CLI on the built-in demo agent (the shell provider) with the
local base image, reads its progress lines as they come to time each
phase, and has the agent's shell print a timestamp as its first command.
Nothing leaves the machine: the sidecars' outbound network is internal.

    uv run python bench/start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import BASE_IMAGE, DEMO_TOKEN_ENV

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def one_run(home: str) -> tuple[float, list[tuple[float, str]], float]:
    env = dict(
        os.environ,
        BOT_BOTTLE_HOME=home,
        BOT_BOTTLE_DOCKER_OUTBOUND_INTERNAL="1",
        **DEMO_TOKEN_ENV,
    )
    t0 = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot_bottle_core", "start", "demo", "--yes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    marks: list[tuple[float, str]] = []

    def read_err() -> None:
        for line in proc.stderr:
            if not line.startswith("  "):
                marks.append((time.time() - t0, line.strip()))

    reader = threading.Thread(target=read_err)
    reader.start()
    # Not communicate(): it would read stderr too, racing the reader thread.
    proc.stdin.write("date +%s.%N\nexit 0\n")
    proc.stdin.close()
    out = proc.stdout.read()
    proc.wait(timeout=600)
    reader.join()
    end = time.time() - t0
    first_cmd = float(out.split()[0]) - t0
    if proc.returncode != 0:
        raise SystemExit(f"start failed: {marks}")
    return first_cmd, marks, end


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        Path(home, "manifest.yaml").write_text(
            f"settings:\n  base_image: {BASE_IMAGE}\n  build_ca_bundle: {CA_BUNDLE}\n"
        )
        one_run(home)  # warm the images
        results = [one_run(home) for _ in range(args.runs)]
    firsts = [r[0] for r in results]
    print(
        f"start --yes to first command: median {statistics.median(firsts):.2f} s "
        f"(min {min(firsts):.2f}, max {max(firsts):.2f}, {len(firsts)} runs, images warm)"
    )
    print(
        "whole run incl. exit and teardown: "
        f"median {statistics.median(r[2] for r in results):.2f} s"
    )
    print("phases of the median run (seconds since the command started):")
    median_run = sorted(results, key=lambda r: r[0])[len(results) // 2]
    rows = [*median_run[1], (median_run[0], "first command ran in the agent")]
    for t, line in sorted(rows):
        print(f"  {t:6.2f}  {line[:90]}")


if __name__ == "__main__":
    main()
