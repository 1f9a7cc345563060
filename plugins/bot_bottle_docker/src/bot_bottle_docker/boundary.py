"""The boundary self-check on Docker: what to probe, and running the probe in the agent.

The targets come from the engine (the bottle's networks, the default bridge,
the bundle's addresses), so a launch and ``bot-bottle check SLUG`` prove the
same things. While the probe runs, this host listens on a TCP and a UDP port
of every address: a datagram that arrives proves a way out even where no
answer would have come back to the agent.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import attrs
import docker
from bot_bottle_sidecars import boundary, layout
from bot_bottle_sidecars.routes import load_routes
from docker.models.containers import Container

from bot_bottle_core.plan import BoundaryReport

from . import archive, names
from .errors import LaunchFailed

BRIDGE = "bridge"
INHIBIT_IPV4 = "com.docker.network.bridge.inhibit_ipv4"


class HostListener:
    """A TCP and a UDP port on every address of this host, open while the probe runs."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (self.tcp, self.udp):
            s.bind(("0.0.0.0", 0))
            s.setblocking(False)
        self.tcp.listen(16)

    @property
    def tcp_port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def heard(self, nonce: str) -> list[boundary.ProbeResult]:
        """Verdicts for whatever reached this host from the probe."""
        found = []
        with contextlib.suppress(BlockingIOError):
            while True:
                conn, peer = self.tcp.accept()
                conn.close()
                found.append(("tcp", self.tcp_port, f"a connection from {peer[0]}"))
        with contextlib.suppress(BlockingIOError):
            while True:
                data, peer = self.udp.recvfrom(2048)
                if nonce.encode() in data:
                    found.append(("udp", self.udp_port, f"a datagram from {peer[0]}"))
        return [
            boundary.ProbeResult(kind, f"this host, port {port}", False, f"{what} arrived")
            for kind, port, what in found
        ]

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


@contextlib.contextmanager
def listening() -> Iterator[HostListener]:
    listener = HostListener()
    try:
        yield listener
    finally:
        listener.close()


def _gateway(net: dict) -> str | None:
    """The host's address on a network (the IPAM gateway, or the subnet's first host)."""
    for cfg in (net.get("IPAM") or {}).get("Config") or []:
        if cfg.get("Gateway"):
            return cfg["Gateway"].split("/")[0]
        if cfg.get("Subnet") and ":" not in cfg["Subnet"]:
            return str(next(ipaddress.IPv4Network(cfg["Subnet"]).hosts()))
    return None


def _inspect(client: docker.DockerClient, name: str) -> dict | None:
    try:
        return client.api.inspect_network(name)
    except docker.errors.NotFound:
        return None


def _address_on(container: dict, network: str) -> str | None:
    nets = (container.get("NetworkSettings") or {}).get("Networks") or {}
    return (nets.get(network) or {}).get("IPAddress") or None


def _route_hosts(bundle: dict) -> list[str]:
    """The hosts the bottle routes: names that must not resolve inside the agent either."""
    for mount in bundle.get("Mounts") or []:
        if mount.get("Destination") == layout.CONFIG_DIR and mount.get("Source"):
            path = PurePosixPath(mount["Source"]) / PurePosixPath(layout.EGRESS_ROUTES).name
            with contextlib.suppress(Exception):
                return [r.host for r in load_routes(str(path))]
    return []


def targets(client: docker.DockerClient, slug: str, listener: HostListener) -> boundary.Targets:
    """Every address of this host and of the bottle the agent must not reach."""
    bundle = client.api.inspect_container(names.sidecars_container(slug))
    internal = names.internal_network(slug)
    egress_ip = _address_on(bundle, internal)
    addresses: list[tuple[str, str]] = []
    dead: list[str] = []
    for label, net_name in (
        ("internal network gateway", internal),
        ("default bridge gateway", BRIDGE),
    ):
        net = _inspect(client, net_name)
        gw = _gateway(net) if net else None
        if gw:
            addresses.append((label, gw))
            if net_name == internal and (net.get("Options") or {}).get(INHIBIT_IPV4) == "true":
                dead.append(gw)  # the host takes no address on this bridge
    # The bundle's other networks are its way out: their gateways are this host.
    for net_name in (bundle.get("NetworkSettings") or {}).get("Networks") or {}:
        if net_name == internal:
            continue
        net = _inspect(client, net_name)
        gw = _gateway(net) if net else None
        if gw:
            addresses.append(("outbound network gateway", gw))
        sidecar_ip = _address_on(bundle, net_name)
        if sidecar_ip:
            addresses.append(("egress upstream side", sidecar_ip))
    addresses = list(dict.fromkeys(addresses))
    extra_tcp = [(label, a, listener.tcp_port) for label, a in addresses]
    extra_udp = [(label, a, listener.udp_port) for label, a in addresses]
    return boundary.Targets(
        addresses=addresses,
        names=_route_hosts(bundle),
        proxy=f"{egress_ip}:{names.EGRESS_PORT}" if egress_ip else None,
        extra_tcp=extra_tcp,
        extra_udp=extra_udp,
        dead_gateways=dead,
    )


def install_files(bundle: Container, image: str | None = None) -> list[tuple[str, bytes, int]]:
    """The probe binary as ``(path, data, mode)`` for the agent.

    Read from the bundle, or from this host's cache of the bundle ``image`` it
    came from: image tags are content digests, and reading a file out of a
    container costs a start about 40 ms.
    """
    cached = _cache_path(image) if image else None
    try:
        data = cached.read_bytes() if cached else None
    except OSError:
        data = None
    if data is None:
        data = archive.read_file(bundle, boundary.PROBE_IN_BUNDLE)
        if cached:
            with contextlib.suppress(OSError):
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(f".{secrets.token_hex(4)}.tmp")
                tmp.write_bytes(data)
                tmp.replace(cached)
    return [(boundary.PROBE_IN_AGENT, data, 0o755)]


def _cache_path(image: str) -> Path:
    import platformdirs

    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in image)
    return Path(platformdirs.user_cache_dir("bot-bottle")) / "boundary-probe" / safe


@attrs.frozen
class ProbeRun:
    argv: list[str]
    nonce: str
    targets: boundary.Targets


def probe_command(client: docker.DockerClient, slug: str, listener: HostListener) -> ProbeRun:
    nonce = secrets.token_hex(8)
    found = targets(client, slug, listener)
    return ProbeRun(boundary.probe_argv(found, nonce=nonce), nonce, found)


def report(slug: str, output: str, listener: HostListener, run: ProbeRun) -> BoundaryReport:
    """The verdicts in the probe's ``output`` plus whatever reached this host; an
    expected probe that said nothing counts as one that got through."""
    try:
        results = boundary.parse(output)
    except ValueError as exc:
        raise LaunchFailed(
            f"The boundary self-check could not run in bottle {slug}: {exc}. The agent image "
            "must be a Linux image; the probe is a static binary and needs nothing else."
        ) from None
    results = boundary.complete(results, run.targets) + listener.heard(run.nonce)
    return BoundaryReport(slug=slug, results=tuple(results))


def check(client: docker.DockerClient, slug: str) -> BoundaryReport:
    """Run the self-check in the live bottle ``slug`` (``bot-bottle check``)."""
    try:
        agent = client.containers.get(names.agent_container(slug))
        bundle = client.containers.get(names.sidecars_container(slug))
    except docker.errors.NotFound:
        raise LaunchFailed(
            f"The bottle {slug} is not running on Docker (no agent or sidecar container); "
            "`bot-bottle list active` shows what runs."
        ) from None
    # A fresh copy each time: what the agent has could have been changed since.
    files = install_files(bundle)
    if not agent.put_archive("/", archive.tar_at(files, 0, 0)):
        raise LaunchFailed(f"Could not copy the boundary probe into {agent.name}.")
    with listening() as listener:
        run = probe_command(client, slug, listener)
        result = agent.exec_run(run.argv)
        return report(slug, result.output.decode(errors="replace"), listener, run)
