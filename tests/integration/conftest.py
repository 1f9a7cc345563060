"""Fixtures for the integration tests: the fake internet and a real bottle.

The helpers live in ``fake_internet.py`` (the benchmarks use them too).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_internet import TOKEN, BottleEnv, launched_bottle, running_upstream


@pytest.fixture(scope="session")
def upstream(docker_client, base_image, tmp_path_factory):
    with running_upstream(docker_client, base_image, tmp_path_factory.mktemp("upstream")) as up:
        yield up


@pytest.fixture(scope="session")
def bottle_env(upstream, base_image, tmp_path_factory) -> BottleEnv:
    return BottleEnv(tmp_path_factory.mktemp("bb-home"), upstream, base_image)


@pytest.fixture(scope="module")
def launched(bottle_env, docker_client):
    """One running bottle (agent 'probe', bottle 'sec'), launched through the core API."""
    with launched_bottle(bottle_env, docker_client) as bottle:
        yield bottle


def _sh(container, script: str, user: str = "") -> tuple[int, str]:
    result = container.exec_run(["sh", "-c", script], user=user)
    return result.exit_code, result.output.decode(errors="replace")


@pytest.fixture
def sh():
    """Run a shell script in a container (as its default user unless told)."""
    return _sh


@pytest.fixture(scope="session")
def real_token() -> str:
    """The credential egress injects; it must never be visible inside a bottle."""
    return TOKEN
