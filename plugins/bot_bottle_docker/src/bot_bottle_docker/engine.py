"""Talking to the Docker engine through the SDK, with clear failures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import requests

from bot_bottle_core.errors import BotBottleError

# Errors that mean "no engine answered" rather than "the engine said no".
UNREACHABLE = (docker.errors.DockerException, requests.exceptions.ConnectionError)


class EngineUnavailable(BotBottleError):
    pass


def client(timeout: int = 10) -> docker.DockerClient:
    """A client that has answered a ping, or a one-paragraph error."""
    try:
        c = docker.from_env(timeout=timeout)
        c.ping()
    except UNREACHABLE as exc:
        raise EngineUnavailable(
            "Docker is not running or not reachable "
            f"({_first_line(exc)}). Start the Docker engine (for example `sudo systemctl start "
            "docker`, or `dockerd &`), check that `docker info` works for this user, or pick "
            "another backend with --backend."
        ) from None
    return c


@contextlib.contextmanager
def connected(timeout: int = 60) -> Iterator[docker.DockerClient]:
    """A pinged client, closed when the block ends."""
    c = client(timeout)
    try:
        yield c
    finally:
        c.close()


def runtimes(c: docker.DockerClient) -> frozenset[str]:
    return frozenset((c.info().get("Runtimes") or {}).keys())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class BuildFailed(BotBottleError):
    def __init__(self, tag: str, error: str) -> None:
        super().__init__(
            f"Building the image {tag} failed: {error}. Fix the Dockerfile or the network "
            "access it needs (behind a TLS-intercepting proxy, set settings.build_ca_bundle "
            "in the manifest), then start again."
        )


class LaunchFailed(BotBottleError):
    pass
