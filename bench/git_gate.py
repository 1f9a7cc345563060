"""Clone and push through the git gate vs straight to the upstream, in one run.

A real upstream (sshd + git in a container, tests/integration/git_server.py) holds a
repository of 1,000 commits. From the host, ``git clone`` over SSH straight to it;
from inside a bottle, the agent's ordinary ``git clone`` of the upstream URL, which
its git config sends through the gate (smart HTTP to the gate, the gate's mirror
brought up to the upstream over SSH first). The first clone through the gate fills
its mirror (cold); later ones only check the upstream for news (warm). Then a push
of one commit each way, the gate's ref checks included.

Times inside the bottle are taken inside it, so ``docker exec`` is not counted.

    uv run python bench/git_gate.py [--runs 5] [--commits 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, os.path.dirname(__file__))
from _common import BASE_IMAGE  # noqa: E402
from fake_internet import BottleEnv, launched_bottle, running_upstream  # noqa: E402
from git_server import GIT_HOST, running_git_upstream  # noqa: E402

BIG = f"ssh://git@{GIT_HOST}/srv/git/big.git"
ID = "GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@x.test GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@x.test"


def fast_import(commits: int) -> bytes:
    """A stream of ``commits`` commits on main, each changing one of 50 files."""
    out = []
    for i in range(1, commits + 1):
        data = f"line {i}\n" * 20
        msg = f"commit {i}"
        out.append(
            f"commit refs/heads/main\nmark :{i}\n"
            f"committer b <b@x.test> {1_700_000_000 + i} +0000\n"
            f"data {len(msg)}\n{msg}\n"
            + (f"from :{i - 1}\n" if i > 1 else "")
            + f"M 644 inline src/file{i % 50}.txt\ndata {len(data)}\n{data}\n"
        )
    return "".join(out).encode()


def seed(container, commits: int) -> None:
    sock = container.exec_run(
        ["sh", "-c", "git init -q --bare -b main /srv/git/big.git"
         " && git -C /srv/git/big.git fast-import --quiet"],
        user="git", stdin=True, socket=True,
    )  # fmt: skip
    raw = sock.output._sock
    raw.sendall(fast_import(commits))
    raw.shutdown(1)
    while raw.recv(65536):
        pass
    check = container.exec_run(["git", "-C", "/srv/git/big.git", "rev-list", "--count", "main"],
                               user="git")  # fmt: skip
    assert check.output.decode().strip() == str(commits), check.output


def in_bottle(bottle, script: str) -> float:
    """Seconds ``script`` took inside the bottle, timed there."""
    r = bottle.agent.exec_run(
        ["sh", "-c", f"export {ID}; cd /workspace; s=$(date +%s.%N); {script} >/dev/null 2>&1"
         " || exit 9; e=$(date +%s.%N); echo \"$s $e\""]
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    s, e = map(float, r.output.decode().split())
    return e - s


def on_host(argv: list[str], key: Path, cwd: Path) -> float:
    ssh = (
        f"ssh -i {key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        " -o LogLevel=ERROR"
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(GIT_SSH_COMMAND=ssh, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x.test",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x.test")  # fmt: skip
    t = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} s (min {min(xs):.3f}, max {max(xs):.3f}, n={len(xs)})"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--commits", type=int, default=1000)
    args = ap.parse_args()
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix="bench-git-") as tmp_s:
        tmp = Path(tmp_s)
        (tmp / "up").mkdir()
        (tmp / "git").mkdir()
        with (
            running_upstream(client, BASE_IMAGE, tmp / "up") as upstream,
            running_git_upstream(client, BASE_IMAGE, upstream.network, tmp / "git") as (
                server,
                ip,
                key,
            ),
        ):
            seed(server, args.commits)
            direct = BIG.replace(GIT_HOST, ip)
            env = BottleEnv(tmp / "home", upstream, BASE_IMAGE)
            with (env.home / "manifest.yaml").open("a") as f:
                f.write(
                    "  gitb:\n    git:\n      repos:\n        - name: big\n"
                    f"          upstream: {BIG}\n          identity: {key}\n"
                    "          protected_branches: [main]\n"
                    "          protected_paths: ['.github/workflows/**']\n"
                )
            (env.home / "agents" / "g.md").write_text("---\nbottle: gitb\nprovider: shell\n---\n")
            env.env["BOT_BOTTLE_DOCKER_EXTRA_HOSTS"] += f",{GIT_HOST}={ip}"
            with launched_bottle(env, client, agent="g") as bottle:
                cold = in_bottle(bottle, f"git clone -q {BIG} c0")
                gate, host = [], []
                for n in range(args.runs):
                    host.append(on_host(["git", "clone", "-q", direct, f"h{n}"], key, tmp))
                    gate.append(in_bottle(bottle, f"git clone -q {BIG} c{n + 1}"))
                pg, ph = [], []
                for n in range(args.runs):
                    commit = (
                        f"git switch -q -c b{n} && echo {n} > n && git add n && git commit -qm {n}"
                    )
                    in_bottle(bottle, f"cd c1 && {commit}")  # not timed: only the push is
                    pg.append(in_bottle(bottle, f"cd c1 && git push -q origin b{n}"))
                    on_host(["sh", "-c", commit.replace(f"b{n}", f"h{n}")], key, tmp / "h0")
                    ph.append(on_host(["git", "push", "-q", "origin", f"h{n}"], key, tmp / "h0"))
    print(
        f"git gate, a repository of {args.commits} commits; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"clone straight over SSH (host):        {med(host)}")
    print(f"clone through the gate, cold mirror:   {cold:.3f} s")
    print(f"clone through the gate, warm mirror:   {med(gate)}")
    ratio = statistics.median(gate) / statistics.median(host)
    print(f"  ratio gate/straight (medians):       {ratio:.2f}")
    print(f"push of one commit straight (host):    {med(ph)}")
    print(f"push of one commit through the gate:   {med(pg)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
