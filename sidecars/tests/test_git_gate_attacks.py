"""The git gate attacked from inside the bottle: an agent that wants a change on a
protected branch or path, a rewritten history, or something else out of the gate.

Real git on both sides as in ``test_git_gate.py``; where the agent's git would refuse
to send something itself, the push is written by hand (pkt-lines over smart HTTP),
since the agent owns its client. Every attack asserts the upstream is as it was and
that the refusal says why.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from test_git_gate import IDENT, Gate, commit, git, refs

WORKFLOWS = ".github/workflows/**"


@pytest.fixture
def gate(tmp_path):
    with Gate(tmp_path, protected_branches=["main", "release/*"], protected_paths=[WORKFLOWS]) as g:
        yield g


def refused(gate: Gate, before: dict[str, str], r: subprocess.CompletedProcess[str], why: str):
    assert r.returncode != 0, r.stderr
    assert why in r.stderr, r.stderr
    assert refs(gate.upstream) == before


def push(work: Path, *refspecs: str) -> subprocess.CompletedProcess[str]:
    return git("push", "origin", *refspecs, cwd=work, ok=False)


def commit_tree(work: Path, entries: list[tuple[str, str, str]], parents: list[str]) -> str:
    """A commit whose tree is exactly ``(mode, sha, path)`` entries, built with the index
    (so paths git's porcelain would not write, like gitlinks, are possible)."""
    env = {**os.environ, **IDENT, "GIT_INDEX_FILE": str(work / ".git" / "attack-index")}
    env.pop("GIT_DIR", None)
    subprocess.run(["git", "read-tree", "--empty"], cwd=work, env=env, check=True)
    for mode, sha, path in entries:
        subprocess.run(
            ["git", "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}"],
            cwd=work,
            env=env,
            check=True,
        )
    tree = subprocess.run(
        ["git", "write-tree"], cwd=work, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    args = [a for p in parents for a in ("-p", p)]
    return git("commit-tree", tree, *args, "-m", "crafted", cwd=work).stdout.strip()


def blob(work: Path, data: bytes) -> str:
    return (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=work,
            input=data,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )


# --- protected paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        # -z output split on newlines too once turned this into ".github/workflows/x"
        # and ".yml", neither of which the pattern covers.
        (".github/workflows/*.yml", ".github/workflows/x\n.yml"),
        ("**/*.yml", "deploy/a\nb.yml"),
        (".github/workflows/*.yml", ".github/workflows/tab\there.yml"),
        (".github/workflows/**", ".github/workflows/\n"),
    ],
)
def test_a_protected_path_with_a_newline_or_tab_in_its_name_is_seen(tmp_path, pattern, path):
    with Gate(tmp_path, protected_paths=[pattern]) as g:
        before = refs(g.upstream)
        work = g.clone()
        git("switch", "-q", "-c", "odd-name", cwd=work)
        commit(work, path, "on: push\n", "odd name")
        refused(g, before, push(work, "odd-name"), "is protected")
