"""Shared helpers for the benchmark scripts (each prints its own figures)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

BASE_IMAGE = os.environ.get("BOT_BOTTLE_TEST_BASE_IMAGE", "bot-bottle-base:bookworm")
# The built-in demo's route injects this host variable as a bearer token.
DEMO_TOKEN_ENV = {"BOT_BOTTLE_DEMO_TOKEN": "bench-demo-token"}


def fake_bottle_labels(slug: str, role: str) -> dict[str, str]:
    """Labels exactly as the docker backend puts them (see bot_bottle_docker.names)."""
    from bot_bottle_docker import names

    return names.labels(slug, slug.rsplit("-", 1)[0], role)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot_bottle_core", *args], capture_output=True, text=True, env=full
    )


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(label: str, seconds: list[float], unit: str = "ms") -> str:
    scale = 1000 if unit == "ms" else 1
    vals = sorted(s * scale for s in seconds)
    return (
        f"{label}: median {statistics.median(vals):.1f} {unit}, min {vals[0]:.1f}, "
        f"max {vals[-1]:.1f} ({len(vals)} runs)"
    )
