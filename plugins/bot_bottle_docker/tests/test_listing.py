"""Listing bottles over the local socket, without the docker SDK."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid

import docker
import pytest
from bot_bottle_docker import listing, local_api, names, plugin
from bot_bottle_docker.errors import EngineUnavailable

from bot_bottle_core.errors import BotBottleError


def test_the_socket_is_picked_as_the_sdk_would():
    assert local_api.socket_path({}) == "/var/run/docker.sock"
    assert local_api.socket_path({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == (
        "/run/user/1000/docker.sock"
    )
    # Hosts the standard library cannot speak to go through the SDK.
    assert local_api.socket_path({"DOCKER_HOST": "tcp://127.0.0.1:2376"}) is None
    assert local_api.socket_path({"DOCKER_HOST": "ssh://me@host"}) is None


def test_a_tcp_engine_that_does_not_answer_is_unavailable_through_the_sdk(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    avail = plugin.is_available()
    assert avail.available is False
    assert "Docker is not running or not reachable" in avail.reason
    with pytest.raises(EngineUnavailable):
        plugin.enumerate_active()


def test_a_missing_socket_is_named(tmp_path):
    sock = tmp_path / "gone.sock"
    with pytest.raises(EngineUnavailable, match=str(sock)):
        local_api.ping(str(sock))


@pytest.fixture
def labelled(docker_client, base_image):
    """A bottle's agent and sidecars (as labelled by launch), one of another
    backend, and one unlabelled container."""
    slug = f"list{uuid.uuid4().hex[:6]}-abcde"
    made = []

    def run(name: str, labels: dict[str, str]) -> None:
        made.append(
            docker_client.containers.run(
                base_image,
                ["sleep", "infinity"],
                name=name,
                labels=labels,
                network_mode="none",
                detach=True,
            )
        )

    try:
        run(f"bb-{slug}-agent", names.labels(slug, "alice", names.ROLE_AGENT, "Alice"))
        run(f"bb-{slug}-sidecars", names.labels(slug, "alice", names.ROLE_SIDECARS))
        other = dict(
            names.labels(f"o{slug}", "bob", names.ROLE_AGENT), **{names.LABEL_BACKEND: "x"}
        )
        run(f"bbtest-other-{slug}", other)
        run(f"bbtest-plain-{slug}", {})
        yield slug
    finally:
        for c in made:  # one already gone (a cleanup run beside us) must not leak the rest
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)


@pytest.mark.docker
def test_the_socket_listing_agrees_with_the_sdk(docker_client, labelled):
    path = local_api.socket_path()
    assert path is not None
    ours = listing.active_bottles(local_api.containers(path, names.MINE))
    sdks = listing.active_bottles(docker_client.api.containers(filters={"label": names.MINE}))
    assert ours == sdks
    mine = [b for b in ours if b.slug == labelled]
    assert len(mine) == 1
    assert (mine[0].agent, mine[0].label, mine[0].services) == ("alice", "Alice", ("sidecars",))
    assert not [b for b in ours if b.slug == f"o{labelled}"]  # another backend's


@pytest.mark.docker
def test_an_engine_refusal_is_one_paragraph(docker_client):
    path = local_api.socket_path()
    assert path is not None
    url = "/containers/bbtest-no-such-container/json"
    with pytest.raises(
        local_api.EngineError, match=r"refused GET .*\(404: No such container.*\)\. Check"
    ):
        local_api.get(path, url)


LIST_AND_REPORT_MODULES = """
import json, sys
from bot_bottle_core.cli.main import main
try:
    main(["list", "active", "--json"])
except SystemExit as exc:
    code = exc.code
heavy = ["docker", "requests", "urllib3", "yaml", "cattrs", "platformdirs"]
print(json.dumps({"code": code, "imported": [m for m in heavy if m in sys.modules]}))
"""


@pytest.mark.docker
def test_list_active_loads_neither_the_sdk_nor_the_config_loader(labelled, tmp_path):
    # Together these cost ~350 ms of a 300 ms budget (bench/list_active.py).
    out = subprocess.run(
        [sys.executable, "-c", LIST_AND_REPORT_MODULES],
        capture_output=True,
        text=True,
        env={"BOT_BOTTLE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    listed, report = _split(out.stdout)
    assert report == {"code": 0, "imported": []}
    assert labelled in {b["slug"] for b in listed}


def _split(stdout: str) -> tuple[list[dict], dict]:
    """The CLI's JSON list, then the report line."""
    body, _, last = stdout.rstrip("\n").rpartition("\n")
    return json.loads(body), json.loads(last)


def test_a_socket_that_is_not_an_engine_is_unavailable(tmp_path):
    import socket
    import threading

    path = str(tmp_path / "not-docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def babble() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        conn.close()

    t = threading.Thread(target=babble)
    t.start()
    try:
        with pytest.raises(EngineUnavailable, match="not an HTTP answer"):
            local_api.ping(path)
    finally:
        t.join(5)
        server.close()


@pytest.mark.docker
def test_a_reload_signals_the_bundle_over_the_socket_without_the_sdk(labelled, monkeypatch):
    # An operator's approval waits on it: no ~0.5 s SDK import. (That egress reloads on
    # it is the integration tests' business: an approval is served.)
    monkeypatch.delitem(sys.modules, "docker", raising=False)
    plugin.reload_routes(labelled)
    assert "docker" not in sys.modules
    with pytest.raises(BotBottleError, match="is not running"):
        plugin.reload_routes("nobody-zzzzz")
