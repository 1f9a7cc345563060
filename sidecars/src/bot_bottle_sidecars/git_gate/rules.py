"""What the gate lets through to the upstream: one verdict per pushed ref update.

Checked in order, the first rule that refuses names itself:
only branches and tags, by names git itself accepts, each once per push;
``protected_branches`` (any update, creation and deletion included; matched without
regard to case or Unicode compatibility forms, since some upstreams store refs on
case-insensitive disks); unless the repo allows force pushes: no history dropped (a
non-fast-forward update, or deleting a branch whose commits no other ref keeps) and
no tag moved or deleted (deleting and recreating would be a move); only commits (or
tags of commits) pushed; ``protected_paths`` touched by any commit the push brings
that the upstream does not have (a merge counts for what it changes against all its
parents, so an edit hidden in a merge is seen).
"""

from __future__ import annotations

import re
import unicodedata
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


@dataclass(frozen=True)
class Answers:
    is_ancestor: IsAncestor
    new_paths: NewPaths
    valid_ref: Callable[[str], bool]  # ``git check-ref-format``
    is_commit: Callable[[str], bool]  # a commit, or a tag that peels to one
    kept: Callable[[str], bool]  # the commit stays reachable from the refs after the push


def parse_updates(text: str) -> list[Update]:
    """pre-receive's stdin: ``<old> <new> <ref>`` per line."""
    updates = []
    for line in text.splitlines():
        old, new, ref = line.split(" ", 2)
        updates.append(Update(old, new, ref))
    return updates


def _fold(name: str) -> str:
    # Fullwidth letters or ligatures ("ﬁ") would otherwise slip past a rule for "main".
    return unicodedata.normalize("NFKC", name).casefold()


def branch_protected(repo: GateRepo, branch: str) -> str | None:
    folded = _fold(branch)
    for pattern in repo.protected_branches:
        if fnmatchcase(folded, _fold(pattern)):
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


def check_push(repo: GateRepo, updates: Sequence[Update], git: Answers) -> list[Verdict]:
    refs = [u.ref for u in updates]
    return [
        Verdict(False, "refs", "the push names this ref more than once")
        if refs.count(u.ref) > 1
        else check(repo, u, git)
        for u in updates
    ]


def check(repo: GateRepo, u: Update, git: Answers) -> Verdict:
    if not u.ref.startswith((HEADS, TAGS)):
        return Verdict(False, "refs", "only branches and tags can be pushed through the gate")
    # receive-pack runs this hook before it checks names itself.
    if not git.valid_ref(u.ref):
        return Verdict(False, "refs", "not a valid ref name")
    if u.ref.startswith(HEADS):
        pattern = branch_protected(repo, u.ref[len(HEADS) :])
        if pattern is not None:
            return Verdict(
                False,
                f"protected_branches: {pattern}",
                "the branch is protected; push another branch and ask for a review",
            )
    rewrite = not repo.allow_force_push
    if rewrite and u.ref.startswith(TAGS) and not u.creates:
        return Verdict(
            False,
            "force push",
            "a tag is not moved or deleted once pushed (force pushes are refused); push a new tag",
        )
    if u.deletes:
        if rewrite and not git.kept(u.old):
            return Verdict(
                False,
                "force push",
                "deleting the branch would drop commits no other branch or tag has "
                "(force pushes are refused); merge it somewhere first",
            )
        return ALLOW
    if not git.is_commit(u.new):
        return Verdict(False, "refs", "only commits (or tags of commits) can be pushed")
    if not u.creates and rewrite and not git.is_ancestor(u.old, u.new):
        return Verdict(
            False,
            "force push",
            "not a fast-forward (force pushes are refused); fetch, rebase or merge, push again",
        )
    if repo.protected_paths:
        for path in git.new_paths(u.new):
            pattern = path_protected(repo, path)
            if pattern is not None:
                return Verdict(
                    False,
                    f"protected_paths: {pattern}",
                    f"a new commit changes {path}, which is protected",
                )
    return ALLOW
