"""The boundary self-check on Docker: what to probe, and running the probe in the agent.

The targets come from the engine (the bottle's networks, the default bridge,
the bundle's addresses), so a launch and ``bot-bottle check SLUG`` prove the
same things. While the probe runs, this host listens on a UDP port of every
address: a datagram carrying the run's nonce that arrives proves a way out even
where no answer would have come back to the agent. (A TCP port needs no
listener: a closed one answers with a reset, which the probe counts as reached.)
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
# `bot-bottle check` on a live bottle runs the probe as a user no agent process
# runs as, so the agent can neither signal, trace nor write into it. It is just
# as unprivileged: every exec gets the container's capabilities and no_new_privs.
CHECK_USER = "2147483646:2147483646"
# Off the start path a name gets two seconds: a resolver forwarding to a slow
# upstream still answers in that time.
CHECK_DNS_TIMEOUT_MS = 2000
# What the launch gives the agent's resolver to forward to: its own loopback.
AGENT_DNS = ("127.0.0.1",)


class HostListener:
    """A UDP port on every address of this host, open while the probe runs."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", 0))
        self.udp.setblocking(False)

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def heard(self, nonce: str) -> list[boundary.ProbeResult]:
        """Verdicts for the probe's datagrams that reached this host."""
        found = []
        with contextlib.suppress(BlockingIOError):
            while True:
                data, peer = self.udp.recvfrom(2048)
                if nonce.encode() in data:  # the probe's own, not a stray packet
                    found.append(peer[0])
        return [
            boundary.ProbeResult(
                "udp", f"this host, port {self.udp_port}", False, f"a datagram from {ip} arrived"
            )
            for ip in found
        ]

    def close(self) -> None:
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


def _route_hosts(bundle: dict) -> list[str] | None:
    """The hosts the bottle routes (names that must not resolve inside the agent
    either), or ``None`` when the routes file cannot be read."""
    for mount in bundle.get("Mounts") or []:
        if mount.get("Destination") == layout.CONFIG_DIR and mount.get("Source"):
            path = PurePosixPath(mount["Source"]) / PurePosixPath(layout.EGRESS_ROUTES).name
            try:
                return [r.host for r in load_routes(str(path))]
            except Exception:  # any unreadable file: the check says so below
                return None
    return None


def host_side(agent: dict, route_hosts: list[str] | None) -> list[boundary.ProbeResult]:
    """What the engine, not the agent, can tell: where the agent's resolver forwards."""
    forwards = tuple((agent.get("HostConfig") or {}).get("Dns") or ())
    results = [
        boundary.ProbeResult(
            "dns",
            "the engine's resolver for the agent",
            forwards == AGENT_DNS,
            f"forwards to {', '.join(forwards) or 'the host resolver'}"
            + (" (the agent's own loopback: nowhere)" if forwards == AGENT_DNS else ""),
        )
    ]
    if route_hosts is None:
        results.append(
            boundary.ProbeResult(
                "dns", "routed hosts", False, "the bottle's routes file could not be read"
            )
        )
    return results


def targets(
    client: docker.DockerClient,
    bundle: dict,
    slug: str,
    listener: HostListener,
    route_hosts: list[str] | None,
) -> boundary.Targets:
    """Every address of this host and of the bottle the agent must not reach."""
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
    return boundary.Targets(
        addresses=addresses,
        names=route_hosts or [],
        proxy=f"{egress_ip}:{names.EGRESS_PORT}" if egress_ip else None,
        extra_udp=[(label, a, listener.udp_port) for label, a in addresses],
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
    host_side: list[boundary.ProbeResult]


def probe_command(
    client: docker.DockerClient,
    slug: str,
    listener: HostListener,
    *,
    dns_timeout_ms: int = boundary.DNS_TIMEOUT_MS,
) -> ProbeRun:
    bundle = client.api.inspect_container(names.sidecars_container(slug))
    agent = client.api.inspect_container(names.agent_container(slug))
    nonce = secrets.token_hex(8)
    hosts = _route_hosts(bundle)
    found = targets(client, bundle, slug, listener, hosts)
    argv = boundary.probe_argv(found, nonce=nonce, dns_timeout_ms=dns_timeout_ms)
    return ProbeRun(argv, nonce, found, host_side(agent, hosts))


def report(
    slug: str, output: str, exit_code: int | None, listener: HostListener, run: ProbeRun
) -> BoundaryReport:
    """The verdicts in the probe's ``output``, what reached this host and what the
    engine says; an expected probe that said nothing, or an exit status that does
    not match the verdicts, counts as a probe that got through."""
    try:
        results = boundary.parse(output)
    except ValueError as exc:
        raise LaunchFailed(
            f"The boundary self-check could not run in bottle {slug}: {exc}. The agent image "
            "must be a Linux image; the probe is a static binary and needs nothing else."
        ) from None
    results = boundary.complete(results, run.targets)
    results += boundary.exit_status(results, exit_code)
    results += run.host_side + listener.heard(run.nonce)
    return BoundaryReport(slug=slug, results=tuple(results))


def run_probe(
    client: docker.DockerClient,
    agent: Container,
    slug: str,
    *,
    user: str = "",
    dns_timeout_ms: int = boundary.DNS_TIMEOUT_MS,
    read_user: bool = False,
) -> tuple[tuple[int, int] | None, BoundaryReport]:
    """Run the probe in ``agent`` as ``user`` (the image's user by default) while this
    host listens; with ``read_user``, also the uid and gid it ran as (``-I``)."""
    with listening() as listener:
        run = probe_command(client, slug, listener, dns_timeout_ms=dns_timeout_ms)
        argv = [run.argv[0], "-I", *run.argv[1:]] if read_user else run.argv
        result = agent.exec_run(argv, user=user)
        out = result.output.decode(errors="replace")
        ids = None
        if read_user:
            uid, _, out = out.partition("\n")
            gid, _, out = out.partition("\n")
            try:
                ids = (int(uid), int(gid))
            except ValueError:
                raise LaunchFailed(
                    f"Reading the agent user failed in {agent.name} (exit {result.exit_code}): "
                    f"{result.output.decode(errors='replace').strip()[:300]}"
                ) from None
        return ids, report(slug, out, result.exit_code, listener, run)


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
    _, found = run_probe(client, agent, slug, user=CHECK_USER, dns_timeout_ms=CHECK_DNS_TIMEOUT_MS)
    return found
