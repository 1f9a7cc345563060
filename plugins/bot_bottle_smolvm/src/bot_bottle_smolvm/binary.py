"""Which smolvm CLI to run, and whether this machine can run a VM at all."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from bot_bottle_core.plan import Availability

KVM = Path("/dev/kvm")
# The CLI inside the smolmachines wheel (a dependency of this plugin).
BUNDLED = "smol-vmm"


def bundled_binary() -> str | None:
    """The wheel's CLI, found without importing its package (that loads a native module)."""
    try:
        spec = importlib.util.find_spec("smol")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / BUNDLED
    return str(path) if os.access(path, os.X_OK) else None


def find_binary() -> str | None:
    """The user's own ``smolvm`` on PATH first, else the one the wheel carries."""
    return shutil.which("smolvm") or bundled_binary()


def availability() -> Availability:
    if find_binary() is None:
        return Availability.no(
            "no smolvm CLI: none on PATH and the smolmachines wheel is not installed"
            " (pip install smolmachines, or use another backend)"
        )
    if not KVM.exists():
        return Availability.no(f"{KVM} is missing; smolvm needs KVM (or use another backend)")
    if not os.access(KVM, os.R_OK | os.W_OK):
        return Availability.no(
            f"{KVM} is not readable and writable by this user; add the user to the"
            " kvm group (or chmod 666 /dev/kvm)"
        )
    return Availability.yes()
