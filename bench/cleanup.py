"""`cleanup --yes` of 20 leftover bottles: report seconds.

Each leftover bottle is what a crash leaves: agent and sidecars containers,
an internal and an outbound network and a workspace volume, all labelled
like the docker backend's, plus an orphan state directory.

    uv run python bench/cleanup.py [--bottles 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker

sys.path.insert(0, os.path.dirname(__file__))
from _common import BASE_IMAGE, cli, fake_bottle_labels


def make_leftovers(client: docker.DockerClient, run_id: str, n: int, state: Path) -> None:
    from bot_bottle_docker import names, subnets

    for i in range(n):
        slug = f"clean{run_id}-{i:05d}"
        internal = subnets.create_network(
            client,
            name=names.internal_network(slug),
            internal=True,
            labels=fake_bottle_labels(slug, names.ROLE_INTERNAL),
        )
        subnets.create_network(
            client,
            name=names.outbound_network(slug),
            internal=True,
            labels=fake_bottle_labels(slug, names.ROLE_OUTBOUND),
        )
        client.volumes.create(
            names.workspace_volume(slug), labels=fake_bottle_labels(slug, names.ROLE_WORKSPACE)
        )
        for role in (names.ROLE_AGENT, names.ROLE_SIDECARS):
            client.containers.create(
                BASE_IMAGE,
                ["sleep", "infinity"],
                name=f"bb-{slug}-{role}",
                labels=fake_bottle_labels(slug, role),
                network=internal.name,
            )
        (state / slug).mkdir(parents=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bottles", type=int, default=20)
    args = ap.parse_args()
    client = docker.from_env()
    run_id = uuid.uuid4().hex[:4]
    with tempfile.TemporaryDirectory() as home:
        env = {"BOT_BOTTLE_HOME": home}
        t = time.perf_counter()
        make_leftovers(client, run_id, args.bottles, Path(home) / "state")
        print(f"created {args.bottles} leftover bottles in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        plan = cli("cleanup", "--dry-run", env=env)
        print(
            f"cleanup --dry-run: {time.perf_counter() - t:.2f} s, "
            f"{plan.stdout.count(chr(10)) - 2} items planned"
        )
        t = time.perf_counter()
        done = cli("cleanup", "--yes", env=env)
        took = time.perf_counter() - t
        print(done.stdout.strip().splitlines()[-1])
        print(
            f"cleanup --yes of {args.bottles} bottles: {took:.2f} s "
            f"({took / args.bottles * 1000:.0f} ms per bottle)"
        )
        left = client.containers.list(all=True, filters={"label": "bot-bottle.slug"})
        print(f"labelled containers left: {len([c for c in left if run_id in c.name])}")


if __name__ == "__main__":
    main()
