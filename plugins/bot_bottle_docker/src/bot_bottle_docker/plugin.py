"""The docker backend's hook implementations: thin glue over the modules here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot_bottle_core import hookimpl
from bot_bottle_core.hookspecs import Progress
from bot_bottle_core.plan import (
    ActiveBottle,
    Availability,
    BackendPlan,
    CleanupItem,
    CleanupOutcome,
    PrepareRequest,
    ProvisionStep,
)

from . import engine, images, names, teardown
from . import launch as launching
from .options import DockerOptions

GVISOR = "runsc"


@hookimpl
def is_available() -> Availability:
    try:
        engine.client(timeout=3).close()
    except engine.EngineUnavailable as exc:
        return Availability.no(str(exc))
    return Availability.yes()


@hookimpl
def prepare(request: PrepareRequest) -> BackendPlan:
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
    )


@hookimpl
def launch(
    request: PrepareRequest,
    plan: BackendPlan,
    provision: Sequence[ProvisionStep],
    progress: Progress,
) -> None:
    opts = DockerOptions.from_env()
    with engine.connected() as c:
        launching.launch(c, request, plan, provision, progress, opts)


@hookimpl
def attach_argv(slug: str, argv: Sequence[str], tty: bool) -> list[str]:
    # The one place the docker CLI is used: an interactive exec needs its TTY handling.
    return ["docker", "exec", "-it" if tty else "-i", names.agent_container(slug), *argv]


@hookimpl
def stop(slug: str, preserve: bool, progress: Progress) -> None:
    with engine.connected() as c:
        teardown.stop(c, slug, preserve, progress)


@hookimpl
def snapshot(slug: str, paths: Sequence[str], dest: Path) -> None:
    with engine.connected() as c:
        teardown.snapshot(c, slug, paths, dest)


@hookimpl
def enumerate_active() -> list[ActiveBottle]:
    with engine.connected() as c:
        return teardown.enumerate_active(c)


@hookimpl
def prepare_cleanup(
    live_slugs: frozenset[str], preserved_slugs: frozenset[str]
) -> list[CleanupItem]:
    with engine.connected() as c:
        return teardown.prepare_cleanup(c, live_slugs, preserved_slugs)


@hookimpl
def cleanup(items: Sequence[CleanupItem], progress: Progress) -> list[CleanupOutcome]:
    with engine.connected() as c:
        return teardown.cleanup(c, items, progress)
