"""Host directories the sidecar bundle writes (the proposals queue, the egress decisions),
writable by the bundle's unprivileged user and by no other local user.

The bundle runs as uid :data:`~bot_bottle_sidecars.layout.SIDECAR_UID`, which is
nobody on the host:

* as root, the directory is given to that uid (0700);
* as anyone else (who cannot give a file away), the directory stays the operator's,
  its group is the operator's own primary group and its mode ``2770``; the bundle
  runs with that group added (:func:`bundle_groups`), so the sidecar writes through
  the group and nobody outside it can even look in. The setgid bit keeps the
  sidecar's files in that group, readable by the operator.

A world-writable directory would let another local user plant an answer to a
proposal. So would a group another user belongs to: such a group is refused.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import sys
from pathlib import Path

import attrs
from bot_bottle_sidecars import layout

from .errors import LaunchFailed

__all__ = ["Operator", "bundle_groups", "writable_by_bundle"]

SHARED_MODE = 0o2770


@attrs.frozen
class Operator:
    """Who runs bot-bottle on the host."""

    uid: int
    gid: int

    @classmethod
    def current(cls) -> Operator:
        return cls(os.geteuid(), os.getegid())

    @property
    def is_root(self) -> bool:
        return self.uid == 0


def others_in_group(who: Operator) -> list[str]:
    """Users other than ``who`` in ``who``'s primary group (members, or their primary group)."""
    try:
        group = grp.getgrgid(who.gid)
    except KeyError:
        return []  # no such group in the database: nobody else can be in it by name
    names = set(group.gr_mem)
    names |= {p.pw_name for p in pwd.getpwall() if p.pw_gid == who.gid}
    with contextlib.suppress(KeyError):
        names.discard(pwd.getpwuid(who.uid).pw_name)
    return sorted(names)


def writable_by_bundle(path: Path, who: Operator) -> Path:
    """Create ``path`` (if need be) so the bundle, and only the bundle and ``who``, may write it."""
    path.mkdir(parents=True, exist_ok=True)
    if who.is_root:
        os.chown(path, layout.SIDECAR_UID, layout.SIDECAR_UID)
        path.chmod(0o700)
        return path
    if sys.platform.startswith("linux"):
        others = others_in_group(who)
        if others:
            raise LaunchFailed(
                f"Your primary group (gid {who.gid}) has other users in it"
                f" ({', '.join(others[:5])}), and the bottle's sidecar writes {path} through"
                " that group, so they could write there too. Run bot-bottle as a user with a"
                " group of its own (the usual 'user private group'), or as root."
            )
    os.chown(path, -1, who.gid)  # a parent's setgid bit may have given it another group
    path.chmod(SHARED_MODE)
    return path


def bundle_groups(who: Operator) -> list[str]:
    """Supplementary groups of the bundle's processes (see the module docstring)."""
    return [] if who.is_root else [str(who.gid)]
