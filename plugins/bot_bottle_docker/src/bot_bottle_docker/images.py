"""Naming agent images by what goes into them."""

from __future__ import annotations

import hashlib
from pathlib import Path

DEFAULT_BASE_IMAGE = "debian:bookworm-slim"


def context_digest(dockerfile: Path, base_image: str) -> str:
    """A short digest of the build context, the Dockerfile and the base image.

    Identical inputs give the same tag, so a warm start reuses the image and
    a changed Dockerfile never runs a stale one.
    """
    h = hashlib.sha256()
    h.update(base_image.encode())
    root = dockerfile.parent
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    h.update(dockerfile.name.encode())
    return h.hexdigest()[:12]


def agent_image_tag(provider: str, dockerfile: Path, base_image: str) -> str:
    return f"bot-bottle-agent-{provider}:{context_digest(dockerfile, base_image)}"
