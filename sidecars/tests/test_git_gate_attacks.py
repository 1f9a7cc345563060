"""The git gate attacked from inside the bottle: an agent that wants a change on a
protected branch or path, a rewritten history, or something else out of the gate.

Real git on both sides as in ``test_git_gate.py``; where the agent's git would refuse
to send something itself, the push is written by hand (pkt-lines over smart HTTP),
since the agent owns its client. Every attack asserts the upstream is as it was and
that the refusal says why.
"""

from __future__ import annotations

import os
import socket
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


# --- hand-written smart HTTP --------------------------------------------------------------

ZERO = "0" * 40


def pkt(data: bytes) -> bytes:
    return b"%04x" % (len(data) + 4) + data


def http(gate: Gate, method: str, path: str, body: bytes = b"", headers=None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    base = gate.url.rsplit("/", 1)[0]
    req = urllib.request.Request(base + path, data=body or None, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def raw_push(gate: Gate, work: Path, commands: list[tuple[str, str, str]], revs=()) -> str:
    """``old new ref`` commands as the agent's client would send them, with a pack of
    ``revs`` (``git pack-objects --revs`` lines); the gate's whole answer as text."""
    status, _ = http(gate, "GET", "/app.git/info/refs?service=git-receive-pack")
    assert status == 200
    body = b""
    for i, (old, new, ref) in enumerate(commands):
        line = f"{old} {new} {ref}".encode()
        body += pkt(line + (b"\0report-status side-band-64k" if i == 0 else b"") + b"\n")
    body += b"0000"
    if any(new != ZERO for _, new, _ in commands):
        body += subprocess.run(
            ["git", "pack-objects", "--stdout", "--revs", "-q"],
            cwd=work,
            input="".join(f"{r}\n" for r in revs).encode(),
            capture_output=True,
            check=True,
        ).stdout
    ctype = "application/x-git-receive-pack-request"
    status, out = http(gate, "POST", "/app.git/git-receive-pack", body, {"Content-Type": ctype})
    return f"{status} " + demux(out)


def pkt_lines(data: bytes) -> list[bytes] | None:
    """The payloads of ``data`` read as pkt-lines (flushes dropped); None if it is not."""
    lines, i = [], 0
    while i < len(data):
        try:
            size = int(data[i : i + 4], 16)
        except ValueError:
            return None
        if size == 0:
            i += 4
            continue
        if size < 4 or i + size > len(data):
            return None
        lines.append(data[i + 4 : i + size])
        i += size
    return lines


def demux(out: bytes) -> str:
    """The answer as the agent's git shows it: side-band 2/3 text joined (a message may be
    split across packets anywhere), then the report-status lines carried in band 1."""
    lines = pkt_lines(out)
    if lines is None or not lines or lines[0][:1] not in (b"\x01", b"\x02", b"\x03"):
        return out.decode(errors="replace")
    bands: dict[bytes, bytes] = {b"\x01": b"", b"\x02": b"", b"\x03": b""}
    for line in lines:
        bands[line[:1]] = bands.get(line[:1], b"") + line[1:]
    report = pkt_lines(bands[b"\x01"]) or []
    text = bands[b"\x02"] + bands[b"\x03"] + b"".join(report)
    return text.decode(errors="replace")


def agent_with_topic(gate: Gate) -> tuple[Path, str, str]:
    """A clone with ``topic`` pushed (one commit on main); (work, main, topic)."""
    work = gate.clone()
    main = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    git("switch", "-q", "-c", "topic", cwd=work)
    topic = commit(work, "t", "t\n", "topic")
    git("push", "-q", "origin", "topic", cwd=work)
    return work, main, topic


# --- ref names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "main",
        "refs/heads/main",
        "+HEAD:refs/heads/main",
        "refs/heads/Main",
        "refs/heads/MAIN",
        "refs/heads/\uff4d\uff41\uff49\uff4e",  # fullwidth "main"
        "refs/heads/release/1.0",
        "refs/heads/RELEASE/x/y",
    ],
)
def test_a_protected_branch_is_refused_under_every_spelling(gate, target):
    before = refs(gate.upstream)
    work = gate.clone()
    commit(work, "x", "x\n", "x")
    src = "" if ":" in target else "HEAD:"
    refused(gate, before, push(work, "--force", src + target), "the branch is protected")


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads//main",
        "refs/heads/main/../x",
        "refs/heads/./main",
        "refs/heads/main/",
        "refs/heads/main.lock",
        "refs/heads/ma\x7fin",
        "refs/heads/a..b",
        "refs/heads/@{-1}",
        "refs/heads/ma in",
    ],
)
def test_ref_names_git_would_refuse_are_refused_by_the_gate_first(gate, ref):
    """receive-pack runs pre-receive before it checks names: the gate checks them itself
    instead of relying on the upstream push choking on them."""
    work, main, _ = agent_with_topic(gate)
    before = refs(gate.upstream)
    new = commit(work, "y", "y\n", "y")
    out = raw_push(gate, work, [(ZERO, new, ref)], [new, f"^{main}"])
    assert "not a valid ref name" in out, out
    assert refs(gate.upstream) == before


@pytest.mark.parametrize("ref", ["HEAD", "refs/remotes/origin/main", "refs/for/main", "main"])
def test_refs_outside_branches_and_tags_are_refused(gate, ref):
    work, main, topic = agent_with_topic(gate)
    before = refs(gate.upstream)
    out = raw_push(gate, work, [(ZERO, topic, ref)], [topic, f"^{main}"])
    assert "only branches and tags can be pushed" in out, out
    assert refs(gate.upstream) == before


def test_one_ref_twice_in_a_push_is_refused(gate):
    """Delete and recreate in one push (a force push in disguise)."""
    work, main, topic = agent_with_topic(gate)
    before = refs(gate.upstream)
    git("switch", "-q", "-c", "rewrite", main, cwd=work)
    other = commit(work, "o", "o\n", "rewritten")
    out = raw_push(
        gate,
        work,
        [(topic, ZERO, "refs/heads/topic"), (ZERO, other, "refs/heads/topic")],
        [other, f"^{main}"],
    )
    assert "names this ref more than once" in out, out
    assert refs(gate.upstream) == before


def test_lying_about_the_old_value_does_not_force_a_push(gate):
    """The agent's client says what it thinks the ref was; the gate's push upstream only
    lands if the upstream still has exactly that."""
    work, main, _topic = agent_with_topic(gate)
    before = refs(gate.upstream)
    git("switch", "-q", "-c", "rewrite", main, cwd=work)
    other = commit(work, "o", "o\n", "rewritten")
    for old in (main, ZERO):  # "a fast-forward from main", "a new branch"
        out = raw_push(gate, work, [(old, other, "refs/heads/topic")], [other, f"^{main}"])
        assert "the upstream refused the push" in out and "stale info" in out, out
        assert refs(gate.upstream) == before


def test_a_protected_branch_among_many_refs_refuses_them_all(gate):
    before = refs(gate.upstream)
    work = gate.clone()
    commit(work, "x", "x\n", "x")
    git("tag", "v9", cwd=work)
    r = push(work, "HEAD:refs/heads/a", "HEAD:refs/heads/b", "v9", "HEAD:refs/heads/mAin")
    refused(gate, before, r, "refused refs/heads/mAin: the branch is protected")


# --- tags ---------------------------------------------------------------------------------


def test_a_tag_of_a_commit_touching_a_protected_path_is_refused(gate):
    before = refs(gate.upstream)
    work = gate.clone()
    git("switch", "-q", "-c", "evil", cwd=work)
    commit(work, ".github/workflows/evil.yml", "on: push\n", "evil")
    git("tag", "-a", "-m", "inner", "inner", cwd=work)
    git("tag", "-a", "-m", "outer", "outer", "inner", cwd=work)  # a tag of a tag
    for tag in ("inner", "outer"):
        refused(gate, before, push(work, f"refs/tags/{tag}"), "is protected")
    refused(gate, before, push(work, "HEAD:refs/tags/light"), "is protected")


@pytest.mark.parametrize("what", ["tree", "blob", "tag of a tree"])
def test_a_tag_of_a_tree_or_blob_is_refused(gate, what):
    """A tree with a protected path in it would otherwise reach the upstream unchecked:
    only commits are walked."""
    work = gate.clone()
    before = refs(gate.upstream)
    evil = blob(work, b"on: push\nrun: curl evil\n")
    crafted = commit_tree(work, [("100644", evil, ".github/workflows/evil.yml")], [])
    tree = git("rev-parse", f"{crafted}^{{tree}}", cwd=work).stdout.strip()
    obj = {"tree": tree, "blob": evil}.get(what)
    if obj is None:
        git("tag", "-a", "-m", "t", "treetag", tree, cwd=work)
        obj = git("rev-parse", "treetag", cwd=work).stdout.strip()
    out = raw_push(gate, work, [(ZERO, obj, "refs/tags/x")], [obj])
    assert "only commits (or tags of commits)" in out, out
    assert refs(gate.upstream) == before


def test_a_pushed_tag_is_not_moved_or_deleted(gate):
    """Moving v1 to a newer commit is a release swapped under its users; deleting it and
    pushing it again is the same move in two steps."""
    work = gate.clone()
    git("switch", "-q", "-c", "topic", cwd=work)
    git("tag", "v1", cwd=work)
    git("push", "-q", "origin", "v1", cwd=work)
    before = refs(gate.upstream)
    commit(work, "n", "n\n", "newer")  # a fast-forward of v1
    git("tag", "-f", "v1", cwd=work)
    refused(gate, before, push(work, "--force", "v1"), "a tag is not moved or deleted")
    refused(gate, before, push(work, ":refs/tags/v1"), "a tag is not moved or deleted")


# --- force pushes in disguise -------------------------------------------------------------


def test_deleting_a_branch_whose_commits_nothing_else_keeps_is_refused(gate):
    """Delete-then-recreate in two pushes is a force push; what makes it one is the first
    push dropping commits, so that one is refused."""
    work, _main, _topic = agent_with_topic(gate)
    before = refs(gate.upstream)
    refused(gate, before, push(work, ":topic"), "would drop commits no other branch or tag has")


def test_deleting_a_branch_that_loses_nothing_is_allowed(gate):
    work, _main, _topic = agent_with_topic(gate)
    git("push", "-q", "origin", "topic:refs/heads/keeper", cwd=work)
    git("push", "-q", "origin", ":topic", cwd=work)  # keeper keeps its commits
    assert "refs/heads/topic" not in refs(gate.upstream)
    # Two refs deleted together do not keep each other's commits.
    git("push", "-q", "origin", "topic:refs/heads/twin", cwd=work)
    before = refs(gate.upstream)
    refused(gate, before, push(work, ":keeper", ":twin"), "would drop commits")
    # A ref the same push moves forward does.
    ahead = commit(work, "z", "z\n", "ahead")
    git("push", "-q", "origin", "HEAD:refs/heads/twin", ":keeper", cwd=work)
    assert "refs/heads/keeper" not in refs(gate.upstream)
    assert refs(gate.upstream)["refs/heads/twin"] == ahead


def test_deletion_and_tag_moves_are_allowed_with_force_push(tmp_path):
    with Gate(tmp_path, allow_force_push=True) as g:
        work, main, topic = agent_with_topic(g)
        git("tag", "v1", main, cwd=work)
        git("push", "-q", "origin", "v1", cwd=work)
        git("tag", "-f", "v1", topic, cwd=work)
        git("push", "-q", "--force", "origin", "v1", ":topic", cwd=work)
        assert refs(g.upstream).get("refs/tags/v1") == topic
        assert "refs/heads/topic" not in refs(g.upstream)


# --- the HTTP front -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/app.git/%2e%2e/keys/app"),
        ("GET", "/%2e%2e/keys/app"),
        ("GET", "/app.git/info/refs/../../../keys/app"),
        ("GET", "/app.git/info/../HEAD"),
        ("GET", "/app.git/./info/refs?service=git-upload-pack"),
        ("GET", "/app.git//info/refs?service=git-upload-pack"),
        ("GET", "/app.git/info/refs/?service=git-upload-pack"),
        ("GET", "/app.git/info/refs%3Fservice=git-upload-pack"),
        ("GET", "/App.git/info/refs?service=git-upload-pack"),
        ("GET", "/app/info/refs?service=git-upload-pack"),
        ("GET", "/app.git/info/refs"),  # dumb HTTP ref listing
        ("GET", "/app.git/info/refs?service=git-upload-archive"),
        ("GET", "/app.git/info/refs?service=upload-pack"),
        ("GET", "/app.git/info/packs"),
        ("GET", "/app.git/objects/info/alternates"),
        ("GET", "/app.git/config"),
        ("GET", "/app.git/hooks/pre-receive"),
        ("POST", "/app.git/git-upload-archive"),
        ("POST", "/app.git/info/refs?service=git-receive-pack"),
        ("GET", "/app.git/git-receive-pack"),
        ("GET", "/app.git/git-upload-pack"),
    ],
)
def test_only_smart_http_of_a_configured_repo_is_served(gate, method, path):
    status, body = http(gate, method, path, b"0000" if method == "POST" else b"")
    assert status in (403, 404), (status, body[:200])
    assert b"bot-bottle git-gate" in body


def test_a_second_service_in_the_query_is_not_what_http_backend_serves(gate):
    """The gate checks and logs the first ``service``; http-backend took the last."""
    status, body = http(
        gate, "GET", "/app.git/info/refs?service=git-upload-pack&service=git-receive-pack"
    )
    assert status == 200
    assert body.startswith(b"001e# service=git-upload-pack\n"), body[:80]


def test_a_read_only_repo_lists_no_receive_pack_under_any_query(tmp_path):
    with Gate(tmp_path, read_only=True) as g:
        for query in (
            "service=git-receive-pack",
            "service=git-upload-pack&service=git-receive-pack",
            "service=git%2Dreceive-pack",
        ):
            status, body = http(g, "GET", f"/app.git/info/refs?{query}")
            assert b"# service=git-receive-pack" not in body, (query, status, body[:80])


@pytest.mark.parametrize(
    "value",
    [
        "version=2",
        "version=2:x",
        "version=22",
        "version=2\tx",
        "version=2,version=1",
        "version=2 x",
    ],
)
def test_no_git_protocol_header_reaches_git(gate, value):
    """Protocol v0 only, whatever the client asks (see the v2 fetch test below)."""
    status, body = http(
        gate,
        "GET",
        "/app.git/info/refs?service=git-upload-pack",
        headers={"Git-Protocol": value},
    )
    assert status == 200
    assert b"version 2" not in body, body[:120]


def test_request_headers_do_not_become_cgi_variables(gate):
    """``Path-Info``, ``Query-String``, ``Git-Dir``... would be ``HTTP_*`` at most, and the
    gate does not pass headers through as a whole anyway."""
    headers = {
        "Path-Info": "/app.git/git-receive-pack",
        "Query-String": "service=git-receive-pack",
        "Git-Dir": "/",
        "Git-Config-Parameters": "'core.hooksPath'='/tmp'",
        "Git-Project-Root": "/",
        "Proxy": "http://127.0.0.1:9",
        "Remote-User": "root",
    }
    status, body = http(gate, "GET", "/app.git/info/refs?service=git-upload-pack", headers=headers)
    assert status == 200
    assert body.startswith(b"001e# service=git-upload-pack\n")


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Encoding": "gzip"}, b"this is not gzip"),
        ({"Content-Encoding": "deflate"}, b"x\x9c\x03\x00\x00\x00\x00\x01"),
        ({"Transfer-Encoding": "chunked"}, b"-5\r\nabc\r\n0\r\n\r\n"),
        ({"Transfer-Encoding": "chunked"}, b"zz\r\n0000\r\n0\r\n\r\n"),
        ({"Transfer-Encoding": "chunked"}, b"ffffffff\r\n0000"),
        ({"Content-Length": "999999"}, b"0000"),
    ],
)
def test_broken_bodies_change_nothing_and_the_gate_keeps_serving(gate, headers, body):

    work, _, _ = agent_with_topic(gate)
    before = refs(gate.upstream)
    host, port = gate.server.server_address[:2]
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        head += f"Content-Length: {len(body)}\r\n"
    request = (
        "POST /app.git/git-receive-pack HTTP/1.1\r\nHost: gate\r\n"
        "Content-Type: application/x-git-receive-pack-request\r\n"
        f"{head}\r\n"
    ).encode() + body
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)  # a short body ends here
        while s.recv(65536):
            pass
    assert refs(gate.upstream) == before
    new = commit(work, "after", "after\n", "after")
    git("push", "-q", "origin", "topic", cwd=work)
    assert refs(gate.upstream)["refs/heads/topic"] == new


# --- protected paths, more evasions -------------------------------------------------------


def sneak(gate: Gate, build) -> None:
    """``build(work)`` makes commits on a fresh branch; pushing it must be refused."""
    before = refs(gate.upstream)
    work = gate.clone()
    git("switch", "-q", "-c", "sneaky", cwd=work)
    build(work)
    r = push(work, "HEAD:refs/heads/sneaky")
    refused(gate, before, r, "protected_paths: .github/workflows/**")


def _rename_in(work: Path) -> None:
    commit(work, "src/ci.yml", "on: push\nrun: curl evil\n", "innocent file")
    git("mv", "src/ci.yml", ".github/workflows/ci2.yml", cwd=work)
    git("commit", "-q", "-m", "move it", cwd=work)


def _copy_in(work: Path) -> None:
    text = (work / ".github/workflows/ci.yml").read_text()
    commit(work, ".github/workflows/copy.yml", text, "an identical copy")


def _delete(work: Path) -> None:
    git("rm", "-q", ".github/workflows/ci.yml", cwd=work)
    git("commit", "-q", "-m", "no more ci", cwd=work)


def _mode(work: Path) -> None:
    (work / ".github/workflows/ci.yml").chmod(0o755)
    git("commit", "-q", "-am", "executable", cwd=work)


def _symlink(work: Path) -> None:
    os.symlink("/etc/passwd", work / ".github/workflows/link.yml")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "link", cwd=work)


def _gitlink_inside(work: Path) -> None:
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    git("update-index", "--add", "--cacheinfo", f"160000,{head},.github/workflows/sub", cwd=work)
    git("commit", "-q", "-m", "a submodule", cwd=work)


def _gitlink_over_dir(work: Path) -> None:
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    readme = git("rev-parse", "HEAD:README", cwd=work).stdout.strip()
    c = commit_tree(
        work,
        [("100644", readme, "README"), ("160000", head, ".github/workflows")],
        [head],
    )
    git("reset", "-q", "--hard", c, cwd=work)


def _orphan_merged(work: Path) -> None:
    """The evil file in a new root commit; the merge takes it without differing from
    that parent, so only the root commit shows it."""
    git("switch", "-q", "--orphan", "orphan", cwd=work)
    commit(work, ".github/workflows/evil.yml", "on: push\n", "root")
    git("switch", "-q", "sneaky", cwd=work)
    git("merge", "-q", "--allow-unrelated-histories", "--no-edit", "orphan", cwd=work)


def _octopus(work: Path) -> None:
    base = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    for name in ("o1", "o2"):
        git("switch", "-q", "-c", name, base, cwd=work)
        commit(work, f"{name}.txt", "x\n", name)
    git("switch", "-q", "-c", "o3", base, cwd=work)
    commit(work, ".github/workflows/ci.yml", "on: [push]\nrun: curl evil\n", "o3")
    git("switch", "-q", "sneaky", cwd=work)
    git("merge", "-q", "--no-edit", "o1", "o2", "o3", cwd=work)


def _non_utf8(work: Path) -> None:
    name = os.fsencode(str(work / ".github/workflows")) + b"/\xff\xfe.yml"
    Path(os.fsdecode(name)).write_text("on: push\n")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "binary name", cwd=work)


def _long_path(work: Path) -> None:
    deep = "/".join(["d" * 200] * 20)  # about 4,000 bytes, past PATH_MAX once joined
    ci = git("rev-parse", "HEAD:.github/workflows/ci.yml", cwd=work).stdout.strip()
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    c = commit_tree(work, [("100644", ci, f".github/workflows/{deep}/x.yml")], [head])
    git("reset", "-q", "--soft", c, cwd=work)


def _case_dir(work: Path) -> None:
    commit(work, ".GITHUB/WORKFLOWS/Evil.YML", "on: push\n", "shouting")


@pytest.mark.parametrize(
    "build",
    [
        _rename_in,
        _copy_in,
        _delete,
        _mode,
        _symlink,
        _gitlink_inside,
        _gitlink_over_dir,
        _orphan_merged,
        _octopus,
        _non_utf8,
        _long_path,
        _case_dir,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_protected_path_evasions_are_seen(gate, build):
    sneak(gate, build)


def test_gitmodules_and_attributes_in_a_push_make_the_gate_run_nothing(gate, tmp_path):
    """The mirror is bare and only read with plumbing: a pushed ``.gitmodules`` with an
    ``ext::`` URL, filters and hooks in the tree are data, not instructions."""
    marker = tmp_path / "ran"
    work = gate.clone()
    git("switch", "-q", "-c", "data", cwd=work)
    (work / ".gitmodules").write_text(
        f'[submodule "x"]\n\tpath = x\n\turl = ext::sh -c touch% {marker}\n'
    )
    (work / ".gitattributes").write_text("* filter=evil diff=evil\n")
    (work / "hooks").mkdir()
    (work / "hooks" / "pre-receive").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (work / "config").write_text(f"[core]\n\thooksPath = hooks\n\tfsmonitor = touch {marker}\n")
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    git("update-index", "--add", "--cacheinfo", f"160000,{head},x", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "data", cwd=work)
    git("push", "-q", "--recurse-submodules=no", "origin", "data", cwd=work)
    commit(work, "more", "more\n", "more")  # a second push runs the gate's hook again
    git("push", "-q", "origin", "data", cwd=work)
    assert "refs/heads/data" in refs(gate.upstream)
    assert not marker.exists()


# --- reading through upload-pack ----------------------------------------------------------


def test_a_v0_fetch_cannot_want_an_object_no_ref_points_to(gate):
    """A commit a human pushed and then deleted upstream stays in the mirror's objects;
    protocol v0 upload-pack refuses a want of it. (Protocol v2 serves any object the
    mirror has, by design of git: see the next test.)"""
    secret = _deleted_upstream_commit(gate)
    body = pkt(f"want {secret} side-band-64k\n".encode()) + b"0000" + pkt(b"done\n")
    ctype = "application/x-git-upload-pack-request"
    _, out = http(gate, "POST", "/app.git/git-upload-pack", body, {"Content-Type": ctype})
    assert b"not our ref" in out, out[:200]


def test_a_v2_fetch_is_served_only_what_the_upstream_once_listed(gate):
    """Protocol v2 upload-pack checks no want against the refs. The mirror only ever
    holds what the upstream's branches and tags listed at some fetch (which the agent
    saw then) and pushes the upstream accepted: a refused push leaves nothing behind."""
    work = gate.clone()
    git("switch", "-q", "-c", "refused", cwd=work)
    evil = commit(work, ".github/workflows/evil.yml", "on: push\n", "evil")
    assert push(work, "refused").returncode != 0
    body = (
        pkt(b"command=fetch\n")
        + pkt(b"object-format=sha1\n")
        + b"0001"
        + pkt(f"want {evil}\n".encode())
        + pkt(b"done\n")
        + b"0000"
    )
    headers = {"Content-Type": "application/x-git-upload-pack-request", "Git-Protocol": "version=2"}
    _, out = http(gate, "POST", "/app.git/git-upload-pack", body, headers)
    assert b"packfile" not in out, out[:200]
    mirror = gate.tmp / "state" / "mirrors" / "app.git"
    assert git("cat-file", "-e", evil, cwd=mirror, ok=False).returncode != 0


def test_a_v2_fetch_of_an_object_no_ref_points_to_gets_nothing(gate):
    """The gate speaks protocol v0 only, whatever Git-Protocol asks: v2's upload-pack would
    serve a commit deleted upstream that the mirror still holds."""
    secret = _deleted_upstream_commit(gate)
    body = (
        pkt(b"command=fetch\n")
        + pkt(b"object-format=sha1\n")
        + b"0001"
        + pkt(f"want {secret}\n".encode())
        + pkt(b"done\n")
        + b"0000"
    )
    headers = {"Content-Type": "application/x-git-upload-pack-request", "Git-Protocol": "version=2"}
    _, out = http(gate, "POST", "/app.git/git-upload-pack", body, headers)
    assert b"s3cret" not in out and b"PACK" not in out, out[:200]
    # An ordinary client still clones and fetches, over v0.
    work = gate.clone()
    assert git("-c", "protocol.version=2", "fetch", "-q", "origin", cwd=work).returncode == 0


def _deleted_upstream_commit(gate: Gate) -> str:
    human = gate.tmp / "human"
    git("clone", "-q", str(gate.upstream), str(human))
    git("switch", "-q", "-c", "oops", cwd=human)
    secret = commit(human, "secret.txt", "s3cret\n", "oops")
    git("push", "-q", "origin", "oops", cwd=human)
    http(gate, "GET", "/app.git/info/refs?service=git-upload-pack")  # the mirror fetches it
    git("push", "-q", "origin", ":oops", cwd=human)
    http(gate, "GET", "/app.git/info/refs?service=git-upload-pack")  # ...and prunes the ref
    return secret


def test_a_malformed_tree_is_refused_before_the_rules_run(gate):
    """receive.fsckObjects: a tree with two entries of one name (which some checkouts
    read as either) never reaches the upstream."""
    before = refs(gate.upstream)
    work = gate.clone()
    blob = git("hash-object", "-w", "--stdin", cwd=work, input_text="x\n").stdout.strip()
    tree = git(
        "mktree",
        "--missing",
        cwd=work,
        input_text=f"100644 blob {blob}\tsame\n100644 blob {blob}\tsame\n",
    ).stdout.strip()
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    c = git("commit-tree", tree, "-p", head, "-m", "dup", cwd=work).stdout.strip()
    r = git("push", "origin", f"{c}:refs/heads/dup", cwd=work, ok=False)
    assert r.returncode != 0 and "duplicateEntries" in r.stderr, r.stderr
    assert refs(gate.upstream) == before
