"""No IPv6 in the agent's network namespace.

The bottle's internal bridge carries no host IPv4 address, but it keeps the
host's IPv6 link-local one: a container there with IPv6 on reaches a host
server listening on ``::`` through it (the positive control below shows it on
this engine). The agent must have no IPv6 address and reach nothing over IPv6.
The engine is local in the tests, so the host's ``/proc`` speaks for its kernel.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import json
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

KERNEL_HAS_IPV6 = Path("/proc/sys/net/ipv6").is_dir()
SYSCTLS = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}

# Run in a container: connect over IPv6 to each "addr%iface port" argument (and to
# a listener of its own on ::1), retrying until a deadline so an address still in
# duplicate-address detection is waited for, not mistaken for a refusal.
CONNECT = r"""
import json, socket, sys, time
def attempt(addr, port, deadline):
    host, _, scope = addr.partition("%")
    while True:
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.settimeout(3)
            s.connect((host, port, 0, socket.if_nametoindex(scope) if scope else 0))
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return "connected: " + s.recv(64).decode(errors="replace").split("\r\n")[0]
        except OSError as exc:
            if time.monotonic() > deadline:
                return f"failed: {exc}"
            time.sleep(0.2)
def loopback():
    try:
        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.bind(("::1", 0))
        srv.listen()
        c = socket.create_connection(srv.getsockname()[:2], timeout=3)
        return "connected: to itself on ::1"
    except OSError as exc:
        return f"failed: {exc}"
deadline = time.monotonic() + float(sys.argv[1])
out = {a: attempt(a, int(p), deadline) for a, p in zip(sys.argv[2::2], sys.argv[3::2])}
out["::1"] = loopback()
print(json.dumps(out))
"""


@contextlib.contextmanager
def host_server_on_all_v6() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on the host's ``::`` (every interface); yields (port, peers seen)."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.client_address[0])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    server = Server(("::", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def internal_network(docker_client, slug: str):
    return docker_client.networks.get(f"bb-{slug}-int")


def bridge_link_local(network) -> str | None:
    """The host's IPv6 link-local address on ``network``'s bridge, if it has one."""
    bridge = network.attrs["Options"].get("com.docker.network.bridge.name") or (
        f"br-{network.id[:12]}"
    )
    out = subprocess.run(
        ["ip", "-j", "-6", "addr", "show", "dev", bridge], capture_output=True, text=True
    ).stdout
    for iface in json.loads(out or "[]"):
        for a in iface.get("addr_info", []):
            if ipaddress.ip_address(a["local"]).is_link_local and "tentative" not in a:
                return a["local"]
    return None


def connect_from(container, targets: dict[str, int], deadline_s: float) -> dict[str, str]:
    args = [str(deadline_s)] + [x for addr, port in targets.items() for x in (addr, str(port))]
    result = container.exec_run(["python3", "-c", CONNECT, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_agent_is_created_without_ipv6_where_the_kernel_has_it(launched):
    launched.agent.reload()
    sysctls = launched.agent.attrs["HostConfig"].get("Sysctls") or {}
    if KERNEL_HAS_IPV6:
        assert sysctls.items() >= SYSCTLS.items(), sysctls
    else:  # runc would refuse to start on a sysctl with no file
        assert not [k for k in sysctls if k.startswith("net.ipv6.")], sysctls


def test_no_interface_in_the_agent_has_an_ipv6_address(launched):
    result = launched.agent.exec_run(["ip", "-j", "addr"])
    assert result.exit_code == 0, result.output
    ifaces = json.loads(result.output)
    assert ifaces, "ip listed no interface at all"
    v6 = [
        (i["ifname"], a["local"])
        for i in ifaces
        for a in i.get("addr_info", [])
        if a.get("family") == "inet6"
    ]
    assert v6 == [], f"the agent ({launched.agent.attrs['HostConfig']['Runtime']}) has {v6}"


def test_an_ipv6_socket_in_the_agent_reaches_nothing(launched, docker_client, base_image):
    net = internal_network(docker_client, launched.slug)
    host_ll = bridge_link_local(net)
    with host_server_on_all_v6() as (port, seen):
        targets = {f"{host_ll}%eth0": port} if host_ll else {}
        if host_ll and KERNEL_HAS_IPV6:
            # Positive control: a container on the same network with IPv6 on reaches
            # the host server through the bridge's link-local address.
            control = docker_client.containers.create(
                base_image,
                ["sleep", "infinity"],
                name=f"bbtest-v6-{uuid.uuid4().hex[:8]}",
                network=net.name,
                sysctls={k: "0" for k in SYSCTLS} | {"net.ipv6.conf.eth0.disable_ipv6": "0"},
                labels={"bot-bottle.test": "1"},
            )
            try:
                control.start()
                got = connect_from(control, targets, deadline_s=20)
            finally:
                control.remove(force=True)
            assert got[f"{host_ll}%eth0"].startswith("connected"), got
            assert seen, "the host server saw no connection from the control"
            seen.clear()
        # The agent: nothing, not the host, not even itself (deadline 0: one try each).
        got = connect_from(launched.agent, targets, deadline_s=0)
    reached = {a: r for a, r in got.items() if not r.startswith("failed")}
    assert reached == {}, f"the agent reached over IPv6: {reached}"
    assert seen == []
