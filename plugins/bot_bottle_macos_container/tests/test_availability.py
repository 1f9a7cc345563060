"""is_available: off macOS, without the CLI, with the services stopped, and ready."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bot_bottle_macos_container import plugin
from bot_bottle_macos_container.availability import MACOS_ONLY, NO_CLI
from bot_bottle_testing.fake_container import set_service


def test_unavailable_on_this_linux_host():
    assert sys.platform == "linux"
    avail = plugin.is_available()
    assert not avail.available
    assert avail.reason == (
        "the macos-container backend runs on macOS only (Apple's container CLI);"
        " use docker or smolvm here"
    )
    assert avail.reason == MACOS_ONLY


def test_off_macos_the_cli_is_never_run(fake_state: Path):
    # Even with a container CLI on PATH, Linux is not a host for it.
    assert not plugin.is_available().available
    assert not fake_state.exists()  # the fake was never called


def test_available_on_macos_with_the_services_running(on_macos, fake_state: Path):
    set_service(fake_state, "running")
    assert plugin.is_available().available


@pytest.mark.parametrize("status", ["not running", "unregistered"])
def test_services_not_running_say_how_to_start_them(on_macos, fake_state: Path, status: str):
    set_service(fake_state, status)
    avail = plugin.is_available()
    assert not avail.available
    assert f"services are {status}" in avail.reason
    assert "container system start" in avail.reason


def test_starting_the_services_makes_it_available(on_macos, fake_state: Path, container):
    set_service(fake_state, "unregistered")
    assert not plugin.is_available().available
    assert container("system", "start").returncode == 0
    assert plugin.is_available().available


def test_unavailable_without_the_cli(on_macos, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))
    avail = plugin.is_available()
    assert not avail.available and avail.reason == NO_CLI


def test_a_cli_that_refuses_format_json_is_named(on_macos, monkeypatch, tmp_path: Path):
    # Before 1.0.0, `system status` had no --format: a usage error, exit 64.
    old = tmp_path / "container"
    old.write_text("#!/bin/sh\necho \"Error: Unknown option '--format'\" >&2\nexit 64\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    avail = plugin.is_available()
    assert not avail.available
    assert "`container system status --format json` failed (exit 64)" in avail.reason
    assert "Unknown option '--format'" in avail.reason
