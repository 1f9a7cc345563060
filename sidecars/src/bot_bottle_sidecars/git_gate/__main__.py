"""``python -m bot_bottle_sidecars.git_gate``: serve the configured repos."""

from __future__ import annotations

import os
import signal
import sys

from .config import ConfigError, load_config
from .upstream import UpstreamError

ENV_LISTEN_HOST = "BOT_BOTTLE_GIT_GATE_LISTEN_HOST"
ENV_PORT = "BOT_BOTTLE_GIT_GATE_PORT"
ENV_READY_FILE = "BOT_BOTTLE_GIT_GATE_READY_FILE"
DEFAULT_PORT = 80
READY_FILE = "/run/bot-bottle/git-gate.ready"


def main() -> int:
    from .server import serve

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        config = load_config()
        serve(
            config,
            os.environ.get(ENV_LISTEN_HOST, "127.0.0.1"),
            int(os.environ.get(ENV_PORT, DEFAULT_PORT)),
            os.environ.get(ENV_READY_FILE, READY_FILE),
        )
    except (ConfigError, UpstreamError, OSError) as exc:
        print(f"git-gate: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
