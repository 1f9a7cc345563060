"""Stopping, snapshotting, reloading and cleaning up bottles, each with as few engine calls
as it can."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import docker

from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.plan import CleanupItem, CleanupOutcome

from . import archive, names

Progress = Callable[[str], None]
REMOVAL_WAIT_S = 60  # a gVisor container takes a second or two to go


def _slug_filter(slug: str) -> dict[str, list[str]]:
    return {"label": [names.MINE, f"{names.LABEL_SLUG}={slug}"]}


def stop(client: docker.DockerClient, slug: str, preserve: bool, progress: Progress) -> None:
    """Remove the bottle's containers and networks, and its workspace unless preserved."""
    found = False
    for c in client.api.containers(all=True, filters=_slug_filter(slug)):
        found = True
        progress(f"removing container {c['Names'][0].lstrip('/')}")
        remove_container(client.api, c["Id"])
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


def remove_container(api: docker.APIClient, ref: str) -> None:
    """Force-remove a container; gone already is fine, and so is a removal under way
    elsewhere (an operator's stop racing the attached session's own): wait for that one
    to finish, so the networks after it are free."""
    try:
        api.remove_container(ref, force=True)
    except docker.errors.NotFound:
        return
    except docker.errors.APIError as exc:
        if exc.status_code != 409 or "already in progress" not in str(exc.explanation):
            raise
        with contextlib.suppress(docker.errors.NotFound):
            api.wait(ref, timeout=REMOVAL_WAIT_S, condition="removed")


def _ignore_missing(fn: Callable[[], object]) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        fn()


def reload_routes(client: docker.DockerClient, slug: str) -> None:
    """SIGHUP the bundle (its init forwards it to egress, which re-reads the routes)."""
    name = names.sidecars_container(slug)
    try:
        client.api.kill(name, signal="SIGHUP")
    except docker.errors.NotFound:
        raise BotBottleError(f"The bottle {slug} is not running (no container {name}).") from None
    except docker.errors.APIError as exc:
        raise BotBottleError(
            f"Could not signal {name}: {exc.explanation or exc}. Is the bottle {slug} running?"
        ) from None


def snapshot(client: docker.DockerClient, slug: str, paths: Sequence[str], dest: Path) -> None:
    container = client.containers.get(names.agent_container(slug))
    data = archive.snapshot(container, paths)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(dest)


def prepare_cleanup(
    client: docker.DockerClient,
    live: frozenset[str],
    preserved: frozenset[str],
    home: str | None = None,
) -> list[CleanupItem]:
    """What is not live (nor a kept workspace) and belongs to ``home`` (see names.of_home)."""
    items: list[CleanupItem] = []

    def offered(labels: dict | None, keep: frozenset[str] = frozenset()) -> str | None:
        slug = (labels or {}).get(names.LABEL_SLUG)
        if slug in live or slug in keep or not names.of_home(labels, home):
            return None
        return slug or ""

    for c in client.api.containers(all=True, filters={"label": names.MINE}):
        slug = offered(c.get("Labels"))
        if slug is not None:
            name = c["Names"][0].lstrip("/")
            items.append(CleanupItem(names.BACKEND, "container", name, slug or None))
    for n in client.api.networks(filters={"label": names.MINE}):
        slug = offered(n.get("Labels"))
        if slug is not None:
            items.append(CleanupItem(names.BACKEND, "network", n["Name"], slug or None))
    for v in client.api.volumes(filters={"label": names.MINE}).get("Volumes") or []:
        slug = offered(v.get("Labels"), keep=preserved)
        if slug is not None:
            items.append(CleanupItem(names.BACKEND, "volume", v["Name"], slug or None))
    return items


_REMOVERS = {
    "container": remove_container,
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
