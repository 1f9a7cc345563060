"""What the gate lets through to the upstream: one verdict per pushed ref update.

Checked in order, the first rule that refuses names itself:
only branches and tags; ``protected_branches`` (any update, creation and deletion
included; matched without regard to case, since some upstreams store refs on
case-insensitive disks); a non-fast-forward update unless the repo allows force
pushes; ``protected_paths`` touched by any commit the push brings that the
upstream does not have (a merge counts for what it changes against all its parents,
so an edit hidden in a merge is seen).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .config import GateRepo

HEADS, TAGS = "refs/heads/", "refs/tags/"


@dataclass(frozen=True)
class Update:
    old: str
    new: str
    ref: str

    @property
    def creates(self) -> bool:
        return set(self.old) == {"0"}

    @property
    def deletes(self) -> bool:
        return set(self.new) == {"0"}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule: str | None = None  # the rule that refused
    reason: str = ""


ALLOW = Verdict(True)

# git's answers the rules need, so the rules can be tested without a repository.
IsAncestor = Callable[[str, str], bool]
NewPaths = Callable[[str], Sequence[str]]  # paths the commits new to the upstream touch


def parse_updates(text: str) -> list[Update]:
    """pre-receive's stdin: ``<old> <new> <ref>`` per line."""
    updates = []
    for line in text.splitlines():
        old, new, ref = line.split(" ", 2)
        updates.append(Update(old, new, ref))
    return updates


def branch_protected(repo: GateRepo, branch: str) -> str | None:
    folded = branch.casefold()
    for pattern in repo.protected_branches:
        if fnmatchcase(folded, pattern.casefold()):
            return pattern
    return None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``**`` spans directories, ``*`` and ``?`` stay inside one; a pattern without
    wildcards covers the path and everything under it. Case is ignored."""
    p = pattern.strip("/")
    if not any(c in p for c in "*?["):
        return re.compile(re.escape(p) + r"(?:/.*)?\Z", re.I | re.S)
    out, i = [], 0
    while i < len(p):
        if p.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif p.startswith("**", i):
            out.append(".*")
            i += 2
        elif p[i] == "*":
            out.append("[^/]*")
            i += 1
        elif p[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(p[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.I | re.S)


def _literal_dirs(pattern: str) -> list[str]:
    """The directories a pattern protects by name: replacing one of them (with a file or
    a symbolic link) is a change to what the pattern covers."""
    parts = pattern.strip("/").split("/")
    dirs = []
    for i in range(1, len(parts)):
        if any(c in parts[i - 1] for c in "*?["):
            break
        dirs.append("/".join(parts[:i]).casefold())
    return dirs


def path_protected(repo: GateRepo, path: str) -> str | None:
    for pattern in repo.protected_paths:
        if glob_regex(pattern).match(path) or path.casefold() in _literal_dirs(pattern):
            return pattern
    return None


def check(repo: GateRepo, u: Update, is_ancestor: IsAncestor, new_paths: NewPaths) -> Verdict:
    if not u.ref.startswith((HEADS, TAGS)):
        return Verdict(False, "refs", "only branches and tags can be pushed through the gate")
    if u.ref.startswith(HEADS):
        pattern = branch_protected(repo, u.ref[len(HEADS) :])
        if pattern is not None:
            return Verdict(
                False,
                f"protected_branches: {pattern}",
                "the branch is protected; push another branch and ask for a review",
            )
    if u.deletes:
        return ALLOW
    if not u.creates and not repo.allow_force_push and not is_ancestor(u.old, u.new):
        return Verdict(
            False,
            "force push",
            "not a fast-forward (force pushes are refused); fetch, rebase or merge, push again",
        )
    if repo.protected_paths:
        for path in new_paths(u.new):
            pattern = path_protected(repo, path)
            if pattern is not None:
                return Verdict(
                    False,
                    f"protected_paths: {pattern}",
                    f"a new commit changes {path}, which is protected",
                )
    return ALLOW
