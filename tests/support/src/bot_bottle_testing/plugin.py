"""The pytest plugin: Docker fixtures and the CI fail-instead-of-skip rule."""

from __future__ import annotations

import os

import pytest

BASE_IMAGE_ENV = "BOT_BOTTLE_TEST_BASE_IMAGE"
DEFAULT_BASE_IMAGE = "bot-bottle-base:bookworm"


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def unavailable(reason: str) -> None:
    """Skip, or fail under CI=true where Docker tests must not skip."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: Docker tests must not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client():
    try:
        import docker
    except ImportError:
        unavailable("the docker SDK is not installed")
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # DockerException, requests' ConnectionError, ...
        unavailable(f"no Docker engine reachable: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:
    import docker

    tag = os.environ.get(BASE_IMAGE_ENV, DEFAULT_BASE_IMAGE)
    try:
        docker_client.images.get(tag)
    except docker.errors.ImageNotFound:
        unavailable(f"base image {tag} is missing (build it with scripts/docker-engine.sh)")
    return tag


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: needs a real Docker engine (fails instead of skipping under CI=true)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "docker_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if (
        in_ci()
        and report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("docker") is not None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"docker test skipped under CI=true: {reason}"
    return report
