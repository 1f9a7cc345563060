"""The CLI wrapper: parsing that ignores unknown keys, and each call against the fake."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bot_bottle_macos_container.container_cli import ContainerCli, ContainerCliError
from bot_bottle_macos_container.records import (
    Container,
    MalformedOutput,
    SystemStatus,
    parse_containers,
    parse_system_status,
)
from bot_bottle_testing.fake_container import set_container_state, set_service

ENTRY = {
    "configuration": {
        "id": "bb-s1-agent",
        "labels": {"bot-bottle.slug": "s1", "odd": 3},
        "image": {"reference": "agent:1", "descriptor": {"digest": "sha256:00"}},
        "initProcess": {"executable": "/bin/sh"},
        "someFutureKey": {"nested": [1, 2]},
    },
    "id": "bb-s1-agent",
    "status": {"state": "running", "startedDate": "2026-08-07T10:00:00Z", "extra": True},
    "topLevelAddition": "ignored",
}


def test_list_entries_keep_what_is_read_and_ignore_every_other_key():
    [c] = parse_containers(json.dumps([ENTRY]))
    assert c == Container(
        id="bb-s1-agent",
        state="running",
        labels={"bot-bottle.slug": "s1"},  # a non-string value is dropped, not fatal
        image="agent:1",
        started_at="2026-08-07T10:00:00Z",
    )
    assert c.live


def test_the_escaped_slashes_of_swift_json_parse():
    [c] = parse_containers(
        '[{"configuration":{"id":"x","image":{"reference":"reg.io\\/a\\/b:1"}},'
        '"id":"x","status":{"state":"stopped"}}]'
    )
    assert c.image == "reg.io/a/b:1" and not c.live and c.labels == {}


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"configuration": {}}',
        '[{"id": "x", "status": {"state": "running"}}]',
        '[{"configuration": {"id": "x"}, "status": "running"}]',
    ],
)
def test_output_of_another_shape_is_refused(text: str):
    with pytest.raises(MalformedOutput):
        parse_containers(text)


def test_system_status_ignores_unknown_keys():
    status = parse_system_status('{"status":"running","apiServerVersion":"v","new":1}')
    assert status == SystemStatus("running", "v") and status.running
    assert not parse_system_status('{"status":"unregistered","apiServerVersion":""}').running


@pytest.fixture
def cli(fake_state: Path) -> ContainerCli:
    found = ContainerCli.find()
    assert found is not None
    return found


def test_list_running_or_all(cli: ContainerCli, container):
    container("run", "-d", "--name", "up", "-l", "k=v", "img")
    container("create", "--name", "down", "img")
    assert [c.id for c in cli.containers(include_stopped=False)] == ["up"]
    every = {c.id: c for c in cli.containers(include_stopped=True)}
    assert set(every) == {"up", "down"}
    assert every["up"].labels == {"k": "v"} and every["up"].live
    assert every["down"].state == "stopped"


def test_delete_is_forced_and_a_missing_container_counts_as_gone(cli: ContainerCli, container):
    container("run", "-d", "--name", "up", "img")
    assert cli.delete("up") is True  # running, so only --force removes it
    assert container("list", "--all", "--quiet").stdout == ""
    assert cli.delete("up") is False


def test_stop_of_a_missing_container_counts_as_gone(cli: ContainerCli, container):
    container("create", "--name", "down", "img")
    assert cli.stop("down") is True  # already stopped: still fine
    assert cli.stop("nothing") is False


def test_a_delete_the_service_refuses_raises_with_its_reason(cli, container, fake_state):
    container("run", "-d", "--name", "busy", "img")
    set_container_state(fake_state, "busy", "stopping")
    with pytest.raises(ContainerCliError) as err:
        cli.delete("busy")
    assert "`container delete --force busy` failed (exit 1)" in str(err.value)
    assert "container busy is stopping and can not be deleted" in str(err.value)


def test_services_down_say_how_to_start_them(cli: ContainerCli, fake_state: Path):
    set_service(fake_state, "not running")
    with pytest.raises(ContainerCliError) as err:
        cli.containers(include_stopped=True)
    assert "Apple's container services are not running" in str(err.value)
    assert "container system start" in str(err.value)


def test_exec_argv_runs_in_the_container_and_passes_the_exit_code(cli, container):
    container("run", "-d", "--name", "up", "img")
    argv = cli.exec_argv("up", ["sh", "-c", "exit 7"], tty=False)
    assert argv == [cli.binary, "exec", "--interactive", "up", "sh", "-c", "exit 7"]
    assert subprocess.run(argv, stdin=subprocess.DEVNULL, check=False).returncode == 7
    tty = cli.exec_argv("up", ["true"], tty=True)
    assert tty[:4] == [cli.binary, "exec", "--interactive", "--tty"]
    missing = subprocess.run(
        cli.exec_argv("gone", ["true"], tty=False), capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: get failed: container gone not found"


def test_only_the_container_asked_for_being_missing_counts_as_gone(tmp_path: Path):
    """Another "not found" in a failed delete (an image, a network, another container) is a
    failure, not an already-removed container."""
    cli_path = tmp_path / "container"
    cli_path.write_text(
        '#!/bin/sh\necho \'Error: internalError: "failed to delete container" (cause:'
        ' "notFound: \\"network default not found\\"")\' >&2\nexit 1\n'
    )
    cli_path.chmod(0o755)
    with pytest.raises(ContainerCliError, match="network default not found"):
        ContainerCli(str(cli_path)).delete("bb-x-agent")
