"""The smolvm bottles' sidecar bundles as Docker lists them: containers and networks
labelled ``bot-bottle.backend=smolvm``.

Listing running bundles goes over the engine's local socket without the docker SDK
(``list active`` stays light); cleanup's listing and removal use the SDK. With no
engine to ask there is no bundle to find: the answers are empty, never an error,
so the VMs are still listed and cleaned up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import attrs

from bot_bottle_core.errors import BotBottleError

from . import names

MINE = f"{names.LABEL_BACKEND}={names.BACKEND}"
CONTAINER = "container"
NETWORK = "network"


@attrs.frozen
class Resource:
    kind: str  # container | network
    name: str
    labels: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def slug(self) -> str | None:
        return self.labels.get(names.LABEL_SLUG)


def running_bundle_slugs() -> frozenset[str]:
    """Slugs whose bundle container runs."""
    from bot_bottle_docker import local_api

    path = local_api.socket_path()
    if path is None:
        return frozenset()  # a remote engine: the SDK's import is not worth a column
    try:
        rows = local_api.containers(path, MINE, timeout=3)
    except (BotBottleError, OSError):
        return frozenset()
    return frozenset(s for r in rows if (s := (r.get("Labels") or {}).get(names.LABEL_SLUG)))


def resources() -> list[Resource]:
    """Every bundle container (running or not) and network of this backend."""
    from bot_bottle_docker import engine

    try:
        with engine.connected(timeout=10) as c:
            found = [
                Resource(CONTAINER, r["Names"][0].lstrip("/"), r.get("Labels") or {})
                for r in c.api.containers(all=True, filters={"label": MINE})
            ]
            found += [
                Resource(NETWORK, n["Name"], n.get("Labels") or {})
                for n in c.api.networks(filters={"label": MINE})
            ]
            return found
    except BotBottleError:
        return []  # no engine: no bundle of ours can be running on it


def remove(resource: Resource) -> None:
    """Remove one; already gone counts as removed."""
    import docker
    from bot_bottle_docker import engine
    from bot_bottle_docker.teardown import remove_container

    with engine.connected() as c, contextlib.suppress(docker.errors.NotFound):
        try:
            if resource.kind == CONTAINER:
                remove_container(c.api, resource.name)
            else:
                c.api.remove_network(resource.name)
        except docker.errors.APIError as exc:
            raise BotBottleError(f"{exc.explanation or exc}") from None
