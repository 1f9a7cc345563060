"""The ready file: written (atomically) once the proxy listens, removed on shutdown."""

from __future__ import annotations

import json
import logging
import os
import tempfile

__all__ = ["remove_ready_file", "write_ready_file"]

logger = logging.getLogger(__name__)


def write_ready_file(path: str, info: dict[str, object]) -> None:
    if not path:
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".egress-ready.")
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def remove_ready_file(path: str) -> None:
    if not path:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("cannot remove ready file %s: %s", path, exc)
