"""Fixtures: the fake container CLI on PATH with its own state, and a macOS to run on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from bot_bottle_testing.fake_container import STATE_DIR_ENV, install_fake_container

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def fake_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake ``container`` first on PATH; returns its state directory."""
    install_fake_container(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    state = tmp_path / "container-state"
    monkeypatch.setenv(STATE_DIR_ENV, str(state))
    return state


@pytest.fixture
def container(fake_state: Path) -> Run:
    """Run the ``container`` on PATH (the fake) as a user would."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["container", *args], capture_output=True, text=True, timeout=60, check=False
        )

    return run


@pytest.fixture
def on_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
