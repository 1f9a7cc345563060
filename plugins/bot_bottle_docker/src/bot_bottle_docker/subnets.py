"""Small per-bottle subnets, so many bottles fit.

Docker's default address pools hand every network a /16 or /20 and run
out after about thirty networks: with two networks a bottle, fifteen
bottles. The backend instead carves /28s (room for the agent and its
sidecars) out of one pool, ``BOT_BOTTLE_DOCKER_SUBNET_POOL`` (default
``10.213.0.0/16``, 4096 subnets). Two starts racing for the same subnet
are sorted out by the engine: the loser gets an overlap error and tries
the next free one.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable

import docker
from docker.models.networks import Network as Network_
from docker.types import IPAMConfig, IPAMPool

from .errors import LaunchFailed

POOL_ENV = "BOT_BOTTLE_DOCKER_SUBNET_POOL"
DEFAULT_POOL = "10.213.0.0/16"
PREFIX = 28
ATTEMPTS = 16

Network = ipaddress.IPv4Network


def pool() -> Network:
    raw = os.environ.get(POOL_ENV, DEFAULT_POOL)
    try:
        net = ipaddress.IPv4Network(raw)
    except ValueError as exc:
        raise LaunchFailed(f"{POOL_ENV}={raw!r} is not an IPv4 network: {exc}") from None
    if net.prefixlen > PREFIX:
        raise LaunchFailed(f"{POOL_ENV}={raw} is smaller than one /{PREFIX} subnet.")
    return net


def in_use(client: docker.DockerClient) -> list[Network]:
    used = []
    for n in client.api.networks():
        for cfg in (n.get("IPAM") or {}).get("Config") or []:
            try:
                used.append(ipaddress.IPv4Network(cfg.get("Subnet", ""), strict=False))
            except ValueError:
                continue
    return used


def free_subnets(space: Network, used: Iterable[Network]) -> Iterable[Network]:
    taken = list(used)
    for candidate in space.subnets(new_prefix=PREFIX):
        if not any(candidate.overlaps(t) for t in taken):
            yield candidate


def fixed_address(subnet: str) -> str:
    """An address in ``subnet`` a container can claim before anything else joins.

    Docker's IPAM (checked on Engine 20.10) refuses the network and broadcast
    addresses and the first host, which it reserves as the gateway even when
    ``inhibit_ipv4`` leaves the bridge without it; dynamic addresses are handed
    out upwards from the second host. The last host is clear of all of these.
    """
    net = ipaddress.IPv4Network(subnet)
    if net.num_addresses < 4:
        raise LaunchFailed(f"{subnet} has no host address to spare for the sidecars.")
    return str(net.broadcast_address - 1)


def subnet_of(network: Network_) -> str:
    """The IPv4 subnet the engine gave ``network`` (created by :func:`create_network`)."""
    for cfg in (network.attrs.get("IPAM") or {}).get("Config") or []:
        if cfg.get("Subnet") and ":" not in cfg["Subnet"]:
            return cfg["Subnet"]
    raise LaunchFailed(f"The engine reports no IPv4 subnet for network {network.name}.")


def create_network(client: docker.DockerClient, **kwargs: object) -> Network_:
    """``client.networks.create(**kwargs)`` on a free /28, retrying on a lost race."""
    tried: list[Network] = []
    for _ in range(ATTEMPTS):
        candidate = next(free_subnets(pool(), [*in_use(client), *tried]), None)
        if candidate is None:
            raise LaunchFailed(
                f"No free /{PREFIX} subnet is left in {pool()} for a new bottle. Stop or clean "
                f"up bottles, or set {POOL_ENV} to a larger private range."
            )
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=str(candidate))])
        try:
            return client.networks.create(ipam=ipam, **kwargs)
        except docker.errors.APIError as exc:
            if "overlap" not in str(exc).lower():
                raise
            tried.append(candidate)
    raise LaunchFailed(f"Could not claim a free subnet after {ATTEMPTS} tries; try again.")
