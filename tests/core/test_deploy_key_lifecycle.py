"""A provisioned deploy key lives exactly as long as the bottle's containers: minted at
launch (its private half to the backend for the gate, nowhere else), revoked at every
teardown and after a failed launch; a revocation that fails is said with what to revoke
by hand, keeps the bottle's record, and ``cleanup`` tries again. The git host is a
loopback fake of Gitea's deploy-key API; the backend is a plugin installed by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from bot_bottle_testing.fake_gitea import FakeGitea
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_ssh_private_key,
)

TOKEN = "gitea-token-" + "7" * 24

INKJET = """
import json, os, pathlib
from bot_bottle_core import hookimpl
from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.plan import BackendPlan, BoundaryReport
from bot_bottle_sidecars.boundary import ProbeResult

LOG = pathlib.Path(os.environ["INKJET_LOG"])

def _log(**row):
    with LOG.open("a") as f:
        f.write(json.dumps(row) + "\\n")

@hookimpl
def prepare(request):
    return BackendPlan(backend="inkjet", runtime="ink", image="ink:" + request.provider)

@hookimpl
def launch(request, plan, provision, progress):
    # What the gate would be given: the private keys, by repo.
    _log(event="launch", slug=request.slug, keys=dict(request.git_keys))
    if os.environ.get("INKJET_LAUNCH_FAILS"):
        raise BotBottleError("the engine fell over while launching.")
    return BoundaryReport(request.slug, (ProbeResult("p", "t", True, "ok"),))

@hookimpl
def attach_argv(slug, argv, tty):
    return ["sh", "-c", os.environ.get("INKJET_AGENT", "exit 0")]

@hookimpl
def stop(slug, preserve, progress):
    _log(event="stop", slug=slug, preserve=preserve)
"""


@pytest.fixture
def gitea():
    with FakeGitea(token=TOKEN, repos={"acme/app"}) as g:
        yield g


@pytest.fixture
def ink(bb, tmp_path, fake_dist, gitea):
    site = fake_dist(
        tmp_path / "site",
        "bot-bottle-inkjet",
        {"bot_bottle.backend": {"inkjet": "inkjet_backend"}},
        {"inkjet_backend": INKJET},
    )
    bb.extra.update(PYTHONPATH=str(site), INKJET_LOG=str(tmp_path / "ink.jsonl"), GITEA_TOKEN=TOKEN)
    bb.manifest(
        f"""
        bottles:
          web:
            git:
              repos:
                - name: app
                  upstream: ssh://git@git.example.test/acme/app.git
                  provisioned_key:
                    plugin: gitea
                    api_url: {gitea.url}/api/v1
                    repo: acme/app
                    token_ref: GITEA_TOKEN
                    read_only: false
        """
    )
    bb.agent("coder", "---\nbottle: web\nprovider: shell\n---\n")
    return bb


def ink_log(env) -> list[dict]:
    path = env.extra["INKJET_LOG"]
    return [json.loads(x) for x in open(path).read().splitlines()] if os.path.exists(path) else []


def calls(gitea) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in gitea.requests]


def test_a_key_is_minted_for_the_launch_and_revoked_when_the_agent_is_done(ink, gitea):
    r = ink.run("start", "coder", "--yes", "--backend", "inkjet")
    assert r.code == 0, r.err
    (launch,) = [e for e in ink_log(ink) if e["event"] == "launch"]
    private = launch["keys"]["app"]
    assert "OPENSSH PRIVATE KEY" in private
    (post, delete) = gitea.requests
    assert (post.method, delete.method) == ("POST", "DELETE")
    assert post.body["title"] == f"bot-bottle {launch['slug']}" and post.body["read_only"] is False
    # The key registered is the one the gate got.
    pub = load_ssh_private_key(private.encode(), None).public_key()
    openssh = pub.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    assert post.body["key"].split()[:2] == openssh.split()[:2]
    assert gitea.keys_of("acme/app") == {}
    # Neither the token nor the private key reached any output or kept file.
    for text in (r.out, r.err):
        assert TOKEN not in text and private.splitlines()[1] not in text
    assert ink.state_entries() == []


def test_a_failed_launch_revokes_the_key(ink, gitea):
    r = ink.run("start", "coder", "--yes", "--backend", "inkjet", env={"INKJET_LAUNCH_FAILS": "1"})
    assert r.code == 1 and "fell over" in r.err, r.err
    assert [m for m, _ in calls(gitea)] == ["POST", "DELETE"]
    assert gitea.keys_of("acme/app") == {}


def test_a_failed_launch_whose_key_cannot_be_revoked_keeps_its_record_for_cleanup(ink, gitea):
    gitea.fail_next["DELETE"] = [500]
    r = ink.run("start", "coder", "--yes", "--backend", "inkjet", env={"INKJET_LAUNCH_FAILS": "1"})
    assert r.code == 1 and "fell over" in r.err and "by hand" in r.err, r.err
    (key_id,) = gitea.keys_of("acme/app")
    assert f"[git] deploy key {key_id} of acme/app" in ink.run("cleanup", "--dry-run").out
    assert ink.run("cleanup", "--yes").code == 0
    assert gitea.keys_of("acme/app") == {} and ink.state_entries() == []


def test_a_failed_revocation_is_said_kept_and_cleanup_tries_again(ink, gitea):
    gitea.fail_next["DELETE"] = [500]
    r = ink.run("start", "coder", "--yes", "--backend", "inkjet")
    assert r.code == 1, r.out + r.err
    (key_id,) = gitea.keys_of("acme/app")
    assert f"key {key_id}" in r.err and "acme/app" in r.err and "by hand" in r.err, r.err
    assert "Traceback" not in r.err and TOKEN not in r.err
    assert ink.state_entries() != []  # the record of the key is kept
    plan = ink.run("cleanup", "--dry-run")
    assert f"[git] deploy key {key_id} of acme/app" in plan.out, plan.out
    done = ink.run("cleanup", "--yes")
    assert done.code == 0, done.err
    assert gitea.keys_of("acme/app") == {} and ink.state_entries() == []


def test_two_bottles_get_their_own_keys_and_stopping_one_revokes_only_its_own(ink, gitea, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
    env.update(BOT_BOTTLE_HOME=str(ink.home), **ink.extra)
    procs = []
    for name in ("a", "b"):
        done = tmp_path / f"done-{name}"
        # The agent runs until the test lets it go.
        agent = f"while [ ! -e {done} ]; do sleep 0.05; done"
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot_bottle_core", "start", "coder", "--yes",
                 "--backend", "inkjet"],
                cwd=ink.cwd, env={**env, "INKJET_AGENT": agent},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        # Keys are registered before the backend's launch logs itself: wait for both.
        launches: list[dict] = []
        while len(gitea.keys_of("acme/app")) < 2 or len(launches) < 2:
            assert time.monotonic() < deadline, "two bottles did not launch with their keys"
            time.sleep(0.05)
            launches = [e for e in ink_log(ink) if e["event"] == "launch"]
        slugs = [e["slug"] for e in launches]
        assert launches[0]["keys"]["app"] != launches[1]["keys"]["app"]
        by_title = {k["title"]: i for i, k in gitea.keys_of("acme/app").items()}
        assert set(by_title) == {f"bot-bottle {s}" for s in slugs}
        r = ink.run("stop", slugs[0])
        assert r.code == 0, r.err
        assert set(gitea.keys_of("acme/app")) == {by_title[f"bot-bottle {slugs[1]}"]}
    finally:
        for name in ("a", "b"):
            (tmp_path / f"done-{name}").touch()
        for p in procs:
            p.communicate(timeout=60)
    assert gitea.keys_of("acme/app") == {}


def test_a_second_key_refused_revokes_the_first_and_says_so_when_that_fails(ink, gitea):
    manifest = ink.home / "manifest.yaml"
    text = manifest.read_text()
    second = text[text.index("        - name: app") :].replace("name: app", "name: lib")
    manifest.write_text(text + second.replace("repo: acme/app", "repo: acme/missing"))
    gitea.fail_next["DELETE"] = [500]
    r = ink.run("start", "coder", "--yes", "--backend", "inkjet")
    assert r.code == 1, r.out + r.err
    (key_id,) = gitea.keys_of("acme/app")  # the first key: its revocation failed
    assert "acme/missing" in r.err and f"key {key_id}" in r.err and "by hand" in r.err, r.err
    assert not [e for e in ink_log(ink) if e["event"] == "launch"]  # nothing was launched
    assert ink.run("cleanup", "--yes").code == 0
    assert gitea.keys_of("acme/app") == {}
