"""What the egress addon itself costs per request, in process, without the network.

Feeds mitmproxy test flows (an allowed GET with a path allowlist and an injected
token) straight to the request hook and prints the median time per request over
several rounds. With ``--baseline REF`` the same is measured for the sidecar
package at git revision REF (its own addon API), in a separate process.

    uv run python bench/egress_addon.py [--requests 20000] [--rounds 5] [--baseline REF]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUTES = {
    "routes": [
        {
            "host": "api.example.test",
            "path_allowlist": ["/allowed"],
            "auth": {"scheme": "Bearer", "token_ref": "T"},
        }
    ]
}


def _hook():
    """The request hook of whichever addon API this package has."""
    try:
        from bot_bottle_sidecars.egress import patches
        from bot_bottle_sidecars.egress.log import DecisionLog
        from bot_bottle_sidecars.egress.requests import Requests
        from bot_bottle_sidecars.egress.state import EgressState
        from bot_bottle_sidecars.egress.tokens import TokenSlots
        from bot_bottle_sidecars.routes import parse_routes
        from bot_bottle_sidecars.routes.policy import Policy
    except ImportError:  # the single-class addon of earlier versions
        os.environ["T"] = "x"
        from bot_bottle_sidecars.egress.addon import Egress
        from bot_bottle_sidecars.egress.policy import Policy, parse_routes

        addon = Egress(out=io.StringIO())
        addon.policy = Policy(parse_routes(ROUTES))
        return addon, addon.requestheaders
    patches.apply()
    routes, _ = parse_routes(ROUTES)
    state = EgressState(
        log=DecisionLog(io.StringIO()),
        policy=Policy(routes),
        tokens=TokenSlots({"T": frozenset({"api.example.test"})}, {"T": "x"}),
    )
    addon = Requests(state)
    return addon, addon.requestheaders


def measure(requests: int, rounds: int) -> list[float]:
    from mitmproxy.test import taddons, tflow

    addon, hook = _hook()
    out = []
    with taddons.context(addon):
        for _ in range(rounds):
            flows = []
            for _ in range(requests):
                f = tflow.tflow()
                f.request.host, f.request.port, f.request.scheme = "api.example.test", 443, "https"
                f.request.path = "/allowed/bench?page=2"
                f.request.headers["Host"] = "api.example.test"
                f.client_conn.tls = False
                flows.append(f)
            started = time.perf_counter()
            for f in flows:
                hook(f)
            out.append((time.perf_counter() - started) / requests * 1e6)
            assert all(f.metadata.get("bot_bottle_egress") == "allow" for f in flows)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--baseline", metavar="REF")
    ap.add_argument("--label", default="current", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            tar = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.baseline, "sidecars/src"],
                capture_output=True,
                check=True,
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(tar)) as t:
                t.extractall(tmp, filter="data")
            env = dict(os.environ, PYTHONPATH=str(Path(tmp) / "sidecars" / "src"))
            argv = [sys.executable, __file__, "--requests", str(args.requests)]
            argv += ["--rounds", str(args.rounds), "--label", f"baseline {args.baseline}"]
            subprocess.run(argv, env=env, check=True)
    times = measure(args.requests, args.rounds)
    print(
        f"[{args.label}] request hook: median {statistics.median(times):.1f} us per request "
        f"(rounds: {', '.join(f'{t:.1f}' for t in times)})"
    )


if __name__ == "__main__":
    main()
