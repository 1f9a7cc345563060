"""The routes file the egress sidecar reads: routes with token names, never tokens."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cattrs

from .config import Route
from .state import write_json_atomic

ROUTES_FILE = "routes.json"

_converter = cattrs.Converter(omit_if_default=True)


def write_routes(sidecar_dir: Path, routes: Sequence[Route]) -> Path:
    sidecar_dir.mkdir(parents=True, exist_ok=True)
    path = sidecar_dir / ROUTES_FILE
    # Readable by the sidecar's own unprivileged user; it holds no secrets.
    write_json_atomic(path, {"routes": [_converter.unstructure(r) for r in routes]}, mode=0o644)
    return path
