"""`list active` with 50 labelled bottles present (target: <= 300 ms, one API call).

Creates 50 agent+sidecars container pairs labelled like real bottles (plain
`sleep` containers from the base image: listing cost does not depend on
what runs inside), times the backend's enumerate hook and the whole CLI
command (against a bare interpreter start), counts the engine API calls one
enumerate makes, and removes everything again.

    uv run python bench/list_active.py [--bottles 50] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid

import docker

sys.path.insert(0, os.path.dirname(__file__))
from _common import BASE_IMAGE, cli, fake_bottle_labels, summary, timed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bottles", type=int, default=50)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()

    from bot_bottle_docker import local_api, names, plugin

    client = docker.from_env()
    run_id = uuid.uuid4().hex[:4]
    made = []
    try:
        for i in range(args.bottles):
            slug = f"bench{run_id}-{i:05d}"
            for role in (names.ROLE_AGENT, names.ROLE_SIDECARS):
                made.append(
                    client.containers.run(
                        BASE_IMAGE,
                        ["sleep", "infinity"],
                        name=f"bb-{slug}-{role}",
                        labels=fake_bottle_labels(slug, role),
                        network_mode="none",
                        detach=True,
                    )
                )
        calls = []
        original = local_api.get
        local_api.get = lambda *a, **k: (calls.append(a[1]), original(*a, **k))[1]
        found = plugin.enumerate_active()
        local_api.get = original
        mine = [b for b in found if b.slug.startswith(f"bench{run_id}")]
        print(f"bottles present: {len(mine)} (of {len(found)} listed)")
        print(f"engine API calls per enumerate: {len(calls)}")
        print(summary("enumerate_active hook", timed(plugin.enumerate_active, args.runs)))
        print(
            summary(
                "bare `python -c pass` (for comparison)",
                timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 5),
            )
        )
        with tempfile.TemporaryDirectory() as home:
            env = {"BOT_BOTTLE_HOME": home}
            print(
                summary(
                    "`bot-bottle list active` (whole process)",
                    timed(lambda: cli("list", "active", env=env), max(3, args.runs // 3)),
                )
            )
    finally:
        for c in made:
            c.remove(force=True)


if __name__ == "__main__":
    main()
