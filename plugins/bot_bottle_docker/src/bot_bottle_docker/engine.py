"""Talking to the Docker engine through the SDK, with clear failures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import requests

from .errors import EngineUnavailable, first_line

# Errors that mean "no engine answered" rather than "the engine said no".
UNREACHABLE = (docker.errors.DockerException, requests.exceptions.ConnectionError)


def client(timeout: int = 10) -> docker.DockerClient:
    """A client that has answered a ping, or a one-paragraph error."""
    try:
        c = docker.from_env(timeout=timeout)
        c.ping()
    except UNREACHABLE as exc:
        raise EngineUnavailable(first_line(exc)) from None
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
