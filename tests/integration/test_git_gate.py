"""The git gate end to end: real git in the agent, the real gate in the sidecar bundle,
real git over real SSH to an upstream container (sshd + git). The agent holds no key,
uses its ordinary upstream URL, and reaches the upstream only through the gate."""

from __future__ import annotations

import json
import uuid

import pytest
from fake_internet import BottleEnv, launched_bottle
from git_server import GIT_HOST, UPSTREAM, running_git_upstream

pytestmark = pytest.mark.docker

ID = "GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@x.test GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@x.test"


@pytest.fixture(scope="module")
def git_upstream(docker_client, base_image, upstream, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("git-upstream")
    with running_git_upstream(docker_client, base_image, upstream.network, tmp) as server:
        yield server


@pytest.fixture(scope="module")
def gate_env(git_upstream, upstream, base_image, tmp_path_factory) -> BottleEnv:
    _, ip, key = git_upstream
    env = BottleEnv(tmp_path_factory.mktemp("bb-git-home"), upstream, base_image)
    with (env.home / "manifest.yaml").open("a") as f:
        f.write(
            "  gitb:\n"
            "    git:\n"
            "      repos:\n"
            "        - name: app\n"
            f"          upstream: {UPSTREAM}\n"
            f"          identity: {key}\n"
            "          protected_branches: [main]\n"
            "          protected_paths: ['.github/workflows/**']\n"
        )
    (env.home / "agents" / "coder.md").write_text("---\nbottle: gitb\nprovider: shell\n---\n")
    env.env["BOT_BOTTLE_DOCKER_EXTRA_HOSTS"] += f",{GIT_HOST}={ip}"
    return env


@pytest.fixture(scope="module")
def bottle(gate_env, docker_client):
    with launched_bottle(gate_env, docker_client, agent="coder") as b:
        yield b


def sh(bottle, script: str) -> tuple[int, str]:
    r = bottle.agent.exec_run(["sh", "-c", f"export {ID}; cd /workspace && {script}"])
    return r.exit_code, r.output.decode(errors="replace")


def upstream_ref(git_upstream, ref: str) -> str:
    container, _, _ = git_upstream
    r = container.exec_run(
        ["git", "-C", "/srv/git/app.git", "rev-parse", "-q", "--verify", ref], user="git"
    )
    return r.output.decode().strip() if r.exit_code == 0 else ""


@pytest.fixture(scope="module")
def cloned(bottle):
    code, out = sh(bottle, f"git clone -q {UPSTREAM} app && cat app/README")
    assert code == 0 and "hello" in out, out
    return bottle


def test_clone_by_the_upstream_url_goes_through_the_gate(cloned):
    code, out = sh(cloned, "git -C app remote get-url origin && git -C app log --oneline")
    assert code == 0 and "first" in out, out
    code, out = sh(cloned, f"git ls-remote --get-url {UPSTREAM}")
    assert out.strip() == "http://git-gate/app.git", out


def test_a_feature_branch_arrives_upstream(cloned, git_upstream, gate_env):
    m = uuid.uuid4().hex[:8]
    code, out = sh(
        cloned,
        f"cd app && git switch -q -c feature-{m} && echo {m} > f.txt && git add f.txt"
        f" && git commit -q -m {m} && git push -q origin feature-{m} 2>&1 && git rev-parse HEAD",
    )
    assert code == 0, out
    assert upstream_ref(git_upstream, f"refs/heads/feature-{m}") == out.strip().splitlines()[-1]
    log = gate_env.home / "logs" / cloned.slug / "git-gate.jsonl"
    rows = [line for line in log.read_text().splitlines() if f"feature-{m}" in line]
    assert rows and '"verdict": "allow"' in rows[-1], rows


FORCE = (
    "git switch -q -c rw-{m} origin/main && echo x > x && git add x && git commit -q -m x"
    " && git push -q origin rw-{m} && git reset -q --hard HEAD~1 && echo y > y"
    " && git add y && git commit -q -m y && git push --force origin rw-{m}"
)
PATHS = (
    "git switch -q -c ci-{m} origin/main && echo evil >> .github/workflows/ci.yml"
    " && git commit -q -am ci && git push origin ci-{m}"
)


@pytest.mark.parametrize(
    ("script", "ref", "message"),
    [
        (
            "echo z > z && git add z && git commit -q -m z && git push origin HEAD:main",
            "main",
            "the branch is protected",
        ),
        (FORCE, "rw-{m}", "not a fast-forward"),
        (PATHS, "ci-{m}", "protected_paths: .github/workflows/**"),
    ],
    ids=["protected-branch", "force-push", "protected-path"],
)
def test_refused_pushes_say_why_and_change_nothing_upstream(
    cloned, git_upstream, script, ref, message
):
    m = uuid.uuid4().hex[:8]
    code, out = sh(cloned, "cd app && git switch -q main && " + script.format(m=m) + " 2>&1")
    assert code != 0, out
    assert "remote: bot-bottle git-gate: refused" in out and message in out, out
    head = sh(cloned, "cd app && git rev-parse HEAD")[1].strip()
    assert upstream_ref(git_upstream, ref.format(m=m)) != head  # the refused commit is not there


def test_the_upstream_is_reachable_only_through_the_gate(cloned):
    # Spellings the agent's config does not rewrite go straight at the upstream: no way.
    for script in (
        f"ssh -o BatchMode=yes -o ConnectTimeout=5 git@{GIT_HOST} true",
        f"git ls-remote git@{GIT_HOST}:/srv/git/app.git",
        f"git -c url.x.insteadOf=y ls-remote ssh://git@{GIT_HOST}:22/srv/git/app.git",
    ):
        code, out = sh(cloned, f"GIT_SSH_COMMAND='ssh -o ConnectTimeout=5' {script} 2>&1")
        assert code != 0, (script, out)
    code, out = sh(cloned, f"curl -s -o /dev/null -w '%{{http_code}}' https://{GIT_HOST}/")
    assert out.strip() == "403", out


def test_the_key_is_nowhere_in_the_agent(cloned, git_upstream):
    _, _, key = git_upstream
    body = [line for line in key.read_text().splitlines() if "PRIVATE KEY" not in line][1]
    for probe in ("env", f"grep -rlF '{body}' / 2>/dev/null || true", "cat /proc/[0-9]*/cmdline"):
        r = cloned.agent.exec_run(["sh", "-c", probe], user="0")
        assert body not in r.output.decode(errors="replace"), probe


def test_a_provisioned_deploy_key_serves_the_bottle_and_is_revoked_at_the_end(
    git_upstream, upstream, base_image, docker_client, tmp_path
):
    """The key comes from the git host plugin at launch (a loopback Gitea fake, which
    here also authorises it on the upstream, as Gitea would), works for the gate's
    clone and push over SSH, is nowhere in the agent, and is revoked when the bottle
    stops."""
    from bot_bottle_testing.fake_gitea import FakeGitea

    container, ip, _ = git_upstream
    token = "gitea-" + uuid.uuid4().hex
    with FakeGitea(token=token, repos={"acme/app"}) as gitea:
        env = BottleEnv(tmp_path / "home", upstream, base_image)
        with (env.home / "manifest.yaml").open("a") as f:
            f.write(
                "  gitk:\n"
                "    git:\n"
                "      repos:\n"
                "        - name: app\n"
                f"          upstream: {UPSTREAM}\n"
                "          provisioned_key:\n"
                "            plugin: gitea\n"
                f"            api_url: {gitea.url}/api/v1\n"
                "            repo: acme/app\n"
                "            token_ref: GITEA_TOKEN\n"
                "            read_only: false\n"
            )
        (env.home / "agents" / "keyed.md").write_text("---\nbottle: gitk\nprovider: shell\n---\n")
        env.env["BOT_BOTTLE_DOCKER_EXTRA_HOSTS"] += f",{GIT_HOST}={ip}"
        env.env["GITEA_TOKEN"] = token
        m = uuid.uuid4().hex[:8]
        with launched_bottle(env, docker_client, agent="keyed") as b:
            ((key_id, key),) = gitea.keys_of("acme/app").items()
            assert key["title"] == f"bot-bottle {b.slug}"
            add = container.exec_run(
                ["sh", "-c", f"echo '{key['key']}' >> /srv/git/.ssh/authorized_keys"], user="git"
            )
            assert add.exit_code == 0, add.output
            code, out = sh(
                b,
                f"git clone -q {UPSTREAM} app && cd app && git switch -q -c keyed-{m}"
                f" && echo {m} > k && git add k && git commit -q -m {m}"
                f" && git push -q origin keyed-{m} 2>&1 && git rev-parse HEAD",
            )
            assert code == 0, out
            assert upstream_ref(git_upstream, f"refs/heads/keyed-{m}") == out.split()[-1]
            # The private key: in the gate's own state, never in the agent.
            held = b.sidecars.exec_run(["cat", "/var/lib/bot-bottle/git-gate/keys/app"])
            body = held.output.decode().splitlines()[1]
            for probe in (
                "env",
                f"grep -rlF '{body}' / 2>/dev/null || true",
                "cat /proc/[0-9]*/cmdline",
            ):
                r = b.agent.exec_run(["sh", "-c", probe], user="0")
                assert body not in r.output.decode(errors="replace"), probe
        assert gitea.keys_of("acme/app") == {}, "the key outlived the bottle"
        assert [r.method for r in gitea.requests] == ["POST", "DELETE"]
        assert gitea.requests[1].path.endswith(f"/keys/{key_id}")


PROBE = """
import json, socket, sys
out = {}
for target in sys.argv[1:]:
    addr, port = target.rsplit(":", 1)
    try:
        info = socket.getaddrinfo(addr, int(port), proto=socket.IPPROTO_TCP)[0]
        s = socket.socket(info[0], socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect(info[4])
        s.sendall(b"GET /app.git/info/refs?service=git-upload-pack HTTP/1.0\\r\\n\\r\\n")
        out[target] = "answered: " + s.recv(200).decode(errors="replace")
    except OSError as exc:
        out[target] = type(exc).__name__
print(json.dumps(out))
"""


def test_no_one_outside_the_bottle_reaches_the_gate_or_supervise(
    bottle, upstream, docker_client, base_image
):
    """The gate (80) and supervise (8081) listen on the bottle's internal address only: a
    container on the bundle's outbound network gets nothing on any of its addresses."""
    from test_egress_listen import sidecar_addresses

    addrs = [
        f"{a}%eth0" if ":" in a and a.startswith("fe80") else a
        for _, a in sidecar_addresses(bottle.sidecars)
    ]
    targets = [f"{a}:{port}" for a in addrs for port in (80, 8081)]
    out = docker_client.containers.run(
        base_image,
        ["python3", "-c", PROBE, *targets],
        network=upstream.network,
        labels={"bot-bottle.test": "1"},
        remove=True,
    )
    results = json.loads(out)
    assert set(results) == set(targets)
    answered = {t: r for t, r in results.items() if r.startswith("answered")}
    assert not answered, answered
    # The agent, on the internal network, is answered by the gate.
    _, text = sh(
        bottle,
        "curl -s -o /dev/null -w '%{http_code}'"
        " 'http://git-gate/app.git/info/refs?service=git-upload-pack'",
    )
    assert text.strip() == "200", text
