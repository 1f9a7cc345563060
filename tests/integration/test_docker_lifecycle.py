"""A real bottle on Docker, end to end through the CLI: start, settle, resume, cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from fake_internet import NOTHING_LEFT, BottleEnv, bottle_resources, slug_from

pytestmark = pytest.mark.docker
LABEL_SLUG = "bot-bottle.slug"


def test_exit_zero_tears_down_and_deletes_state(bottle_env, docker_client):
    r = bottle_env.run(
        "start", "probe", "--yes", input='echo "inside as $(id -u) $BOT_BOTTLE_SLUG"\nexit 0\n'
    )
    assert r.returncode == 0, r.stderr
    slug = slug_from(r.stderr)
    assert f"inside as 1000 {slug}" in r.stdout  # an unprivileged user, in its own bottle
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT
    assert not (bottle_env.home / "state" / slug).exists()


def test_nonzero_exit_preserves_and_resume_brings_the_work_back(bottle_env, docker_client):
    script = "echo precious > /workspace/note.txt\necho 'make test' >> ~/.bash_history\nexit 3\n"
    r = bottle_env.run("start", "probe", "--yes", input=script)
    assert r.returncode == 3, r.stderr
    slug = slug_from(r.stderr)
    assert f"bot-bottle resume {slug}" in r.stderr
    state = bottle_env.home / "state" / slug
    assert (state / ".preserve").exists() and (state / "metadata.json").exists()
    left = bottle_resources(docker_client, slug)
    assert left["containers"] == [] and left["networks"] == []
    assert left["volumes"] == [f"bb-{slug}-workspace"]

    assert (state / "transcript.tar").is_file()
    r = bottle_env.run(
        "resume", slug, "--yes", input="cat /workspace/note.txt ~/.bash_history\nexit 0\n"
    )
    assert r.returncode == 0, r.stderr
    assert "precious" in r.stdout  # the workspace volume was kept
    assert "make test" in r.stdout  # the transcript was snapshotted and restored
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT
    assert not state.exists()


def test_resume_of_an_unknown_slug(bottle_env):
    r = bottle_env.run("resume", "probe-zzzzz", "--yes")
    assert r.returncode == 1
    assert "Unknown slug 'probe-zzzzz'" in r.stderr and "Traceback" not in r.stderr


def test_list_active_shows_the_running_bottle(bottle_env, launched):
    r = bottle_env.run("list", "active", "--json")
    assert r.returncode == 0, r.stderr
    mine = [b for b in json.loads(r.stdout) if b["slug"] == launched.slug]
    assert mine == [
        {
            "backend": "docker",
            "slug": launched.slug,
            "agent": "probe",
            "label": None,
            "services": ["sidecars"],
            "started_at": mine[0]["started_at"],
            "status": "attached",
        }
    ]
    r = bottle_env.run("list", "active")
    rows = [line.split() for line in r.stdout.splitlines()]
    assert rows[0] == ["BACKEND", "SLUG", "AGENT", "STATUS", "SERVICES", "STARTED"]
    # Launched by this test process, which still runs: attached.
    assert ["docker", launched.slug, "probe", "attached", "sidecars"] in [row[:5] for row in rows]


def test_cleanup_reaps_leftovers_and_orphans_but_not_live_or_preserved(
    bottle_env, launched, docker_client
):
    ghost = "ghost-aaaaa"
    labels = {LABEL_SLUG: ghost, "bot-bottle.backend": "docker", "bot-bottle.role": "test"}
    net = docker_client.networks.create(f"bb-{ghost}-int", internal=True, labels=labels)
    vol = docker_client.volumes.create(f"bb-{ghost}-workspace", labels=labels)
    state = bottle_env.home / "state"
    (state / "orphan-bbbbb").mkdir(parents=True)
    (state / "kept-ccccc").mkdir()
    (state / "kept-ccccc" / ".preserve").touch()
    try:
        r = bottle_env.run("cleanup", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert f"network bb-{ghost}-int" in r.stdout and f"volume bb-{ghost}-workspace" in r.stdout
        assert "state dir orphan-bbbbb" in r.stdout
        assert "kept-ccccc" not in r.stdout and launched.slug not in r.stdout
        assert (state / "orphan-bbbbb").exists()
        docker_client.networks.get(net.id)

        r = bottle_env.run("cleanup", "--yes")
        assert r.returncode == 0, r.stderr + r.stdout
        assert bottle_resources(docker_client, ghost) == NOTHING_LEFT
        assert not (state / "orphan-bbbbb").exists()
        assert (state / "kept-ccccc").exists()
        launched.agent.reload()
        assert launched.agent.status == "running"
    finally:
        for fn in (net.remove, lambda: vol.remove(force=True)):
            with contextlib.suppress(Exception):
                fn()


def test_cleanup_in_another_home_keeps_this_homes_work(
    bottle_env, docker_client, base_image, tmp_path
):
    """Two homes on one engine (two users, or a test's private home): a cleanup in
    one never takes the workspace the other keeps for resume."""
    r = bottle_env.run("start", "probe", "--yes", input="echo precious > /workspace/n\nexit 3\n")
    assert r.returncode == 3, r.stderr
    slug = slug_from(r.stderr)
    volume = f"bb-{slug}-workspace"
    other = BottleEnv(tmp_path / "other-home", bottle_env.upstream, base_image)
    try:
        r = other.run("cleanup", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert volume not in r.stdout
        r = other.run("cleanup", "--yes")
        assert r.returncode == 0, r.stderr + r.stdout
        assert bottle_resources(docker_client, slug)["volumes"] == [volume]
        # Asked to, the other home does offer it.
        r = other.run("cleanup", "--all-homes", "--dry-run")
        assert f"volume {volume}" in r.stdout
        r = bottle_env.run("resume", slug, "--yes", input="cat /workspace/n\nexit 0\n")
        assert r.returncode == 0, r.stderr
        assert "precious" in r.stdout
    finally:
        if (bottle_env.home / "state" / slug).exists():
            bottle_env.run("stop", slug)


def test_failed_build_leaves_nothing_behind(bottle_env, docker_client, tmp_path):
    df = tmp_path / "broken" / "Dockerfile"
    df.parent.mkdir()
    df.write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo no-such-luck && false\n")
    manifest = bottle_env.home / "manifest.yaml"
    original = manifest.read_text()
    manifest.write_text(original + f"  broken:\n    dockerfile: {df}\n")
    agent = bottle_env.home / "agents" / "broken.md"
    agent.write_text("---\nbottle: broken\nprovider: shell\n---\n")
    try:
        r = bottle_env.run("start", "broken", "--yes")
    finally:
        manifest.write_text(original)
        agent.unlink()
    assert r.returncode == 1
    assert "Building the image" in r.stderr and "failed" in r.stderr
    assert "Traceback" not in r.stderr
    slug = slug_from(r.stderr)
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT
    assert not (bottle_env.home / "state" / slug).exists()


def test_two_starts_of_one_agent_get_two_bottles(bottle_env):
    env_run = [sys.executable, "-m", "bot_bottle_core", "start", "probe", "--yes"]

    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
    env.update(bottle_env.env)
    procs = [
        subprocess.Popen(
            env_run,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=bottle_env.home,
        )
        for _ in range(2)
    ]
    outs = [p.communicate('echo "me=$BOT_BOTTLE_SLUG"\nexit 0\n', timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    slugs = {re.search(r"me=(\S+)", o[0]).group(1) for o in outs}
    assert len(slugs) == 2


@pytest.mark.parametrize(
    ("script", "code"),
    [("exit 130\n", 130), ("kill -KILL $$\n", 137)],
    ids=["ctrl-c-status", "killed"],
)
def test_interrupted_or_killed_agents_are_preserved(bottle_env, docker_client, script, code):
    r = bottle_env.run("start", "probe", "--yes", input=script)
    assert r.returncode == code, r.stderr
    slug = slug_from(r.stderr)
    assert f"bot-bottle resume {slug}" in r.stderr
    assert (bottle_env.home / "state" / slug / ".preserve").exists()
    assert bottle_resources(docker_client, slug)["volumes"] == [f"bb-{slug}-workspace"]
    r = bottle_env.run("cleanup", "--yes")
    assert r.returncode == 0, r.stderr
    # Preserved: cleanup keeps its workspace and state; only an explicit stop ends it.
    assert bottle_resources(docker_client, slug)["volumes"] == [f"bb-{slug}-workspace"]
    r = bottle_env.run("stop", slug)
    assert r.returncode == 0, r.stderr
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT
    assert not (bottle_env.home / "state" / slug).exists()


def test_attach_and_stop_a_running_bottle(bottle_env, docker_client):
    from fake_internet import launched_bottle

    with launched_bottle(bottle_env, docker_client) as bottle:
        r = bottle_env.run("attach", bottle.slug, input="echo attached-$(hostname)\nexit 0\n")
        assert r.returncode == 0, r.stderr
        assert f"attached-{bottle.slug}" in r.stdout
        r = bottle_env.run("stop", bottle.slug)
        assert r.returncode == 0, r.stderr
        assert bottle_resources(docker_client, bottle.slug) == NOTHING_LEFT


def _probe_resources(client) -> set[str]:
    f = {"label": ["bot-bottle.agent=probe"]}
    return (
        {c.name for c in client.containers.list(all=True, filters=f)}
        | {n.name for n in client.networks.list(filters=f)}
        | {v.name for v in client.volumes.list(filters=f)}
    )


def test_sidecars_dying_at_start_roll_everything_back(bottle_env, docker_client, monkeypatch):
    from bot_bottle_docker import launch
    from fake_internet import launched_bottle

    from bot_bottle_core.errors import BotBottleError

    before = _probe_resources(docker_client)
    states = set((bottle_env.home / "state").iterdir())
    monkeypatch.setattr(launch, "SIDECARS", "egress,no-such-daemon")
    with (
        pytest.raises(BotBottleError, match="stopped while starting") as err,
        launched_bottle(bottle_env, docker_client),
    ):
        pass
    assert "no-such-daemon" in str(err.value)
    assert _probe_resources(docker_client) == before
    assert set((bottle_env.home / "state").iterdir()) == states


def test_copy_cwd_copies_the_project_but_not_its_secrets(bottle_env, tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('hi')\n")
    (project / ".env").write_text("API_KEY=do-not-copy\n")
    r = bottle_env.run(
        "start",
        "probe",
        "--yes",
        "--copy-cwd",
        input="find /workspace -type f | sort\ncat /workspace/src/main.py\n"
        "echo changed > /workspace/src/main.py\nexit 0\n",
        cwd=project,
    )
    assert r.returncode == 0, r.stderr
    assert "/workspace/src/main.py" in r.stdout and "print('hi')" in r.stdout
    assert ".env" not in r.stdout and "do-not-copy" not in r.stdout
    # A copy, not a mount: the host's files are untouched by the bottle.
    assert (project / "src" / "main.py").read_text() == "print('hi')\n"


def test_copy_cwd_never_follows_a_link_out_of_the_project(bottle_env, docker_client, tmp_path):
    value = secrets.token_hex(16)
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "credentials").write_text(f"aws_secret_access_key = {value}\n")
    (outside / "dir" / "id_rsa").write_text(f"{value}\n")
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('hi')\n")
    (project / "notes.txt").symlink_to(outside / "credentials")
    (project / "keys").symlink_to(outside / "dir")
    (project / "main.py").symlink_to("src/main.py")
    os.mkfifo(project / "pipe")  # opening it for reading would hang the launch
    script = (
        f"grep -R -l {value} /workspace; echo grep-exit=$?\n"
        "echo arrived: $(cd /workspace && find . -mindepth 1 | sort)\n"
        "test -L /workspace/main.py && echo link-to=$(readlink /workspace/main.py)\n"
        "cat /workspace/main.py\n"
        "exit 0\n"
    )
    state = bottle_env.home / "state"
    before = set(state.iterdir()) if state.exists() else set()
    try:
        # A launch stuck on the FIFO would time out here.
        r = bottle_env.run(
            "start", "probe", "--yes", "--copy-cwd", input=script, cwd=project, timeout=600
        )
        assert r.returncode == 0, r.stderr
        slug = slug_from(r.stderr)
        assert "grep-exit=1" in r.stdout  # grep found the value in no file
        assert "arrived: ./main.py ./src ./src/main.py\n" in r.stdout  # nothing else did
        assert "link-to=src/main.py" in r.stdout and "print('hi')" in r.stdout
        for line in (
            "skipped notes.txt: a link to outside the directory",
            "skipped keys: a link to outside the directory",
            "skipped pipe: a FIFO, not a regular file",
        ):
            assert line in r.stderr
        assert bottle_resources(docker_client, slug) == NOTHING_LEFT
    finally:
        # Exit 0 removes the bottle; a failed or stuck run may not have.
        for left in (set(state.iterdir()) if state.exists() else set()) - before:
            if any(bottle_resources(docker_client, left.name).values()):
                bottle_env.run("stop", left.name)
