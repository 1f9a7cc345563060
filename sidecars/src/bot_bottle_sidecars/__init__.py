"""bot-bottle sidecar bundle: the egress proxy and the init that runs it.

The package directory is the bundle image's Docker build context
(:func:`context_dir`); :mod:`bot_bottle_sidecars.layout` says where everything
lives inside the image. Importing this package needs nothing beyond the
standard library; mitmproxy is only needed to *run* the egress proxy.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DOCKERFILE", "context_dir"]

DOCKERFILE = "Dockerfile"


def context_dir() -> Path:
    """The bundle image's build context: this package's directory (holds the Dockerfile)."""
    return Path(__file__).resolve().parent
