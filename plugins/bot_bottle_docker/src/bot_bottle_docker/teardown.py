"""Stopping, snapshotting and cleaning up bottles, each with as few engine calls as it can."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import docker

from bot_bottle_core.plan import CleanupItem, CleanupOutcome

from . import archive, names

Progress = Callable[[str], None]


def _slug_filter(slug: str) -> dict[str, list[str]]:
    return {"label": [names.MINE, f"{names.LABEL_SLUG}={slug}"]}


def stop(client: docker.DockerClient, slug: str, preserve: bool, progress: Progress) -> None:
    """Remove the bottle's containers and networks, and its workspace unless preserved."""
    found = False
    for c in client.api.containers(all=True, filters=_slug_filter(slug)):
        found = True
        progress(f"removing container {c['Names'][0].lstrip('/')}")
        _ignore_missing(lambda c=c: client.api.remove_container(c["Id"], force=True))
    for n in client.api.networks(filters=_slug_filter(slug)):
        found = True
        progress(f"removing network {n['Name']}")
        _ignore_missing(lambda n=n: client.api.remove_network(n["Id"]))
    if not preserve:
        for v in client.api.volumes(filters=_slug_filter(slug)).get("Volumes") or []:
            progress(f"removing volume {v['Name']}")
            _ignore_missing(lambda v=v: client.api.remove_volume(v["Name"], force=True))
    if not found:
        progress(f"no containers or networks of {slug} were left")


def _ignore_missing(fn: Callable[[], object]) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        fn()


def snapshot(client: docker.DockerClient, slug: str, paths: Sequence[str], dest: Path) -> None:
    container = client.containers.get(names.agent_container(slug))
    data = archive.snapshot(container, paths)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(dest)


def prepare_cleanup(
    client: docker.DockerClient, live: frozenset[str], preserved: frozenset[str]
) -> list[CleanupItem]:
    items: list[CleanupItem] = []

    def slug_of(labels: dict | None) -> str | None:
        return (labels or {}).get(names.LABEL_SLUG)

    for c in client.api.containers(all=True, filters={"label": names.MINE}):
        slug = slug_of(c.get("Labels"))
        if slug not in live:
            items.append(CleanupItem(names.BACKEND, "container", c["Names"][0].lstrip("/"), slug))
    for n in client.api.networks(filters={"label": names.MINE}):
        slug = slug_of(n.get("Labels"))
        if slug not in live:
            items.append(CleanupItem(names.BACKEND, "network", n["Name"], slug))
    for v in client.api.volumes(filters={"label": names.MINE}).get("Volumes") or []:
        slug = slug_of(v.get("Labels"))
        if slug not in live and slug not in preserved:
            items.append(CleanupItem(names.BACKEND, "volume", v["Name"], slug))
    return items


_REMOVERS = {
    "container": lambda api, name: api.remove_container(name, force=True),
    "network": lambda api, name: api.remove_network(name),
    "volume": lambda api, name: api.remove_volume(name, force=True),
}
# Containers first: a network or volume in use cannot be removed.
_ORDER = {"container": 0, "network": 1, "volume": 2}


def cleanup(
    client: docker.DockerClient, items: Iterable[CleanupItem], progress: Progress
) -> list[CleanupOutcome]:
    outcomes = []
    for item in sorted(items, key=lambda i: _ORDER.get(i.kind, 9)):
        progress(f"removing {item.kind} {item.name}")
        try:
            _REMOVERS[item.kind](client.api, item.name)
        except docker.errors.NotFound:
            outcomes.append(CleanupOutcome(item, ok=True))
        except (docker.errors.APIError, KeyError) as exc:
            outcomes.append(CleanupOutcome(item, ok=False, error=str(exc)))
        else:
            outcomes.append(CleanupOutcome(item, ok=True))
    return outcomes
