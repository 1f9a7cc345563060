"""One JSON line per fetch and per pushed ref: on stdout, and in the bottle's log on
the host (``BOT_BOTTLE_GIT_GATE_LOG``) so it outlives the bundle."""

from __future__ import annotations

import json
import os
import sys
import time

from .. import layout

ENV_LOG = layout.ENV_GIT_GATE_LOG


def record(event: str, *, echo: bool = True, **fields: object) -> None:
    """``echo``: also on stdout (not from a hook: git sends a hook's stdout to the pusher)."""
    line = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sidecar": "git-gate",
        "event": event,
        **fields,
    }
    text = json.dumps(line, sort_keys=True) + "\n"
    if echo:
        sys.stdout.write(text)
        sys.stdout.flush()
    path = os.environ.get(ENV_LOG)
    if path:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            print(f"git-gate: cannot write {path}: {exc.strerror}", file=sys.stderr)
