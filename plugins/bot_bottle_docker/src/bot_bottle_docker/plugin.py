"""The docker backend's hook implementations: thin glue over the modules here.

The SDK-backed modules (engine, images, launch, teardown) are imported inside
the hooks that need them: loading this plugin, `is_available` and
`enumerate_active` must not pay the docker SDK's import (see local_api).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from bot_bottle_core import hookimpl
from bot_bottle_core.hookspecs import Progress
from bot_bottle_core.plan import (
    ActiveBottle,
    Availability,
    BackendPlan,
    BoundaryReport,
    CleanupItem,
    CleanupOutcome,
    PrepareRequest,
    ProvisionStep,
)

from . import listing, names
from .errors import EngineUnavailable
from .options import DockerOptions

GVISOR = "runsc"


@hookimpl
def is_available() -> Availability:
    try:
        listing.ping(timeout=3)
    except EngineUnavailable as exc:
        return Availability.no(str(exc))
    return Availability.yes()


@hookimpl
def prepare(request: PrepareRequest) -> BackendPlan:
    from . import engine, images

    DockerOptions.from_env()  # a malformed knob fails before anything is made
    with engine.connected() as c:
        runtime = GVISOR if GVISOR in engine.runtimes(c) else "runc"
    base = images.effective_base_tag(request.settings)
    details = {"base image": images.base_image(request.settings)}
    if request.settings.build_ca_bundle:
        details["build CA"] = str(request.settings.build_ca_bundle)
    return BackendPlan(
        backend=names.BACKEND,
        runtime=runtime,
        image=images.agent_image_tag(request.provider, request.dockerfile, base),
        details=details,
        supervise_url=names.SUPERVISE_URL,
    )


@hookimpl
def launch(
    request: PrepareRequest,
    plan: BackendPlan,
    provision: Sequence[ProvisionStep],
    progress: Progress,
) -> BoundaryReport:
    from . import engine
    from . import launch as launching

    opts = DockerOptions.from_env()
    with engine.connected() as c:
        return launching.launch(c, request, plan, provision, progress, opts)


@hookimpl
def check_boundary(slug: str) -> BoundaryReport:
    from . import boundary, engine

    with engine.connected() as c:
        return boundary.check(c, slug)


@hookimpl
def attach_argv(slug: str, argv: Sequence[str], tty: bool) -> list[str]:
    # The one place the docker CLI is used: an interactive exec needs its TTY handling.
    return ["docker", "exec", "-it" if tty else "-i", names.agent_container(slug), *argv]


@hookimpl
def wait_stopped(slug: str) -> None:
    import docker

    from . import engine

    with engine.connected() as c, contextlib.suppress(docker.errors.NotFound):
        # No timeout: this waits as long as the session lasts, in a thread of its own.
        c.api.wait(names.agent_container(slug), timeout=None, condition="not-running")


@hookimpl
def reload_routes(slug: str) -> None:
    # An operator waits on this (and an agent behind them): no SDK import on a local socket.
    if listing.reload_routes(slug):
        return
    from . import engine, teardown

    with engine.connected() as c:
        teardown.reload_routes(c, slug)


@hookimpl
def stop(slug: str, preserve: bool, progress: Progress) -> None:
    from . import engine, teardown

    with engine.connected() as c:
        teardown.stop(c, slug, preserve, progress)


@hookimpl
def snapshot(slug: str, paths: Sequence[str], dest: Path) -> None:
    from . import engine, teardown

    with engine.connected() as c:
        teardown.snapshot(c, slug, paths, dest)


@hookimpl
def enumerate_active() -> list[ActiveBottle]:
    return listing.active_bottles(listing.container_rows())


@hookimpl
def prepare_cleanup(
    live_slugs: frozenset[str], preserved_slugs: frozenset[str], home_id: str | None
) -> list[CleanupItem]:
    from . import engine, teardown

    with engine.connected() as c:
        return teardown.prepare_cleanup(c, live_slugs, preserved_slugs, home_id)


@hookimpl
def cleanup(items: Sequence[CleanupItem], progress: Progress) -> list[CleanupOutcome]:
    from . import engine, teardown

    with engine.connected() as c:
        return teardown.cleanup(c, items, progress)
