"""The git gate with real git on both sides: the agent's git over smart HTTP to the
gate, the gate's git to an upstream (a local bare repository here; real SSH is in
the integration tests). Every refused push leaves the upstream as it was."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
from bot_bottle_sidecars.git_gate import upstream as gate_upstream
from bot_bottle_sidecars.git_gate.config import parse_config
from bot_bottle_sidecars.git_gate.server import GateServer

CLEAN = {
    k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("GIT_")
}
IDENT = {
    "GIT_AUTHOR_NAME": "a",
    "GIT_AUTHOR_EMAIL": "a@example.test",
    "GIT_COMMITTER_NAME": "a",
    "GIT_COMMITTER_EMAIL": "a@example.test",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(
    *args: str, cwd: Path | None = None, ok: bool = True, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**CLEAN, **IDENT, "HOME": str(cwd or Path.cwd())}
    r = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, input=input_text
    )
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def commit(work: Path, path: str, text: str, message: str) -> str:
    f = work / path
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def refs(bare: Path) -> dict[str, str]:
    out = git("for-each-ref", "--format=%(refname) %(objectname)", cwd=bare).stdout
    return dict(line.split(" ")[::-1][::-1] for line in out.splitlines()) if out else {}


class Gate:
    def __init__(self, tmp: Path, **rules: object) -> None:
        self.upstream = tmp / "upstream.git"
        seed = tmp / "seed"
        git("init", "-q", "--bare", "-b", "main", str(self.upstream))
        git("init", "-q", "-b", "main", str(seed))
        commit(seed, "README", "hello\n", "first")
        commit(seed, ".github/workflows/ci.yml", "on: push\n", "ci")
        git("push", "-q", str(self.upstream), "main", cwd=seed)
        repo = {"name": "app", "upstream": str(self.upstream), **rules}
        cfg = tmp / "git-gate.json"
        cfg.write_text(json.dumps({"repos": [repo]}))
        self.log = tmp / "git-gate.jsonl"
        self.env = {
            "BOT_BOTTLE_GIT_GATE_CONFIG": str(cfg),
            "BOT_BOTTLE_GIT_GATE_STATE": str(tmp / "state"),
            "BOT_BOTTLE_GIT_GATE_LOG": str(self.log),
        }
        self.tmp = tmp

    def __enter__(self) -> Gate:
        os.environ.update(self.env)
        config = parse_config(json.loads(Path(self.env["BOT_BOTTLE_GIT_GATE_CONFIG"]).read_text()))
        gate_upstream.prepare(config)
        self.server = GateServer(("127.0.0.1", 0), config)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/app.git"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        for k in self.env:
            os.environ.pop(k, None)

    def clone(self) -> Path:
        work = self.tmp / f"work{len(list(self.tmp.glob('work*')))}"
        git("clone", "-q", self.url, str(work))
        return work

    def pushes(self) -> list[dict]:
        rows = (
            [json.loads(x) for x in self.log.read_text().splitlines()] if self.log.exists() else []
        )
        return [r for r in rows if r["event"] == "push"]


@pytest.fixture
def gate(tmp_path):
    with Gate(
        tmp_path, protected_branches=["main", "release/*"], protected_paths=[".github/workflows/**"]
    ) as g:
        yield g


def test_clone_and_push_a_feature_branch_arrives_upstream(gate):
    work = gate.clone()
    assert (work / "README").read_text() == "hello\n"
    git("switch", "-q", "-c", "feature", cwd=work)
    new = commit(work, "src/app.py", "print(1)\n", "feature")
    r = git("push", "origin", "feature", cwd=work)
    assert refs(gate.upstream)["refs/heads/feature"] == new
    (row,) = gate.pushes()
    assert (row["ref"], row["new"], row["verdict"]) == ("refs/heads/feature", new, "allow")
    assert "refused" not in r.stderr


@pytest.mark.parametrize("branch", ["main", "MAIN", "release/1.0"])
def test_a_protected_branch_refuses_every_update(gate, branch):
    before = refs(gate.upstream)
    work = gate.clone()
    commit(work, "src/x.py", "x\n", "x")
    r = git("push", "origin", f"HEAD:refs/heads/{branch}", cwd=work, ok=False)
    assert r.returncode != 0
    assert f"refused refs/heads/{branch}: the branch is protected" in r.stderr, r.stderr
    assert refs(gate.upstream) == before


def test_deleting_a_protected_branch_is_refused(gate):
    before = refs(gate.upstream)
    work = gate.clone()
    r = git("push", "origin", ":main", cwd=work, ok=False)
    assert "protected_branches: main" in r.stderr, r.stderr
    assert refs(gate.upstream) == before


def test_a_force_push_is_refused_unless_the_repo_allows_it(gate, tmp_path):
    work = gate.clone()
    git("switch", "-q", "-c", "topic", cwd=work)
    commit(work, "a", "1\n", "one")
    git("push", "-q", "origin", "topic", cwd=work)
    pushed = refs(gate.upstream)
    git("reset", "-q", "--hard", "HEAD~1", cwd=work)
    commit(work, "a", "2\n", "rewritten")
    r = git("push", "--force", "origin", "topic", cwd=work, ok=False)
    assert "not a fast-forward" in r.stderr and "rule: force push" in r.stderr, r.stderr
    assert refs(gate.upstream) == pushed


def test_force_push_allowed_by_the_repo(tmp_path):
    with Gate(tmp_path, allow_force_push=True) as g:
        work = g.clone()
        git("reset", "-q", "--hard", "HEAD~1", cwd=work)
        new = commit(work, "b", "b\n", "rewritten")
        git("push", "-q", "--force", "origin", "main", cwd=work)
        assert refs(g.upstream)["refs/heads/main"] == new


@pytest.mark.parametrize(
    "path",
    [".github/workflows/ci.yml", ".github/workflows/new/deep.yml", ".GitHub/Workflows/x.yml"],
)
def test_a_commit_touching_a_protected_path_is_refused(gate, path):
    before = refs(gate.upstream)
    work = gate.clone()
    git("switch", "-q", "-c", "sneaky", cwd=work)
    commit(work, path, "on: [push, pull_request]\n", "ci tweak")
    commit(work, "innocent.txt", "x\n", "cover it up")  # the tip itself is clean
    r = git("push", "origin", "sneaky", cwd=work, ok=False)
    assert "is protected" in r.stderr and "protected_paths: .github/workflows/**" in r.stderr
    assert refs(gate.upstream) == before


def test_replacing_a_protected_directory_with_a_link_is_refused(gate):
    before = refs(gate.upstream)
    work = gate.clone()
    git("switch", "-q", "-c", "swap", cwd=work)
    git("rm", "-q", "-r", ".github/workflows", cwd=work)
    (work / "elsewhere").mkdir()
    (work / "elsewhere" / "ci.yml").write_text("on: push\n")
    (work / ".github").mkdir(exist_ok=True)
    os.symlink("../elsewhere", work / ".github" / "workflows")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "swap", cwd=work)
    r = git("push", "origin", "swap", cwd=work, ok=False)
    assert "protected_paths" in r.stderr, r.stderr
    assert refs(gate.upstream) == before


def test_an_edit_hidden_in_a_merge_is_seen(gate):
    before = refs(gate.upstream)
    work = gate.clone()
    git("switch", "-q", "-c", "side", cwd=work)
    commit(work, "side.txt", "s\n", "side")
    git("switch", "-q", "-c", "evil", "main", cwd=work)
    commit(work, "other.txt", "o\n", "other")
    git("merge", "-q", "--no-ff", "--no-commit", "side", cwd=work)
    (work / ".github/workflows/ci.yml").write_text("on: [push]\nrun: curl evil\n")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "merge side", cwd=work)
    r = git("push", "origin", "evil", cwd=work, ok=False)
    assert "protected_paths" in r.stderr, r.stderr
    assert refs(gate.upstream) == before


def test_merging_what_the_upstream_already_has_is_not_refused(gate):
    """A protected file changed upstream (by a human) comes back in a merge: not new."""
    seed = gate.tmp / "human"
    git("clone", "-q", str(gate.upstream), str(seed))
    commit(seed, ".github/workflows/ci.yml", "on: [push]\n", "human edit")
    git("push", "-q", "origin", "main", cwd=seed)
    work = gate.clone()
    git("switch", "-q", "-c", "topic", "HEAD~1", cwd=work)
    commit(work, "t.txt", "t\n", "topic")
    git("merge", "-q", "--no-edit", "origin/main", cwd=work)
    git("push", "-q", "origin", "topic", cwd=work)
    assert "refs/heads/topic" in refs(gate.upstream)


def test_one_refused_ref_refuses_the_whole_push(gate):
    before = refs(gate.upstream)
    work = gate.clone()
    commit(work, "x", "x\n", "x")
    r = git(
        "push", "origin", "HEAD:refs/heads/ok-branch", "HEAD:refs/heads/main", cwd=work, ok=False
    )
    assert r.returncode != 0
    assert refs(gate.upstream) == before
    verdicts = {row["ref"]: row["verdict"] for row in gate.pushes()}
    assert verdicts == {"refs/heads/ok-branch": "not-pushed", "refs/heads/main": "deny"}


def test_other_namespaces_are_refused(gate):
    work = gate.clone()
    r = git("push", "origin", "HEAD:refs/notes/x", cwd=work, ok=False)
    assert "only branches and tags" in r.stderr, r.stderr


def test_a_fetch_sees_what_the_upstream_has_now(gate):
    work = gate.clone()
    seed = gate.tmp / "human"
    git("clone", "-q", str(gate.upstream), str(seed))
    new = commit(seed, "later.txt", "later\n", "later")
    git("push", "-q", "origin", "main", cwd=seed)
    git("fetch", "-q", "origin", cwd=work)
    assert git("rev-parse", "origin/main", cwd=work).stdout.strip() == new


def test_a_push_racing_the_upstream_is_refused_not_lost(gate):
    work = gate.clone()
    git("switch", "-q", "-c", "topic", cwd=work)
    commit(work, "a", "1\n", "one")
    git("push", "-q", "origin", "topic", cwd=work)
    commit(work, "a", "2\n", "two")
    # Someone else moves topic upstream between the agent's ref listing and its push.
    other = gate.tmp / "other"
    git("clone", "-q", "-b", "topic", str(gate.upstream), str(other))
    theirs = commit(other, "b", "b\n", "theirs")
    git("push", "-q", "origin", "topic", cwd=other)
    r = git("push", "origin", "topic", cwd=work, ok=False)
    assert r.returncode != 0
    assert refs(gate.upstream)["refs/heads/topic"] == theirs


@pytest.mark.parametrize(
    "path",
    [
        "/app.git/HEAD",
        "/app.git/objects/info/packs",
        "/other.git/info/refs?service=git-upload-pack",
        "/app.git/info/refs?service=git-upload-archive",
        "/../app.git/info/refs?service=git-upload-pack",
    ],
)
def test_only_smart_http_of_a_configured_repo_is_served(gate, path):
    import urllib.error
    import urllib.request

    base = gate.url.rsplit("/", 1)[0]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(base + path, timeout=10)
    assert err.value.code in (403, 404)


def test_a_read_only_repo_refuses_pushes(tmp_path):
    with Gate(tmp_path, read_only=True) as g:
        before = refs(g.upstream)
        work = g.clone()
        commit(work, "x", "x\n", "x")
        r = git("push", "origin", "HEAD:refs/heads/x", cwd=work, ok=False)
        assert r.returncode != 0
        assert refs(g.upstream) == before


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (".github/workflows/ci.yml", True),
        (".github/workflows", True),  # the directory replaced by a file or a link
        (".github", True),
        (".GITHUB/workflows/a/b.yml", True),
        (".github/dependabot.yml", False),
        ("docs/.github/workflows/x.yml", False),
        (".github/workflowsx/y", False),
    ],
)
def test_protected_path_patterns(path, refused):
    from bot_bottle_sidecars.git_gate.config import GateRepo
    from bot_bottle_sidecars.git_gate.rules import path_protected

    repo = GateRepo("app", "/x", protected_paths=(".github/workflows/**",))
    assert (path_protected(repo, path) is not None) is refused
