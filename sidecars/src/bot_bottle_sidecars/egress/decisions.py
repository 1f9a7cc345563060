"""Reading a bottle's decisions file (written by :class:`~.log.DecisionLog`), on the host.

Pure Python: the core reads it for ``bot-bottle audit --egress`` and to show an
operator what egress refused before the agent asked. Lines that are not JSON
objects (a line cut short when the bundle was killed) are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from bot_bottle_sidecars.routes.hosts import normalize_host

from .log import rotated

__all__ = ["decisions", "denials_for"]

MAX_READ_BYTES = 32 * 1024 * 1024  # two files of log.MAX_FILE_BYTES, with room


def _lines(path: Path) -> Iterator[dict]:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_READ_BYTES)
    except (FileNotFoundError, IsADirectoryError):
        return
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def decisions(path: Path) -> list[dict]:
    """Every decision record in ``path`` and the file rotated out before it, oldest first."""
    out = []
    for p in (Path(rotated(str(path))), path):
        out += [r for r in _lines(p) if r.get("decision") in ("allow", "deny")]
    return out


def _same_host(a: object, b: str) -> bool:
    if not isinstance(a, str):
        return False
    try:
        return normalize_host(a) == b
    except ValueError:
        return False


def denials_for(path: Path, host: str, *, limit: int = 20) -> list[dict]:
    """The most recent refusals of requests to ``host`` (case-insensitive), oldest first:
    ``{"time", "method", "path", "port", "kind", "reason"}`` each.

    A refused CONNECT is left out: egress accepts it and refuses what comes
    inside (the request, or the TLS or raw bytes), which is recorded on its own.
    """
    want = normalize_host(host)
    keep = ("time", "method", "path", "port", "kind", "reason")
    found = [
        {k: r.get(k) for k in keep}
        for r in decisions(path)
        if r.get("decision") == "deny"
        and r.get("kind") != "connect"
        and _same_host(r.get("host"), want)
    ]
    return found[-limit:]
