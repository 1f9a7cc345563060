"""What --copy-cwd selects: never a link out of the directory, never a special file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot_bottle_core import workspace_selection as ws
from bot_bottle_core.workspace_selection import (
    WorkspaceLink,
    WorkspaceSkip,
    read_selected,
    select_workspace,
)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose links point everywhere, beside an outside holding secrets."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "credentials").write_text("aws_secret_access_key = hunter2\n")
    (outside / "dir" / "id_rsa").write_text("KEY\n")
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print()\n")
    (root / ".env").write_text("SECRET=1\n")
    (root / "notes.txt").symlink_to(outside / "credentials")  # a file outside
    (root / "keys").symlink_to(outside / "dir")  # a directory outside
    (root / "src" / "up.txt").symlink_to("../../outside/credentials")  # relative, out
    (root / "src" / "hop").symlink_to("../../outside/credentials")
    (root / "chain").symlink_to("src/hop-to-hop")  # inside -> inside -> outside
    (root / "src" / "hop-to-hop").symlink_to("hop")
    (root / "readme").symlink_to("src/app.py")  # inside, kept as written
    (root / "code").symlink_to("src")  # a directory inside: a link, not descended
    (root / "src" / "abs").symlink_to(root / "src" / "app.py")  # absolute, inside
    (root / "gone").symlink_to("missing.txt")  # dangling
    return root


EXPECTED_LINKS = (
    WorkspaceLink("code", "src"),
    WorkspaceLink("readme", "src/app.py"),
    WorkspaceLink("src/abs", "app.py"),  # rewritten relative: /workspace is elsewhere
)
EXPECTED_SKIPPED = (
    WorkspaceSkip(".env", ws.SECRET),
    WorkspaceSkip("chain", ws.LINK_OUTSIDE_VIA),
    WorkspaceSkip("gone", ws.LINK_DANGLING),
    WorkspaceSkip("keys", ws.LINK_OUTSIDE),
    WorkspaceSkip("notes.txt", ws.LINK_OUTSIDE),
    WorkspaceSkip("pipe", "a FIFO, not a regular file"),
    WorkspaceSkip("src/hop", ws.LINK_OUTSIDE),
    WorkspaceSkip("src/hop-to-hop", ws.LINK_OUTSIDE_VIA),
    WorkspaceSkip("src/up.txt", ws.LINK_OUTSIDE),
)


def test_a_plain_directory_keeps_inside_links_and_skips_the_rest(project):
    os.mkfifo(project / "pipe")
    chosen = select_workspace(project)
    assert chosen.files == ("src/app.py",)
    assert chosen.links == EXPECTED_LINKS
    assert chosen.skipped == EXPECTED_SKIPPED


def test_a_git_repository_gets_the_same_rules(project):
    (project / "pipe").write_text("was a file\n")
    git(project, "init", "-q")
    git(project, "add", "pipe")
    # git lists what its index holds: a tracked file that became a FIFO.
    (project / "pipe").unlink()
    os.mkfifo(project / "pipe")
    chosen = select_workspace(project)
    assert chosen.files == ("src/app.py",)
    assert chosen.links == EXPECTED_LINKS
    assert chosen.skipped == EXPECTED_SKIPPED


def test_secret_files_stay_home_and_gitignore_is_honoured(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("print()\n")
    for name in (".env", ".env.production", ".envrc", ".netrc"):
        (tmp_path / name).write_text("SECRET=2\n")
    (tmp_path / "build.log").write_text("noise\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    assert select_workspace(tmp_path).files == (".gitignore", "build.log", "src/app.py")
    git(tmp_path, "init", "-q")
    chosen = select_workspace(tmp_path)
    assert chosen.files == (".gitignore", "src/app.py")
    assert [s.path for s in chosen.skipped] == [".env", ".env.production", ".envrc", ".netrc"]


def test_a_directory_reached_through_a_link_takes_its_absolute_links_by_either_name(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("a\n")
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    (real / "by-real").symlink_to(real / "a.txt")
    (real / "by-alias").symlink_to(alias / "a.txt")
    chosen = select_workspace(alias)
    assert chosen.links == (WorkspaceLink("by-alias", "a.txt"), WorkspaceLink("by-real", "a.txt"))


def test_a_relative_link_that_climbs_out_and_back_in_is_rewritten(tmp_path):
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "back").symlink_to(f"../../{tmp_path.name}/a.txt")
    assert select_workspace(tmp_path).links == (WorkspaceLink("sub/back", "../a.txt"),)


def test_a_file_under_a_directory_that_became_a_link_is_not_read(project, tmp_path):
    (project / "vendor").mkdir()
    (project / "vendor" / "credentials").write_text("tracked\n")
    git(project, "init", "-q")
    git(project, "add", "vendor/credentials")
    (project / "vendor" / "credentials").unlink()
    (project / "vendor").rmdir()
    (project / "vendor").symlink_to(tmp_path / "outside")
    skipped = {s.path: s.reason for s in select_workspace(project).skipped}
    assert skipped["vendor/credentials"] == ws.UNDER_LINK
    assert skipped["vendor"] == ws.LINK_OUTSIDE


def test_reading_never_follows_a_link_nor_waits_on_a_fifo(project):
    os.mkfifo(project / "pipe")
    assert read_selected(project, "src/app.py") == (b"print()\n", 0o644 & ~_umask())
    assert isinstance(read_selected(project, "notes.txt"), WorkspaceSkip)
    assert read_selected(project, "pipe") == WorkspaceSkip("pipe", "no longer a regular file")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
