"""The smolvm backend's hook implementations."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot_bottle_core import hookimpl
from bot_bottle_core.plan import Availability

KVM = Path("/dev/kvm")


def find_binary() -> str | None:
    return shutil.which("smolvm")


@hookimpl
def is_available() -> Availability:
    if find_binary() is None:
        return Availability.no(
            "the smolvm binary is not on PATH; install it (pip install smolmachines) "
            "or use another backend"
        )
    if not KVM.exists():
        return Availability.no("/dev/kvm is missing; smolvm needs KVM")
    if not os.access(KVM, os.R_OK | os.W_OK):
        return Availability.no(
            "/dev/kvm is not readable and writable by this user; add the user to the kvm group"
        )
    return Availability.yes()
