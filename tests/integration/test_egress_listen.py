"""Nobody outside a bottle can use its egress proxy; the agent inside still can.

Egress listens only on the bundle's address on the bottle's internal network,
so neither the host nor a container on the sidecars' outbound network (the
fake internet's network here) can relay through it and get its token injected.
Every probe stays on this machine (TESTING.md): the host only dials addresses
it reaches over one of the bottle's own bridges.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fake_internet import requests_with

pytestmark = pytest.mark.docker

HERE = Path(__file__).parent
PORT = 8080
NOT_RELAYED = ("refused", "timeout", "unreachable")


def sidecar_addresses(sidecars) -> list[tuple[str, str]]:
    """(interface, address) of every non-loopback address inside the bundle container."""
    result = sidecars.exec_run(["ip", "-j", "addr"])
    assert result.exit_code == 0, result.output
    out = []
    for iface in json.loads(result.output):
        for a in iface.get("addr_info", []):
            if not ipaddress.ip_address(a["local"]).is_loopback:
                out.append((iface["ifname"], a["local"]))
    return out


def bridge_of(network) -> str:
    network.reload()
    return network.attrs["Options"].get("com.docker.network.bridge.name") or (
        f"br-{network.id[:12]}"
    )


def host_targets(docker_client, sidecars) -> tuple[list[str], list[str]]:
    """Addresses the host reaches over one of the bundle's bridges, and the rest.

    An IPv4 address whose route leaves by another interface (the internal
    network's bridge carries no host address) would send a packet off the
    machine: it is listed, not dialled. A link-local IPv6 address is dialled on
    its network's bridge.
    """
    sidecars.reload()
    nets = sidecars.attrs["NetworkSettings"]["Networks"]
    bridge_by_mac = {
        v["MacAddress"]: bridge_of(docker_client.networks.get(v["NetworkID"]))
        for v in nets.values()
    }
    macs = {
        i["ifname"]: i.get("address")
        for i in json.loads(sidecars.exec_run(["ip", "-j", "link"]).output)
    }
    dial, skipped = [], []
    for ifname, addr in sidecar_addresses(sidecars):
        bridge = bridge_by_mac.get(macs.get(ifname))
        ip = ipaddress.ip_address(addr)
        if ip.version == 6 and ip.is_link_local and bridge:
            dial.append(f"{addr}%{bridge}")
            continue
        route = json.loads(
            subprocess.run(
                ["ip", "-j", "route", "get", addr], capture_output=True, text=True, check=True
            ).stdout
        )
        (dial if route and route[0].get("dev") == bridge else skipped).append(addr)
    return dial, skipped


def assert_nothing_relayed(results: dict[str, list[str]], upstream, marker: str, who: str):
    for addr, outcomes in results.items():
        for outcome in outcomes:
            assert outcome.startswith(NOT_RELAYED), f"{who} used egress at {addr}: {outcome}"
    assert requests_with(upstream, marker) == [], f"{who}'s request reached upstream"


def test_the_host_cannot_use_the_proxy(launched, upstream, docker_client):
    marker = uuid.uuid4().hex
    dial, skipped = host_targets(docker_client, launched.sidecars)
    # The bundle's outbound address is reachable from the host through its
    # bridge's gateway: without the listen address this probe relays.
    assert dial, f"no address of the bundle is reachable from the host (skipped: {skipped})"
    out = subprocess.run(
        [sys.executable, str(HERE / "proxy_probe.py"), str(PORT), marker, *dial],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert_nothing_relayed(json.loads(out), upstream, marker, "the host")


def test_a_container_on_the_outbound_network_cannot_use_the_proxy(
    launched, upstream, docker_client, base_image
):
    marker = uuid.uuid4().hex
    addrs = [
        f"{a}%eth0" if ipaddress.ip_address(a).is_link_local else a
        for _, a in sidecar_addresses(launched.sidecars)
    ]
    out = docker_client.containers.run(
        base_image,
        ["python3", "/probe/proxy_probe.py", str(PORT), marker, *addrs],
        network=upstream.network,
        volumes={str(HERE): {"bind": "/probe", "mode": "ro"}},
        labels={"bot-bottle.test": "1"},
        remove=True,
    )
    results = json.loads(out)
    assert set(results) == set(addrs)
    assert_nothing_relayed(results, upstream, marker, "a container on the outbound network")


def test_the_agent_still_gets_through(launched, upstream, sh):
    marker = uuid.uuid4().hex
    _, out = sh(
        launched.agent,
        f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 https://other.example.test/{marker}",
    )
    assert out.strip() == "200", out
    assert len(requests_with(upstream, marker)) == 1
