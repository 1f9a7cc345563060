"""The host directories the bundle writes (queue, egress decisions): writable by the bundle's
sidecar user and the operator, and by no other local user, whoever runs bot-bottle.

Permissions are checked by the kernel, not read back from the mode bits: a process
with the sidecar's uid and groups, and one of a stranger, each try to plant a file.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from bot_bottle_docker import bundle_dirs
from bot_bottle_docker.bundle_dirs import Operator, bundle_groups, writable_by_bundle
from bot_bottle_docker.errors import LaunchFailed
from bot_bottle_sidecars import layout

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switches users to test access")

OPERATOR = Operator(uid=42_101, gid=42_101)  # not in the user or group database
STRANGER = 42_202


def plant(path: Path, uid: int, groups: list[int]) -> bool:
    """Whether a process of ``uid`` (with supplementary ``groups``) can create a file in
    ``path``: a real process, so the kernel decides."""
    target = path / "answer.json"

    def become() -> None:
        os.setgroups(groups)
        os.setgid(groups[0] if groups else uid)
        os.setuid(uid)

    # /bin/sh, not this venv's python: the test's users may not read root's home.
    proc = subprocess.run(
        ["/bin/sh", "-c", 'set -C; printf planted > "$1"', "sh", str(target)],
        preexec_fn=become,
        capture_output=True,
        text=True,
    )
    target.unlink(missing_ok=True)
    return proc.returncode == 0


def walkable(tmp_path: Path) -> Path:
    # pytest's tmp dirs are root's 0700: open the way down for the test's users only
    # to the directory under test, whose own mode is what is tested.
    for p in (tmp_path, *tmp_path.parents):
        if p == Path("/"):
            break
        p.chmod(p.stat().st_mode | 0o011)
    return tmp_path / "queue" / "bob-abcde"


@needs_root
def test_not_as_root_the_operators_group_writes_and_no_other_user_can(tmp_path):
    path = writable_by_bundle(walkable(tmp_path), OPERATOR)
    mode = path.stat().st_mode
    assert not mode & stat.S_IWOTH and not mode & stat.S_IROTH and not mode & stat.S_IXOTH
    assert stat.S_IMODE(mode) == 0o2770 and path.stat().st_gid == OPERATOR.gid
    groups = [int(g) for g in bundle_groups(OPERATOR)]
    assert groups == [OPERATOR.gid]
    # The sidecar: its own uid, with the operator's group added by the backend.
    assert plant(path, layout.SIDECAR_UID, [layout.SIDECAR_UID, *groups])
    # Another local user, and the sidecar's uid without the group, cannot.
    assert not plant(path, STRANGER, [STRANGER])
    assert not plant(path, layout.SIDECAR_UID, [layout.SIDECAR_UID])


@needs_root
def test_as_root_the_directory_belongs_to_the_sidecar_alone(tmp_path):
    path = writable_by_bundle(walkable(tmp_path), Operator(0, 0))
    assert path.stat().st_uid == layout.SIDECAR_UID and stat.S_IMODE(path.stat().st_mode) == 0o700
    assert bundle_groups(Operator(0, 0)) == []
    assert plant(path, layout.SIDECAR_UID, [layout.SIDECAR_UID])
    assert not plant(path, STRANGER, [STRANGER])


def test_a_primary_group_shared_with_other_users_is_refused(tmp_path, monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("the check is Linux's")
    monkeypatch.setattr(bundle_dirs, "others_in_group", lambda who: ["alice", "bob"])
    with pytest.raises(LaunchFailed) as err:
        writable_by_bundle(tmp_path / "q", OPERATOR)
    assert "alice, bob" in str(err.value) and "group of its own" in str(err.value)


def test_others_in_a_group_are_found_by_membership_and_by_primary_group():
    import grp
    import pwd

    for g in grp.getgrall():
        if g.gr_mem:
            member = pwd.getpwnam(g.gr_mem[0])
            who = Operator(uid=member.pw_uid, gid=g.gr_gid)
            assert member.pw_name not in bundle_dirs.others_in_group(who)
            outsider = Operator(uid=OPERATOR.uid, gid=g.gr_gid)
            assert member.pw_name in bundle_dirs.others_in_group(outsider)
            break
    root = pwd.getpwuid(0)
    assert root.pw_name in bundle_dirs.others_in_group(Operator(OPERATOR.uid, root.pw_gid))
    assert bundle_dirs.others_in_group(OPERATOR) == []
