"""Creating a smolvm bottle: images with Docker, the sidecar bundle on the bottle's
leased loopback ports, the agent's microVM from the image as a ``docker save`` tar.

Everything made is recorded in an :class:`~.undo.Undo`; when a step fails the list
runs backwards, so a failed start leaves no machine, container, network, lease or
image tar behind.

The launch stops before it hands the bottle over: the boundary self-check cannot
run in a VM yet, and no bottle is handed to an agent before its boundary is proven.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import docker
from bot_bottle_docker import images
from bot_bottle_docker import launch as docker_launch
from bot_bottle_docker.options import DockerOptions
from bot_bottle_sidecars import context_dir as sidecars_context

from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.plan import BackendPlan, BoundaryReport, PrepareRequest
from bot_bottle_core.state import now_iso

from . import bundle, names
from .leases import Lease, Leases
from .smolvm_cli import Smolvm, SmolvmError
from .undo import Undo

Progress = Callable[[str], None]

# Inside the VM, the host's 127.0.0.1 (same port).
GATEWAY = "100.96.0.1"
IMAGE_TAR = "agent-image.tar"
GUEST_READY_TIMEOUT_S = 120.0
NOT_PROVEN = (
    "The smolvm backend cannot prove a bottle's boundary from inside a VM yet, so"
    " bot-bottle does not hand the bottle {slug} to its agent; everything it made was"
    " removed. Start it with --backend docker meanwhile."
)


class GuestNotReady(BotBottleError):
    pass


def agent_env(request: PrepareRequest, lease: Lease) -> dict[str, str]:
    """The docker backend's agent environment, with egress at the gateway's leased port."""
    env = docker_launch.agent_env(request)
    proxy = f"http://{GATEWAY}:{lease.ports[0]}"
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[key] = proxy
    return env


def wait_guest(cli: Smolvm, name: str, *, timeout: float = GUEST_READY_TIMEOUT_S) -> None:
    """Poll (with backoff) until the VM runs a command."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        done = cli.exec(name, ["true"], timeout=max(1.0, min(10.0, deadline - time.monotonic())))
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            said = done.stderr.decode(errors="replace").strip()
            raise GuestNotReady(
                f"The smolvm machine {name} did not run a command within {timeout:.0f} s"
                f" (last exit {done.returncode}: {said or 'no message'})."
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def save_image(client: docker.DockerClient, tag: str, dest, progress: Progress) -> None:
    """``docker save`` of ``tag`` into ``dest``, the one image form smolvm takes from Docker."""
    progress(f"handing the image {tag} to smolvm")
    with open(dest, "wb") as f:
        for chunk in client.images.get(tag).save(named=True):
            f.write(chunk)


def launch(
    client: docker.DockerClient,
    cli: Smolvm,
    request: PrepareRequest,
    plan: BackendPlan,
    progress: Progress,
    opts: DockerOptions,
) -> BoundaryReport:
    undo = Undo()
    leases = Leases()
    try:
        lease = leases.of(request.slug) or leases.allocate(request.slug, home=request.home_id)
        undo.add(f"port lease {lease.slot}", lambda: leases.release(request.slug))
        base = images.base_with_ca(
            client, images.base_image(request.settings), request.settings.build_ca_bundle, progress
        )
        ctx = sidecars_context()
        sidecars_image = images.build(
            client,
            tag=images.sidecars_image_tag(ctx, base),
            context=ctx,
            dockerfile=ctx / "Dockerfile",
            base_image=base,
            progress=progress,
        )
        images.build(
            client,
            tag=plan.image,
            context=request.dockerfile.parent,
            dockerfile=request.dockerfile,
            base_image=base,
            progress=progress,
        )
        progress(f"starting sidecars on 127.0.0.1 ports {', '.join(map(str, lease.ports))}")
        box = bundle.start(client, request, sidecars_image, lease, opts, undo)
        docker_launch.wait_ready(box, progress)
        tar = request.state_dir / IMAGE_TAR
        undo.add(f"image archive {tar}", lambda: tar.unlink(missing_ok=True))
        save_image(client, plan.image, tar, progress)
        name = names.machine(request.slug)
        res = request.bottle.resources
        progress(f"creating the microVM {name}")
        # Before the call: a create that fails half-way leaves the machine registered.
        undo.add(f"smolvm machine {name}", lambda: cli.delete(name))
        cli.create(
            name,
            str(tar),
            labels={
                **names.labels(
                    request.slug,
                    request.agent.name,
                    label=request.agent.label,
                    started_at=now_iso(),
                    home=request.home_id,
                ),
            },
            cpus=math.ceil(res.cpus) if res.cpus else None,
            mem_mib=res.memory_mib,
            # Outbound to the host's loopback only: the bundle's ports, never the internet.
            network=["--outbound-localhost-only"],
            env=agent_env(request, lease),
            command=["sleep", "infinity"],
        )
        tar.unlink()  # imported: the machine has its own copy
        progress(f"starting the microVM {name}")
        try:
            cli.start(name)
        except SmolvmError as exc:
            raise BotBottleError(
                f"The microVM of {request.slug} did not start: {exc} smolvm needs a host"
                " whose KVM can run a guest; everything made for the bottle was removed."
            ) from None
        wait_guest(cli, name)
        raise BotBottleError(NOT_PROVEN.format(slug=request.slug))
    except BaseException:
        undo.run(progress)
        raise
