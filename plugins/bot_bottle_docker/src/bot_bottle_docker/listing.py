"""Running bottles, from one labelled container list call; and the reload signal.

Imports no docker SDK: see :mod:`bot_bottle_docker.local_api`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.plan import ActiveBottle

from . import local_api, names


def ping(timeout: float = 3) -> None:
    """Raise :class:`~bot_bottle_docker.errors.EngineUnavailable` unless the engine answers."""
    path = local_api.socket_path()
    if path is not None:
        local_api.ping(path, timeout)
        return
    from . import engine

    engine.client(timeout=int(timeout)).close()


def container_rows() -> list[dict[str, Any]]:
    """Every running container of this backend, as the engine lists them."""
    path = local_api.socket_path()
    if path is not None:
        return local_api.containers(path, names.MINE)
    from . import engine

    with engine.connected() as c:
        return c.api.containers(filters={"label": names.MINE})


def reload_routes(slug: str) -> bool:
    """SIGHUP the bottle's bundle over the local socket; False when there is none (the SDK
    does it then). The same errors as :func:`bot_bottle_docker.teardown.reload_routes`."""
    path = local_api.socket_path()
    if path is None:
        return False
    name = names.sidecars_container(slug)
    try:
        local_api.kill(path, name, "SIGHUP")
    except local_api.NoSuchContainer:
        raise BotBottleError(f"The bottle {slug} is not running (no container {name}).") from None
    except local_api.EngineError as exc:
        raise BotBottleError(f"{exc} Is the bottle {slug} running?") from None
    return True


def active_bottles(rows: Iterable[Mapping[str, Any]]) -> list[ActiveBottle]:
    """One entry per slug that has an agent container, sorted by slug."""
    by_slug: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        slug = (row.get("Labels") or {}).get(names.LABEL_SLUG)
        if slug:
            by_slug.setdefault(slug, []).append(row)
    active = []
    for slug, group in sorted(by_slug.items()):
        agent = next(
            (r for r in group if r["Labels"].get(names.LABEL_ROLE) == names.ROLE_AGENT), None
        )
        if agent is None:
            continue
        labels = agent["Labels"]
        services = sorted(
            "sidecars" for r in group if r["Labels"].get(names.LABEL_ROLE) == names.ROLE_SIDECARS
        )
        active.append(
            ActiveBottle(
                backend=names.BACKEND,
                slug=slug,
                agent=labels.get(names.LABEL_AGENT, "?"),
                label=labels.get(names.LABEL_LABEL),
                services=tuple(services),
                started_at=labels.get(names.LABEL_STARTED),
            )
        )
    return active
