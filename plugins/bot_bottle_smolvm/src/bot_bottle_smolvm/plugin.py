"""The smolvm backend's hook implementations.

Docker (images, the sidecar bundle) is imported only inside the hooks that need
it: ``list active`` and ``is_available`` stay light.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot_bottle_core import hookimpl
from bot_bottle_core.errors import BotBottleError
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

from . import binary, bundles_on_docker, listing, names
from .leases import Leases
from .smolvm_cli import Smolvm

AGENT_USER = "agent"


def cli() -> Smolvm:
    found = binary.find_binary()
    if found is None:
        raise BotBottleError(binary.availability().reason or "no smolvm CLI")
    return Smolvm(found)


@hookimpl
def is_available() -> Availability:
    return binary.availability()


@hookimpl
def prepare(request: PrepareRequest) -> BackendPlan:
    from bot_bottle_docker import engine, images
    from bot_bottle_docker.options import DockerOptions

    if request.bottle.git.repos:
        raise BotBottleError(
            f"The bottle {request.bottle.name!r} has git repos, and the smolvm backend"
            " does not run the git gate yet; start it with --backend docker."
        )
    DockerOptions.from_env()  # a malformed knob fails before anything is made
    found = cli()
    with engine.connected():
        pass  # images and the bundle need the engine: say so now, not after a build
    base = images.effective_base_tag(request.settings)
    return BackendPlan(
        backend=names.BACKEND,
        runtime="microVM",
        image=images.agent_image_tag(request.provider, request.dockerfile, base),
        details={
            "smolvm CLI": found.binary,
            "base image": images.base_image(request.settings),
            "sidecars": "a Docker container on this host's loopback",
        },
        supervise_url=None,
    )


@hookimpl
def launch(
    request: PrepareRequest,
    plan: BackendPlan,
    provision: Sequence[ProvisionStep],
    progress: Progress,
) -> BoundaryReport:
    from bot_bottle_docker import engine
    from bot_bottle_docker.options import DockerOptions

    from . import launch as launching

    opts = DockerOptions.from_env()
    with engine.connected() as c:
        return launching.launch(c, cli(), request, plan, progress, opts)


@hookimpl
def attach_argv(slug: str, argv: Sequence[str], tty: bool) -> list[str]:
    return cli().exec_argv(names.machine(slug), argv, user=AGENT_USER, interactive=True, tty=tty)


@hookimpl
def enumerate_active() -> list[ActiveBottle]:
    return listing.active_bottles(cli().ls(), bundles_on_docker.running_bundle_slugs())


@hookimpl
def prepare_cleanup(
    live_slugs: frozenset[str], preserved_slugs: frozenset[str], home_id: str | None
) -> list[CleanupItem]:
    return listing.leftovers(
        cli().ls(),
        Leases(),
        live_slugs,
        preserved_slugs,
        home_id,
        bundles_on_docker.resources(),
    )


@hookimpl
def cleanup(items: Sequence[CleanupItem], progress: Progress) -> list[CleanupOutcome]:
    return listing.remove(cli(), Leases(), items, progress)


@hookimpl
def stop(slug: str, preserve: bool, progress: Progress) -> None:
    from bot_bottle_docker import engine

    from . import bundle

    name = names.machine(slug)
    smol = cli()
    if preserve:
        # The machine's disk is the workspace: kept (stopped) for `resume`.
        progress(f"stopping smolvm machine {name}")
        smol.stop(name)
    else:
        progress(f"removing smolvm machine {name}")
        smol.delete(name)
    with engine.connected() as c:
        bundle.remove(c, slug, progress)
    Leases().release(slug)  # ports are for a running bundle; `resume` leases anew
