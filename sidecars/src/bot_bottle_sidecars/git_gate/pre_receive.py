"""The mirror's pre-receive hook: check every pushed ref, then push upstream.

The mirror's refs move only when this exits 0, so they only ever hold what the
upstream accepted. What is refused is said on stderr, which the agent's
``git push`` shows as ``remote:`` lines.
"""

from __future__ import annotations

import os
import subprocess
import sys

from . import journal, upstream
from .config import ConfigError, GateRepo, load_config
from .rules import Answers, Update, Verdict, check_push, parse_updates

ENV_REPO = "BOT_BOTTLE_GIT_GATE_REPO"
SAY = "bot-bottle git-gate"


def _ok(*args: str) -> bool:
    return subprocess.run(["git", *args], capture_output=True).returncode == 0


def _is_ancestor(old: str, new: str) -> bool:
    return _ok("merge-base", "--is-ancestor", old, new)


def _valid_ref(ref: str) -> bool:
    return _ok("check-ref-format", ref)


def _is_commit(obj: str) -> bool:
    return _ok("cat-file", "-e", f"{obj}^{{commit}}")


def _keeper(updates: list[Update]):
    """Whether a commit stays reachable once the push is through: from a ref the push
    leaves alone, or from a value it sets."""
    pushed = [f"--exclude={u.ref}" for u in updates]
    kept_by = [u.new for u in updates if not u.deletes]

    def kept(commit: str) -> bool:
        r = subprocess.run(
            ["git", "rev-list", "-n1", commit, "--not", *pushed, "--all", *kept_by],
            capture_output=True,
        )
        return r.returncode == 0 and not r.stdout.strip()

    return kept


def _new_paths(new: str) -> list[str]:
    """Paths changed by the commits of ``new`` the mirror (the upstream) does not have."""
    r = subprocess.run(
        [
            "git",
            "log",
            "--format=",
            "--name-only",
            "-z",
            "--root",  # a new root commit adds every path it has
            "--diff-merges=combined",
            "--no-renames",
            new,
            "--not",
            "--all",
        ],
        capture_output=True,
        check=True,
    )
    # With -z a path ends at NUL and may itself hold newlines: splitting on them would
    # turn ".github/workflows/x\n.yml" into two names neither of which ends in .yml.
    names = r.stdout.decode(errors="surrogateescape").split("\0")
    return [p for p in names if p]


def decide(repo: GateRepo, updates: list[Update]) -> list[Verdict]:
    if repo.read_only:
        return [Verdict(False, "read_only", "this repository is read-only here")] * len(updates)
    git = Answers(_is_ancestor, _new_paths, _valid_ref, _is_commit, _keeper(updates))
    return check_push(repo, updates, git)


def main() -> int:
    name = os.environ.get(ENV_REPO, "")
    try:
        repo = load_config().repos[name]
    except (ConfigError, KeyError) as exc:
        print(f"{SAY}: cannot check this push: {exc}", file=sys.stderr)
        return 1
    updates = parse_updates(sys.stdin.read())
    with upstream.locked(name):
        verdicts = decide(repo, updates)
        refused = [(u, v) for u, v in zip(updates, verdicts, strict=True) if not v.allowed]
        for u, v in refused:
            print(f"{SAY}: refused {u.ref}: {v.reason} (rule: {v.rule})", file=sys.stderr)
        if refused:
            for u, v in zip(updates, verdicts, strict=True):
                verdict = "deny" if not v.allowed else "not-pushed"
                _log(name, u, verdict, v.rule or "another ref in this push was refused")
            return 1
        try:
            upstream.push(repo, [(u.old, u.new, u.ref) for u in updates])
        except upstream.UpstreamError as exc:
            print(f"{SAY}: the upstream refused the push:", file=sys.stderr)
            for line in str(exc).splitlines():
                print(f"{SAY}:   {line}", file=sys.stderr)
            for u in updates:
                _log(name, u, "upstream-refused", str(exc)[-500:])
            return 1
    for u in updates:
        _log(name, u, "allow", None)
    return 0


def _log(name: str, u: Update, verdict: str, rule: str | None) -> None:
    journal.record(
        "push", echo=False, repo=name, ref=u.ref, old=u.old, new=u.new, verdict=verdict, rule=rule
    )


if __name__ == "__main__":
    sys.exit(main())
