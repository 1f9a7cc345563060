"""How many idle demo bottles run at once, and the memory each adds.

Starts demo bottles (the shell provider: an idle agent plus its sidecar
bundle) one after another through the core API until --max is reached or
a start fails, reading the host's available memory before and after.
Targets: >= 30 bottles on a 2-core / 24 GiB machine, <= 150 MB each.
Everything is stopped again at the end.

    uv run python bench/density.py [--max 30]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import BASE_IMAGE, DEMO_TOKEN_ENV

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max", type=int, default=30)
    args = ap.parse_args()
    os.environ["BOT_BOTTLE_DOCKER_OUTBOUND_INTERNAL"] = "1"  # nothing leaves the machine
    os.environ.update(DEMO_TOKEN_ENV)
    from bot_bottle_core import running
    from bot_bottle_core.config import load_config
    from bot_bottle_core.dispatch import Plugins
    from bot_bottle_core.home import Home
    from bot_bottle_core.preparation import choose_backend, find_agent, prepare_bottle
    from bot_bottle_core.state import StateStore

    with tempfile.TemporaryDirectory() as home_dir:
        Path(home_dir, "manifest.yaml").write_text(
            f"settings:\n  base_image: {BASE_IMAGE}\n  build_ca_bundle: {CA_BUNDLE}\n"
        )
        os.environ["BOT_BOTTLE_HOME"] = home_dir
        home = Home.from_env()
        config = load_config(home, Path(home_dir))
        plugins = Plugins.load()
        store = StateStore(home.state_dir)
        backend = choose_backend(plugins, config, "docker")
        started: list[str] = []
        before = available_mb()
        t0 = time.perf_counter()
        try:
            for i in range(args.max):
                slug = store.mint("demo")
                prepared = prepare_bottle(
                    plugins=plugins,
                    config=config,
                    slug=slug,
                    state_dir=store.path(slug),
                    agent=find_agent(config, "demo"),
                    backend=backend,
                    cwd=Path(home_dir),
                    environ=dict(os.environ),
                    ask=None,
                )
                try:
                    running.launch(prepared, lambda _line: None)
                except Exception as exc:
                    print(f"start {i + 1} failed: {exc}")
                    store.remove(slug)
                    break
                started.append(slug)
                if (i + 1) % 5 == 0:
                    used = before - available_mb()
                    print(
                        f"{i + 1:3d} bottles running, {used:.0f} MB used, "
                        f"{used / (i + 1):.0f} MB each, {time.perf_counter() - t0:.0f} s"
                    )
            # Let the sidecars settle to their idle footprint before the final reading.
            time.sleep(5)
            used = before - available_mb()
            n = len(started)
            print(f"idle bottles running at once: {n}")
            if n:
                print(f"memory added: {used:.0f} MB in all, {used / n:.0f} MB per bottle")
            print(f"active per list: {len(plugins.enumerate_active().results)}")
        finally:
            t = time.perf_counter()
            for slug in started:
                with contextlib.suppress(Exception):
                    backend.stop(slug, preserve=False, progress=lambda _l: None)
                store.remove(slug)
            print(f"stopped {len(started)} bottles in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
