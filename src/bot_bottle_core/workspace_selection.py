"""What ``--copy-cwd`` takes from the current directory, the same for every backend.

Git's view of the files when the directory is in a repository (it honours
``.gitignore``), otherwise a walk that never descends through a linked
directory. Secret files stay on the host. Nothing is read through a link: a
link is copied as a link, and only when both its own target (read lexically
from the link's directory) and where its whole chain finally leads stay inside
the directory and exist. A target that is absolute, or that climbs out and back
in, is rewritten as the equivalent relative link, so it still works under
``/workspace``. FIFOs, sockets and devices are never opened. Everything left
out is reported with the reason, for the user to see.
"""

from __future__ import annotations

import os
import posixpath
import stat
import subprocess
from pathlib import Path, PurePosixPath

import attrs

SECRET_FILE_NAMES = (".env", ".envrc", ".netrc")
SECRET_FILE_PREFIXES = (".env.",)

LINK_OUTSIDE = "a link to outside the directory"
LINK_OUTSIDE_VIA = "a link to outside the directory, through another link"
LINK_DANGLING = "a link to nothing (its target does not exist)"
LINK_UNRESOLVABLE = "a link that cannot be resolved (a loop?)"
SECRET = "a secret file, kept on the host"
UNDER_LINK = "under a linked directory"
NESTED_REPO = "a nested git repository (bring it in through the git gate)"
SPECIAL_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


@attrs.frozen
class WorkspaceLink:
    path: str  # relative to the copied directory, POSIX
    target: str  # what the link says; always relative


@attrs.frozen
class WorkspaceSkip:
    path: str
    reason: str

    def describe(self) -> str:
        return f"skipped {self.path}: {self.reason}"


@attrs.frozen
class WorkspaceSelection:
    files: tuple[str, ...]  # regular files, relative paths
    links: tuple[WorkspaceLink, ...]
    skipped: tuple[WorkspaceSkip, ...]


def is_secret_file(rel: str) -> bool:
    name = PurePosixPath(rel).name
    return name in SECRET_FILE_NAMES or name.startswith(SECRET_FILE_PREFIXES)


def select_workspace(cwd: Path) -> WorkspaceSelection:
    """Decide what of ``cwd`` goes into the bottle; reads no file's contents."""
    root = os.path.abspath(cwd)
    real_root = os.path.realpath(root)
    listed = _git_listing(root)
    skipped: list[WorkspaceSkip] = []
    if listed is None:
        listed, skipped = _walk(root)
    files: list[str] = []
    links: list[WorkspaceLink] = []
    for rel in sorted(set(listed)):
        verdict = _classify(root, real_root, rel)
        if isinstance(verdict, WorkspaceSkip):
            skipped.append(verdict)
        elif isinstance(verdict, WorkspaceLink):
            links.append(verdict)
        elif verdict:
            files.append(rel)
    return WorkspaceSelection(
        tuple(files), tuple(links), tuple(sorted(skipped, key=lambda s: s.path))
    )


def read_selected(cwd: Path, rel: str) -> tuple[bytes, int] | WorkspaceSkip:
    """The contents and permission bits of a selected file.

    Opened without following a link or waiting on a FIFO, and checked to be a
    regular file once open: the file may have changed since it was selected.
    """
    try:
        fd = os.open(os.path.join(cwd, rel), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return WorkspaceSkip(rel, f"could not be opened ({exc.strerror})")
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            return WorkspaceSkip(rel, "no longer a regular file")
        try:
            return f.read(), mode & 0o777
        except OSError as exc:
            return WorkspaceSkip(rel, f"could not be read ({exc.strerror})")


def _git_listing(root: str) -> list[str] | None:
    """Paths git would show under ``root`` (links are entries), or None outside a repo."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    # An untracked nested repository is listed as "dir/".
    return [os.fsdecode(r).rstrip("/") for r in out.split(b"\0") if r]


def _walk(root: str) -> tuple[list[str], list[WorkspaceSkip]]:
    """Every non-directory under ``root``; a linked directory is an entry, not descended."""
    found: list[str] = []
    skipped: list[WorkspaceSkip] = []
    pending = [""]
    while pending:
        rel = pending.pop()
        try:
            with os.scandir(os.path.join(root, rel)) as it:
                entries = list(it)
        except OSError as exc:
            reason = f"a directory that could not be read ({exc.strerror})"
            skipped.append(WorkspaceSkip(rel or ".", reason))
            continue
        for entry in entries:
            if entry.name == ".git":
                continue
            sub = posixpath.join(rel, entry.name) if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                pending.append(sub)
            else:
                found.append(sub)
    return found, skipped


def _classify(root: str, real_root: str, rel: str) -> bool | WorkspaceLink | WorkspaceSkip:
    """True for a regular file to copy, False for nothing to say, else a link or a skip."""
    if is_secret_file(rel):
        return WorkspaceSkip(rel, SECRET)
    path = os.path.join(root, rel)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False  # in git's index, gone from the disk
    except OSError as exc:
        return WorkspaceSkip(rel, f"could not be examined ({exc.strerror})")
    parent = posixpath.dirname(rel)
    # git lists what its index holds even if a parent has since become a link.
    if os.path.realpath(os.path.join(root, parent)) != os.path.normpath(
        os.path.join(real_root, parent)
    ):
        return WorkspaceSkip(rel, UNDER_LINK)
    if stat.S_ISREG(mode):
        return True
    if stat.S_ISLNK(mode):
        return _link(root, real_root, rel)
    if stat.S_ISDIR(mode):
        return WorkspaceSkip(rel, NESTED_REPO)
    kind = SPECIAL_KINDS.get(stat.S_IFMT(mode), "a special file")
    return WorkspaceSkip(rel, f"{kind}, not a regular file")


def _link(root: str, real_root: str, rel: str) -> WorkspaceLink | WorkspaceSkip:
    path = os.path.join(root, rel)
    try:
        target = os.readlink(path)
    except OSError as exc:
        return WorkspaceSkip(rel, f"could not be examined ({exc.strerror})")
    written = _inside_target(root, real_root, rel, target)
    if written is None:
        return WorkspaceSkip(rel, LINK_OUTSIDE)
    try:
        os.stat(path)  # the whole chain
    except FileNotFoundError:
        return WorkspaceSkip(rel, LINK_DANGLING)
    except OSError:
        return WorkspaceSkip(rel, LINK_UNRESOLVABLE)
    if not _within(os.path.realpath(path), real_root):
        return WorkspaceSkip(rel, LINK_OUTSIDE_VIA)
    return WorkspaceLink(rel, written)


def _inside_target(root: str, real_root: str, rel: str, target: str) -> str | None:
    """The relative target to write for the link at ``rel``, or None if it points outside.

    Read lexically, as the link's text says. A relative target is resolved from
    the link's real directory; an absolute one may name the directory by the
    path it was given as or by its real path.
    """
    parent = posixpath.dirname(rel)
    absolute = os.path.isabs(target)
    full = os.path.normpath(os.path.join(real_root, parent, target))
    bases = (real_root, root) if absolute else (real_root,)
    base = next((b for b in bases if _within(full, b)), None)
    if base is None:
        return None
    if not absolute and not _climbs_out(parent, target):
        return target  # as the author wrote it
    return os.path.relpath(full, os.path.join(base, parent))


def _climbs_out(parent: str, target: str) -> bool:
    """Whether a relative target steps above the copied directory on its way."""
    depth = len(PurePosixPath(parent).parts)
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
