"""A smolvm bottle's sidecar bundle: a Docker container on the host, on a network of
its own, whose daemons are published on the bottle's leased loopback ports only.

The VM reaches them through its gateway (``100.96.0.1`` is the host's
``127.0.0.1`` on the same port). The image, the environment with the real tokens
and the mounts are the docker backend's: one bundle, whichever backend runs the
agent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import docker
from bot_bottle_docker import launch as docker_launch
from bot_bottle_docker.bundle_dirs import Operator, bundle_groups, writable_by_bundle
from bot_bottle_docker.bundle_env import UPSTREAM_CA_FILE, sidecar_env
from bot_bottle_docker.options import DockerOptions
from bot_bottle_sidecars import layout
from docker.models.containers import Container

from bot_bottle_core import labels as keys
from bot_bottle_core.plan import PrepareRequest

from . import names
from .leases import Lease
from .undo import Undo

ROLE_SIDECARS = "sidecars"
ROLE_NETWORK = "outbound-network"


def _gone_ok(remove: Callable[..., object], **kwargs: object) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        remove(**kwargs)


def container_name(slug: str) -> str:
    return f"bb-{slug}-smolvm-sidecars"


def network_name(slug: str) -> str:
    return f"bb-{slug}-smolvm-out"


def labels(request: PrepareRequest, role: str) -> dict[str, str]:
    return {
        **names.labels(
            request.slug,
            request.agent.name,
            label=request.agent.label,
            started_at="",
            home=request.home_id,
        ),
        keys.ROLE: role,
    }


def start(
    client: docker.DockerClient,
    request: PrepareRequest,
    image: str,
    lease: Lease,
    opts: DockerOptions,
    undo: Undo,
) -> Container:
    """Create and start the bundle; every step is undone by ``undo``."""
    if opts.egress_network:
        network = opts.egress_network  # the operator's way out, as for the docker backend
    else:
        net = client.networks.create(
            network_name(request.slug), driver="bridge", labels=labels(request, ROLE_NETWORK)
        )
        undo.add(f"network {net.name}", lambda: _gone_ok(net.remove))
        network = net.name
    who = Operator.current()
    volumes = {
        str(request.sidecar_dir.resolve()): {"bind": layout.CONFIG_DIR, "mode": "ro"},
        str(writable_by_bundle(request.queue_dir, who).resolve()): {
            "bind": layout.QUEUE_DIR,
            "mode": "rw",
        },
        str(writable_by_bundle(request.egress_log_dir, who).resolve()): {
            "bind": layout.LOG_DIR,
            "mode": "rw",
        },
    }
    if opts.upstream_ca is not None:
        # A copy beside the routes: the bundle gets one read-only mount.
        (request.sidecar_dir / UPSTREAM_CA_FILE).write_bytes(opts.upstream_ca.read_bytes())
    egress_port, supervise_port, _git_gate_port = lease.ports
    env = sidecar_env(request, opts, daemons=docker_launch.SIDECARS, listen_host="0.0.0.0")
    container = client.containers.create(
        image,
        name=container_name(request.slug),
        labels=labels(request, ROLE_SIDECARS),
        environment=env,
        volumes=volumes,
        network=network,
        extra_hosts=dict(opts.extra_hosts) or None,
        dns=list(opts.sidecar_dns) or None,
        # Loopback only: nothing but this host (and the VM through its gateway) reaches them.
        ports={
            f"{layout.EGRESS_PORT}/tcp": ("127.0.0.1", egress_port),
            f"{layout.SUPERVISE_PORT}/tcp": ("127.0.0.1", supervise_port),
        },
        mem_limit=docker_launch.SIDECARS_MEMORY,
        group_add=bundle_groups(who) or None,
        detach=True,
        init=True,
    )
    undo.add(f"container {container.name}", lambda: _gone_ok(container.remove, force=True))
    container.start()
    return container


def remove(client: docker.DockerClient, slug: str, progress: Callable[[str], None]) -> None:
    """The bundle container and its network; gone already is fine."""
    progress(f"removing container {container_name(slug)}")
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_container(container_name(slug), force=True)
    progress(f"removing network {network_name(slug)}")
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_network(network_name(slug))
