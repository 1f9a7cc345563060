"""Typed records of what Apple's ``container`` CLI prints as JSON, and their parsers.

Only the keys this backend reads are kept; every other key is ignored, so a
newer CLI that adds keys still parses. A missing or mistyped key this backend
needs raises :class:`MalformedOutput`. The shapes are in
:mod:`bot_bottle_macos_container.container_cli`'s contract.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

# RuntimeStatus in apple/container (Sources/ContainerResource/Container/RuntimeStatus.swift).
RUNNING = "running"
STOPPED = "stopped"
STOPPING = "stopping"
UNKNOWN = "unknown"


class MalformedOutput(ValueError):
    """The CLI printed something that is not the documented JSON shape."""


@attrs.frozen
class Container:
    """One entry of ``container list --format json``."""

    id: str
    state: str
    labels: Mapping[str, str] = attrs.field(factory=dict)
    image: str | None = None
    started_at: str | None = None

    @property
    def live(self) -> bool:
        """Running, or in a state the services could not tell (``unknown``, or one this
        code does not know): such a container may run, so it is never a leftover."""
        return self.state not in (STOPPED, STOPPING)


@attrs.frozen
class SystemStatus:
    """``container system status --format json``."""

    status: str  # "running", "not running" or "unregistered"
    api_server_version: str | None = None

    @property
    def running(self) -> bool:
        return self.status == RUNNING


def parse_containers(text: str) -> list[Container]:
    data = _json(text)
    if not isinstance(data, list):
        raise MalformedOutput(f"expected a JSON list of containers, got {type(data).__name__}")
    return [_container(entry) for entry in data]


def parse_system_status(text: str) -> SystemStatus:
    data = _json(text)
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise MalformedOutput('expected a JSON object with a "status" string')
    version = data.get("apiServerVersion")
    return SystemStatus(data["status"], version if isinstance(version, str) and version else None)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MalformedOutput(f"not JSON ({exc}): {text[:200]!r}") from None


def _container(entry: object) -> Container:
    if not isinstance(entry, dict):
        raise MalformedOutput(f"a container entry is {type(entry).__name__}, not an object")
    config = entry.get("configuration")
    if not isinstance(config, dict) or not isinstance(config.get("id"), str):
        raise MalformedOutput('a container entry has no "configuration.id"')
    status = entry.get("status")
    if not isinstance(status, dict) or not isinstance(status.get("state"), str):
        raise MalformedOutput(f'the container {config["id"]} has no "status.state"')
    raw_labels = config.get("labels")
    labels = (
        {k: v for k, v in raw_labels.items() if isinstance(v, str)}
        if isinstance(raw_labels, dict)
        else {}
    )
    image = config.get("image")
    reference = image.get("reference") if isinstance(image, dict) else None
    started = status.get("startedDate")
    return Container(
        id=config["id"],
        state=status["state"],
        labels=labels,
        image=reference if isinstance(reference, str) else None,
        started_at=started if isinstance(started, str) else None,
    )
