"""The bundle's fixed address on a bottle's internal network: one the engine accepts."""

from __future__ import annotations

import ipaddress
import uuid

import docker
import pytest
from bot_bottle_docker.errors import LaunchFailed
from bot_bottle_docker.subnets import create_network, fixed_address, subnet_of


def test_the_last_host_of_the_subnet():
    assert fixed_address("10.213.0.0/28") == "10.213.0.14"
    assert fixed_address("10.213.7.16/28") == "10.213.7.30"
    assert fixed_address("10.0.0.0/30") == "10.0.0.2"
    with pytest.raises(LaunchFailed):
        fixed_address("10.0.0.0/31")


@pytest.mark.docker
def test_the_engine_gives_it_where_it_refuses_the_gateway(docker_client, base_image):
    tag = uuid.uuid4().hex[:8]
    labels = {"bot-bottle.test": "1"}
    net = create_network(
        docker_client,
        name=f"bbtest-fixed-{tag}",
        driver="bridge",
        internal=True,
        options={"com.docker.network.bridge.inhibit_ipv4": "true"},
        labels=labels,
    )
    made = []

    def attach(address: str | None) -> str:
        # As launch does: join the bottle's network before the start.
        c = docker_client.containers.create(base_image, ["sleep", "infinity"], labels=labels)
        made.append(c)
        net.connect(c, ipv4_address=address)
        c.start()
        c.reload()
        return c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]

    try:
        subnet = subnet_of(net)
        gateway = str(ipaddress.IPv4Network(subnet).network_address + 1)
        # The first host is the gateway's, even with no bridge address: refused.
        with pytest.raises(docker.errors.APIError, match="in use"):
            attach(gateway)
        assert attach(fixed_address(subnet)) == fixed_address(subnet)
        # Later peers get dynamic addresses that never collide with it.
        assert attach(None) not in ("", fixed_address(subnet))
    finally:
        for c in made:
            c.remove(force=True)
        net.remove()
