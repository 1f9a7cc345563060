"""A start killed midway on real Docker: shown as incomplete, refused by attach, taken by cleanup.

Each start is held at one launch phase by the CLI's test-only pause hook
(``bot_bottle_core.pause_hook``), then its whole process group is killed with
SIGKILL, so nothing of the CLI gets to clean up. One healthy bottle per module
runs beside them and must come through every cleanup untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import docker
import pytest
from agent_probes import curl
from fake_internet import NOTHING_LEFT, bottle_resources, slug_from, wait_for

from bot_bottle_core.pause_hook import PAUSE_AT, PAUSE_FILE

pytestmark = pytest.mark.docker

# What exists of the bottle when the launch is held at each phase (progress
# lines of bot_bottle_docker.launch). The tests' bottles use an existing
# outbound network, so a bottle has one network of its own.
LEFT_AT = {
    "creating networks": ([], False),
    "starting sidecars": ([], True),
    "starting agent": (["sidecars"], True),
    "provisioning": (["agent", "sidecars"], True),
    "ready": (["agent", "sidecars"], True),
}
PAUSE_TIMEOUT_S = 600  # a cold run builds the images first


class PausedLaunch:
    """``bot-bottle ARGS`` running in its own process group, to be held at ``phase``."""

    def __init__(self, bottle_env, args: list[str], phase: str, tmp: Path) -> None:
        self.paused = tmp / "paused"
        self.err = tmp / "start.stderr"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
        env.update(bottle_env.env, **{PAUSE_AT: phase, PAUSE_FILE: str(self.paused)})
        with self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot_bottle_core", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                cwd=bottle_env.home,
                start_new_session=True,
            )

    def wait_paused(self, phase: str) -> str:
        """Wait for the pause file (the hook's signal); the bottle's slug."""
        wait_for(
            lambda: self.paused.exists() or self.proc.poll() is not None,
            f"the start to reach {phase!r}",
            timeout=PAUSE_TIMEOUT_S,
        )
        assert self.paused.exists(), (
            f"start exited with {self.proc.returncode} before {phase!r}:\n{self.err.read_text()}"
        )
        return slug_from(self.err.read_text())

    def kill(self) -> None:
        """SIGKILL the CLI and everything it started, and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def remove_everything_of(client, slug: str, state: Path) -> None:
    """Safety net when a test fails midway: only what carries this slug."""
    f = {"label": [f"bot-bottle.slug={slug}"]}
    with contextlib.suppress(docker.errors.APIError):
        for c in client.containers.list(all=True, filters=f):
            c.remove(force=True)
        for n in client.networks.list(filters=f):
            n.remove()
        for v in client.volumes.list(filters=f):
            v.remove(force=True)
    shutil.rmtree(state, ignore_errors=True)


@contextlib.contextmanager
def paused_start(bottle_env, docker_client, phase: str, tmp: Path):
    """A new bottle's start held at ``phase``; killed, and all of it removed, afterwards."""
    start = PausedLaunch(bottle_env, ["start", "probe", "--yes"], phase, tmp)
    slug = None
    try:
        slug = start.wait_paused(phase)
        yield start, slug
    finally:
        start.kill()
        if slug is not None:
            remove_everything_of(docker_client, slug, bottle_env.home / "state" / slug)


def offered(cleanup_out: str, slug: str) -> set[str]:
    """The items of a cleanup plan that belong to ``slug``, as ``kind name``."""
    items = {line.strip() for line in cleanup_out.splitlines() if line.startswith("  [")}
    return {item.split("] ", 1)[1] for item in items if slug in item}


def expected_offer(left: dict[str, list[str]], slug: str) -> set[str]:
    kinds = {"containers": "container", "networks": "network", "volumes": "volume"}
    return {f"{kinds[k]} {name}" for k, names in left.items() for name in names} | {
        f"state dir {slug}"
    }


def statuses(bottle_env) -> dict[str, str | None]:
    r = bottle_env.run("list", "active", "--json")
    assert r.returncode == 0, r.stderr
    return {b["slug"]: b["status"] for b in json.loads(r.stdout)}


@pytest.mark.parametrize("phase", list(LEFT_AT))
def test_a_start_killed_midway_is_incomplete_and_cleanup_removes_it(
    bottle_env, launched, docker_client, tmp_path, phase
):
    containers, has_network = LEFT_AT[phase]
    state = bottle_env.home / "state"
    with paused_start(bottle_env, docker_client, phase, tmp_path) as (start, slug):
        start.kill()
        left = bottle_resources(docker_client, slug)
        assert left["containers"] == [f"bb-{slug}-{role}" for role in containers]
        assert bool(left["networks"]) == has_network
        assert (state / slug).is_dir()

        listed = statuses(bottle_env)
        # Docker lists a bottle once its agent container exists.
        assert listed.get(slug) == ("incomplete" if "agent" in containers else None)
        assert listed[launched.slug] == "attached"

        r = bottle_env.run("attach", slug)
        assert r.returncode != 0
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "never finished starting" in r.stderr and "`bot-bottle cleanup`" in r.stderr

        r = bottle_env.run("cleanup", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert offered(r.stdout, slug) == expected_offer(left, slug)
        assert launched.slug not in r.stdout

        r = bottle_env.run("cleanup", "--yes")
        # Not the exit status: other test runs on this engine may be tearing down
        # bottles of their own that this cleanup also tries to remove.
        assert not [line for line in r.stderr.splitlines() if "failed" in line and slug in line]
        assert bottle_resources(docker_client, slug) == NOTHING_LEFT
        assert not (state / slug).exists()

    launched.agent.reload()
    assert launched.agent.status == "running"
    assert (state / launched.slug).is_dir()
    assert curl(launched.agent, "https://other.example.test/still-works").status == 200


def test_cleanup_leaves_a_start_under_way_alone(bottle_env, launched, docker_client, tmp_path):
    # Sidecars up, no agent container yet: the backend does not list it as running.
    with paused_start(bottle_env, docker_client, "starting agent", tmp_path) as (_, slug):
        left = bottle_resources(docker_client, slug)
        assert left["containers"] == [f"bb-{slug}-sidecars"]
        assert slug not in statuses(bottle_env)

        r = bottle_env.run("cleanup", "--dry-run")
        assert r.returncode == 0, r.stderr
        assert slug not in r.stdout and launched.slug not in r.stdout

        r = bottle_env.run("attach", slug)
        assert r.returncode != 0
        assert f"The bottle {slug} is still starting" in r.stderr
        assert bottle_resources(docker_client, slug) == left


def test_a_resume_killed_midway_is_resumed_again(bottle_env, docker_client, tmp_path):
    r = bottle_env.run("start", "probe", "--yes", input="echo kept > /workspace/note\nexit 3\n")
    assert r.returncode == 3, r.stderr
    slug = slug_from(r.stderr)
    state = bottle_env.home / "state" / slug
    try:
        resume = PausedLaunch(bottle_env, ["resume", slug, "--yes"], "provisioning", tmp_path)
        try:
            resume.wait_paused("provisioning")
        finally:
            resume.kill()
        assert statuses(bottle_env)[slug] == "incomplete"
        r = bottle_env.run("attach", slug)
        assert r.returncode != 0
        assert f"`bot-bottle resume {slug}` starts it again" in r.stderr

        # Cleanup keeps a preserved bottle's workspace and state, interrupted or not.
        r = bottle_env.run("cleanup", "--dry-run")
        assert offered(r.stdout, slug) == {
            f"container bb-{slug}-agent",
            f"container bb-{slug}-sidecars",
            f"network bb-{slug}-int",
        }

        r = bottle_env.run("resume", slug, "--yes", input="cat /workspace/note\nexit 0\n")
        assert r.returncode == 0, r.stderr
        assert "kept" in r.stdout
        assert bottle_resources(docker_client, slug) == NOTHING_LEFT
        assert not state.exists()
    finally:
        remove_everything_of(docker_client, slug, state)
