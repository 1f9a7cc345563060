"""The fake container CLI keeps the contract documented in container_cli (read from
apple/container's source): exit codes, error texts and the JSON shapes clients rely on."""

from __future__ import annotations

import json
from pathlib import Path

from bot_bottle_testing.fake_container import set_service


def test_list_json_is_one_line_of_sorted_swift_json(container):
    assert container("list", "--format", "json").stdout == "[]\n"
    container("run", "-d", "--name", "c1", "--label", "a=b", "reg.io/img:1")
    out = container("list", "--format", "json").stdout
    assert out.count("\n") == 1 and "\\/" in out  # JSONEncoder escapes "/"
    [entry] = json.loads(out)
    assert list(entry) == ["configuration", "id", "status"]
    assert entry["id"] == entry["configuration"]["id"] == "c1"
    assert entry["configuration"]["labels"] == {"a": "b"}
    assert entry["configuration"]["image"]["reference"] == "reg.io/img:1"
    assert entry["status"]["state"] == "running"
    # Keys a client must ignore are there.
    assert {"initProcess", "platform", "resources", "creationDate"} <= set(entry["configuration"])
    assert {"networks", "startedDate"} <= set(entry["status"])


def test_a_missing_container(container):
    d = container("delete", "--force", "nope")
    assert d.returncode == 1 and d.stdout == ""
    assert d.stderr == (
        'Error: internalError: "failed to delete container" (cause: "notFound: '
        '"container with ID nope not found"")\n'
    )
    s = container("stop", "nope")
    assert s.returncode == 1 and "failed to stop container" in s.stderr
    assert 'notFound: "container with ID nope not found"' in s.stderr


def test_delete_prints_what_it_removed_and_reports_each_failure(container):
    container("create", "--name", "c-a", "img")
    container("create", "--name", "c-b", "img")
    r = container("delete", "c-a", "missing", "c-b")
    assert r.returncode == 1
    assert r.stdout.split() == ["c-a", "c-b"]
    assert r.stderr.count("\n") == 1 and "container with ID missing not found" in r.stderr


def test_names_follow_the_real_rule(container):
    # ManagedContainer.nameValid: at least two characters, at most 63.
    r = container("create", "--name", "a", "img")
    assert r.returncode == 1
    assert r.stderr == "Error: container ID a is not a valid container ID\n"
    assert container("create", "--name", "x" * 64, "img").returncode == 1
    assert container("create", "--name", "bb-slug-agent", "img").returncode == 0
    r = container("create", "--name", "bb-slug-agent", "img")
    assert r.stderr == "Error: container with id bb-slug-agent already exists\n"


def test_running_needs_force(container):
    container("run", "-d", "--name", "up", "img")
    r = container("rm", "up")
    assert r.returncode == 1
    assert 'invalidState: "container up is running and can not be deleted"' in r.stderr
    assert container("rm", "-f", "up").stdout == "up\n"


def test_usage_errors_exit_64(container):
    r = container("list", "--nope")
    assert r.returncode == 64 and r.stderr.startswith("Error: Unknown option '--nope'")
    assert container("delete").returncode == 1  # validate(): a ContainerizationError


def test_system_status(container, fake_state: Path):
    r = container("system", "status", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "running"
    set_service(fake_state, "unregistered")
    r = container("system", "status", "--format", "json")
    body = json.loads(r.stdout)
    assert r.returncode == 1 and body["status"] == "unregistered"
    assert body["apiServerVersion"] == "" and "logRoot" not in body
    r = container("system", "status")
    assert r.stdout == "apiserver is not running and not registered with launchd\n"
    r = container("list")
    assert r.returncode == 1
    assert "XPC connection error" in r.stderr
    assert r.stderr.rstrip().endswith(
        "Ensure container system service has been started with `container system start`."
    )
