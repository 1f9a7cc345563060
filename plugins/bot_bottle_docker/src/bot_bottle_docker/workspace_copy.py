"""``--copy-cwd`` on Docker: what the core selects, as one tar into the workspace."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from docker.models.containers import Container

from bot_bottle_core.hookspecs import Progress
from bot_bottle_core.workspace_selection import WorkspaceSkip, read_selected, select_workspace

from . import archive
from .errors import LaunchFailed


def parent_dirs(paths: Iterable[str]) -> list[str]:
    """Every directory above ``paths``, parents first (the tar creates them as the agent's)."""
    dirs = {str(p) for path in paths for p in PurePosixPath(path).parents} - {"."}
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def copy_cwd(
    agent: Container, dest: str, uid: int, gid: int, cwd: Path, progress: Progress
) -> None:
    """Copy ``cwd`` into ``dest`` in ``agent``, owned by ``uid:gid``; say what stayed out."""
    chosen = select_workspace(cwd)
    skipped = list(chosen.skipped)
    files: list[tuple[str, bytes, int]] = []
    for rel in chosen.files:
        got = read_selected(cwd, rel)
        if isinstance(got, WorkspaceSkip):
            skipped.append(got)
        else:
            files.append((rel, *got))
    for skip in skipped:
        progress(skip.describe())
    links = [(link.path, link.target) for link in chosen.links]
    if not files and not links:
        return
    dirs = parent_dirs([name for name, _, _ in files] + [name for name, _ in links])
    tar = archive.tar_of(files, uid, gid, dirs=dirs, links=links)
    if not agent.put_archive(dest, tar):
        raise LaunchFailed(f"Could not copy {cwd} into the bottle.")
