"""``python -m bot_bottle_sidecars.git_gate``: serve the configured repos."""

from __future__ import annotations

import os
import signal
import sys

from .. import layout
from .config import ConfigError, load_config
from .upstream import UpstreamError


def main() -> int:
    from .server import serve

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        config = load_config()
        serve(
            config,
            os.environ.get(layout.ENV_GIT_GATE_LISTEN_HOST, "127.0.0.1"),
            int(os.environ.get(layout.ENV_GIT_GATE_PORT, layout.GIT_GATE_PORT)),
            os.environ.get(layout.ENV_GIT_GATE_READY_FILE, layout.GIT_GATE_READY_FILE),
        )
    except (ConfigError, UpstreamError, OSError) as exc:
        print(f"git-gate: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
