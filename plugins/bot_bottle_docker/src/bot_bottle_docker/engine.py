"""Talking to the Docker engine through the SDK, with clear failures."""

from __future__ import annotations

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


def runtimes(c: docker.DockerClient) -> frozenset[str]:
    return frozenset((c.info().get("Runtimes") or {}).keys())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
