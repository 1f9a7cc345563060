"""`start --yes` until the agent's first command runs, images warm (target <= 3 s on runc).

It also prices the boundary self-check (target: adds <= 100 ms to start): in a
live bottle, the launch's own steps with the check (the CA and the probe copied
in, the agent user read and every probe run in one exec, the targets read from
the engine) against the same steps without it (the CA alone, the agent user
read).

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
from _common import BASE_IMAGE, DEMO_TOKEN_ENV, timed

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def start_demo(env: dict[str, str], stderr: int) -> subprocess.Popen[str]:
    """`start demo --yes` with its shell on our pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot_bottle_core", "start", "demo", "--yes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
    )


def one_run(home: str) -> tuple[float, list[tuple[float, str]], float]:
    env = dict(
        os.environ,
        BOT_BOTTLE_HOME=home,
        BOT_BOTTLE_DOCKER_OUTBOUND_INTERNAL="1",
        **DEMO_TOKEN_ENV,
    )
    t0 = time.time()
    proc = start_demo(env, stderr=subprocess.PIPE)
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


def check_cost(home: str, runs: int) -> str:
    """Median extra time the self-check adds to a launch, measured in one live bottle."""
    from bot_bottle_docker import archive, launch, names

    env = dict(os.environ, BOT_BOTTLE_HOME=home, BOT_BOTTLE_DOCKER_OUTBOUND_INTERNAL="1")
    proc = start_demo(dict(env, **DEMO_TOKEN_ENV), stderr=subprocess.DEVNULL)
    # The shell prints its hostname (the slug) once the bottle is up, and waits.
    proc.stdin.write("hostname\n")
    proc.stdin.flush()
    slug = proc.stdout.readline().strip()
    import docker

    client = docker.from_env()
    try:
        agent = client.containers.get(names.agent_container(slug))
        bundle = client.containers.get(names.sidecars_container(slug))
        bundle_image = bundle.image.tags[0]  # the launch knows it; not part of the cost

        def without() -> None:
            cert = archive.read_file(bundle, launch.EGRESS_CA_CERT)
            agent.put_archive("/", archive.tar_at([("/tmp/bench-ca.crt", cert, 0o644)], 0, 0))
            agent.exec_run(["sh", "-c", "id -u; id -g"], workdir=launch.WORKSPACE)

        def with_check() -> None:
            cert = archive.read_file(bundle, launch.EGRESS_CA_CERT)
            probe = launch.boundary.install_files(bundle, bundle_image)
            files = [("/tmp/bench-ca.crt", cert, 0o644), *probe]
            agent.put_archive("/", archive.tar_at(files, 0, 0))
            _, report = launch.prove_boundary(client, agent, slug)
            assert report.ok, report.failures
            probes.append(len(report.results))

        probes: list[int] = []
        base = timed(without, runs)
        full = timed(with_check, runs)
    finally:
        proc.stdin.write("exit 0\n")
        proc.stdin.close()
        proc.wait(timeout=120)
        client.close()
    added = statistics.median(full) - statistics.median(base)
    return (
        f"boundary self-check adds {added * 1000:.0f} ms to start (median of {runs}: "
        f"{statistics.median(full) * 1000:.0f} ms with it, {statistics.median(base) * 1000:.0f} ms "
        f"for the same steps without it; {probes[-1]} probes)"
    )


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
    with tempfile.TemporaryDirectory() as home:
        Path(home, "manifest.yaml").write_text(
            f"settings:\n  base_image: {BASE_IMAGE}\n  build_ca_bundle: {CA_BUNDLE}\n"
        )
        print(check_cost(home, max(args.runs * 4, 20)))


if __name__ == "__main__":
    main()
