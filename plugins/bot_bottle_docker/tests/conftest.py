from __future__ import annotations

import os

import docker
import pytest


@pytest.fixture(scope="session")
def engine():
    """A live engine; under CI a missing engine fails instead of skipping."""
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Docker engine not reachable under CI: {exc}")
        pytest.skip(f"Docker engine not reachable: {exc}")
    yield client
    client.close()
