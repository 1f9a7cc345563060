"""The routes file the egress sidecar reads: routes with token names, never tokens."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot_bottle_sidecars.routes import Lease, Route, routes_document

from .state import write_json_atomic

ROUTES_FILE = "routes.json"


def write_routes(sidecar_dir: Path, routes: Sequence[Route], leases: Sequence[Lease] = ()) -> Path:
    sidecar_dir.mkdir(parents=True, exist_ok=True)
    path = sidecar_dir / ROUTES_FILE
    # Readable by the sidecar's own unprivileged user; it holds no secrets.
    write_json_atomic(path, routes_document(routes, leases), mode=0o644)
    return path
