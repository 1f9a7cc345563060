"""The Docker engine works here, and the network shape bottles rely on isolates.

Topology (all created by this module, unique names, labelled, removed at the end):

    network A  internal, com.docker.network.bridge.inhibit_ipv4=true   (the agent's shape)
        client-a
    network B  internal                                                 (some other network)
        server     python3 -m http.server 8080
        client-b   positive control: must reach the server and the host

plus an HTTP server on the host bound to 0.0.0.0 (an ephemeral port). Both networks
are internal, so no probe can leave the machine. See SPEC §12: an internal network
alone does not cut a container off from the host; inhibit_ipv4 does.
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import shlex
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.docker

TEST_LABEL = "bot-bottle.test"
RUN_LABEL = "bot-bottle.test.run"
SERVER_PORT = 8080
PROBE_TIMEOUT_S = 3
READY_DEADLINE_S = 60


def _probe(container, urls: list[str]) -> dict[str, int]:
    """curl every URL from inside ``container`` concurrently; return curl's exit code per URL."""
    jobs = " ".join(
        f"(curl -fsS -o /dev/null --max-time {PROBE_TIMEOUT_S} {shlex.quote(u)} 2>/dev/null;"
        f' echo "$? {u}") &'
        for u in urls
    )
    code, out = container.exec_run(["sh", "-c", f"{jobs} wait"])
    assert code == 0, out.decode(errors="replace")
    results = {}
    for line in out.decode().splitlines():
        rc, _, url = line.partition(" ")
        results[url] = int(rc)
    assert set(results) == set(urls), out.decode(errors="replace")
    return results


def _exec(container, *argv: str) -> tuple[int, str]:
    # Short resolver timeouts: an unanswered lookup gives up in seconds, not 20.
    code, out = container.exec_run(list(argv), environment={"RES_OPTIONS": "timeout:1 attempts:1"})
    return code, out.decode(errors="replace")


def _ip_on(container, network) -> str:
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]


def _gateway(network) -> str | None:
    network.reload()
    for cfg in network.attrs.get("IPAM", {}).get("Config") or []:
        if cfg.get("Gateway"):
            return cfg["Gateway"]
    return None


def _host_owns(address: str) -> bool:
    """True when one of the host's interfaces carries ``address`` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, 0))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False
            raise
    return True


@contextlib.contextmanager
def _host_http_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on the host, on every interface; yields (port, client addresses seen)."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.client_address[0])
            body = b"host-probe\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def _wait_until_serving(client, server, url: str) -> None:
    """Poll ``url`` from ``client`` until it answers; fail early if the server died."""
    deadline = time.monotonic() + READY_DEADLINE_S
    while True:
        code, _ = _exec(client, "curl", "-fsS", "-o", "/dev/null", "--max-time", "2", url)
        if code == 0:
            return
        server.reload()
        if server.status not in ("created", "running"):
            logs = server.logs().decode(errors="replace")
            pytest.fail(f"server container {server.status}: {logs}")
        if time.monotonic() > deadline:
            logs = server.logs().decode(errors="replace")
            pytest.fail(f"server not reachable at {url} after {READY_DEADLINE_S}s: {logs}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def topology(docker_client, base_image) -> Iterator[SimpleNamespace]:
    run_id = uuid.uuid4().hex[:10]
    labels = {TEST_LABEL: "1", RUN_LABEL: run_id}
    created_containers = []
    created_networks = []

    def network(suffix: str, **kw):
        net = docker_client.networks.create(
            f"bbt-{suffix}-{run_id}", driver="bridge", internal=True, labels=labels, **kw
        )
        created_networks.append(net)
        return net

    def container(suffix: str, net, command: list[str]):
        c = docker_client.containers.run(
            base_image,
            command,
            name=f"bbt-{suffix}-{run_id}",
            network=net.name,
            labels=labels,
            detach=True,
        )
        created_containers.append(c)
        return c

    try:
        net_a = network("isolated", options={"com.docker.network.bridge.inhibit_ipv4": "true"})
        net_b = network("other")
        server = container(
            "server",
            net_b,
            ["python3", "-m", "http.server", str(SERVER_PORT), "--bind", "0.0.0.0"],
        )
        client_a = container("client-a", net_a, ["sleep", "infinity"])
        client_b = container("client-b", net_b, ["sleep", "infinity"])
        server_ip = _ip_on(server, net_b)
        _wait_until_serving(client_b, server, f"http://{server_ip}:{SERVER_PORT}/")
        with _host_http_server() as (host_port, host_seen):
            yield SimpleNamespace(
                client=docker_client,
                net_a=net_a,
                net_b=net_b,
                server=server,
                server_ip=server_ip,
                client_a=client_a,
                client_b=client_b,
                host_port=host_port,
                host_seen=host_seen,
            )
    finally:
        for c in created_containers:
            with contextlib.suppress(Exception):
                c.remove(force=True)
        for n in created_networks:
            with contextlib.suppress(Exception):
                n.remove()
        # Safety net: anything of this run that escaped the lists above.
        flt = {"label": f"{RUN_LABEL}={run_id}"}
        for c in docker_client.containers.list(all=True, filters=flt):
            c.remove(force=True)
        for n in docker_client.networks.list(filters=flt):
            n.remove()


def test_engine_answers(docker_client) -> None:
    assert docker_client.ping()
    assert docker_client.version()["ApiVersion"]


def test_positive_control_peer_on_same_network_reaches_server(topology) -> None:
    name = topology.server.name
    urls = [
        f"http://{topology.server_ip}:{SERVER_PORT}/",
        f"http://{name}:{SERVER_PORT}/",
    ]
    assert _probe(topology.client_b, urls) == dict.fromkeys(urls, 0)
    code, out = _exec(topology.client_b, "getent", "hosts", name)
    assert code == 0 and topology.server_ip in out, out


def test_isolated_client_cannot_reach_server_by_ip(topology) -> None:
    url = f"http://{topology.server_ip}:{SERVER_PORT}/"
    assert _probe(topology.client_a, [url])[url] != 0


def test_isolated_client_cannot_resolve_server_name(topology) -> None:
    code, out = _exec(topology.client_a, "getent", "hosts", topology.server.name)
    assert code != 0, f"{topology.server.name} resolved from the isolated network: {out}"


def test_isolated_bridge_has_no_host_address(topology) -> None:
    # inhibit_ipv4 leaves network A's bridge without an address, so the host
    # has no foot on it; network B's bridge carries its gateway address.
    gw_a, gw_b = _gateway(topology.net_a), _gateway(topology.net_b)
    assert gw_b is not None and _host_owns(gw_b)
    if gw_a is not None:
        assert not _host_owns(gw_a), f"host owns {gw_a} on the isolated network"


def _docker0_address(client) -> str | None:
    return _gateway(client.networks.get("bridge"))


def test_isolated_client_cannot_reach_host_server(topology) -> None:
    port = topology.host_port
    gw_b = _gateway(topology.net_b)
    assert gw_b is not None
    # Positive control: the host server answers a container through a bridge
    # address, so a failure from A below is the isolation, not a dead server.
    control = f"http://{gw_b}:{port}/"
    assert _probe(topology.client_b, [control]) == {control: 0}

    targets = {gw_b}
    docker0 = _docker0_address(topology.client)
    if docker0:
        targets.add(docker0)
    gw_a = _gateway(topology.net_a)
    if gw_a:
        targets.add(gw_a)
    urls = [f"http://{t}:{port}/" for t in sorted(targets)]
    results = _probe(topology.client_a, urls)
    reached = [u for u, rc in results.items() if rc == 0]
    assert not reached, f"the isolated client reached the host server at {reached}"
    ip_a = _ip_on(topology.client_a, topology.net_a)
    assert ip_a not in topology.host_seen


def test_isolated_client_has_only_its_own_network(topology) -> None:
    topology.client_a.reload()
    assert set(topology.client_a.attrs["NetworkSettings"]["Networks"]) == {topology.net_a.name}
