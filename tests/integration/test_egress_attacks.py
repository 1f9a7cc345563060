"""Attacks from inside a real bottle; each must fail.

The agent container is probed with commands run as its own unprivileged
user; the fake upstream's log (on the host) shows what really arrived.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import uuid

import pytest

pytestmark = pytest.mark.docker
API = "https://api.example.test"
AS_IS = "--path-as-is"


@pytest.fixture
def curl(launched, sh):
    def run(args: str) -> tuple[str, str]:
        """curl through the bottle's proxy settings; returns (status, body).

        The status is the response's, or the proxy's answer to CONNECT when
        the tunnel was refused (then there is no body); 000 when nothing answered.
        """
        _, out = sh(
            launched.agent,
            f"curl -s --max-time 10 -w '\\n%{{http_code}} %{{http_connect}}' {args} 2>/dev/null",
        )
        body, _, codes = out.rstrip().rpartition("\n")
        code, connect = codes.split()
        return (connect if code == "000" and connect != "000" else code), body

    return run


def py(container, script: str) -> str:
    """Run a Python script in the agent, as the agent."""
    result = container.exec_run(["python3", "-c", script])
    return result.output.decode(errors="replace")


def arrived(upstream, marker: str) -> list[dict]:
    if not upstream.log.exists():
        return []
    rows = [json.loads(line) for line in upstream.log.read_text().splitlines()]
    return [r for r in rows if marker in r["path"]]


def test_routed_request_reaches_upstream_with_the_injected_token(curl, upstream, real_token):
    marker = uuid.uuid4().hex
    code, body = curl(
        f"-H 'Authorization: Bearer agent-made-this-up' https://api.example.test/allowed/{marker}"
    )
    assert code == "200", body
    seen = arrived(upstream, marker)
    assert len(seen) == 1
    assert seen[0]["headers"]["authorization"] == f"Bearer {real_token}"
    # The agent learns only a digest of what arrived upstream.
    assert (
        json.loads(body)["authorization_sha256"]
        == hashlib.sha256(f"Bearer {real_token}".encode()).hexdigest()
    )


@pytest.mark.parametrize(
    ("what", "url", "extra"),
    [
        ("unrouted host over https", "https://unrouted.example.test/", ""),
        ("unrouted host over plain http", "http://unrouted.example.test/", ""),
        ("dot segments", "https://api.example.test/allowed/../secret/{m}", "--path-as-is"),
        (
            "encoded dot segments",
            "https://api.example.test/allowed/%2e%2e/secret/{m}",
            "--path-as-is",
        ),
        (
            "upper-case encoded dots",
            "https://api.example.test/allowed/%2E%2E/secret/{m}",
            "--path-as-is",
        ),
        ("encoded slash", "https://api.example.test/allowed%2f..%2fsecret/{m}", "--path-as-is"),
        ("prefix is not a segment", "https://api.example.test/repos/a-evil/{m}", ""),
        ("method not allowed", "https://other.example.test/{m}", "-X DELETE"),
        (
            "Host header of another host in a routed tunnel",
            "https://api.example.test/allowed/{m}",
            "-H 'Host: unrouted.example.test'",
        ),
    ],
)
def test_denied(curl, upstream, what, url, extra):
    marker = uuid.uuid4().hex
    code, body = curl(f"{extra} '{url.format(m=marker)}'")
    assert code == "403", (what, body)
    # Every refusal, HTTPS included, reaches curl with its explanation.
    assert "bot-bottle egress proxy: request denied." in body, (what, body)
    assert arrived(upstream, marker) == []


def test_prefix_admits_its_own_subtree(curl):
    assert curl("https://api.example.test/repos/a/issues")[0] == "200"
    assert curl("https://api.example.test/repos/a")[0] == "200"


def test_ip_literal_of_the_upstream_is_denied(curl, upstream):
    marker = uuid.uuid4().hex
    code, body = curl(f"-k https://{upstream.ip}/allowed/{marker}")
    assert code == "403", body
    assert arrived(upstream, marker) == []


def test_sni_of_an_unrouted_host_inside_a_routed_connect(launched, sh, upstream):
    marker = uuid.uuid4().hex
    script = f"""
import socket, ssl, sys
s = socket.create_connection(("egress", 8080), timeout=10)
s.sendall(b"CONNECT api.example.test:443 HTTP/1.1\\r\\nHost: api.example.test:443\\r\\n\\r\\n")
head = s.recv(4096)
if b" 200" not in head.split(b"\\r\\n")[0]:
    print("connect-refused"); sys.exit(0)
ctx = ssl.create_default_context()
ctx.check_hostname = False
try:
    t = ctx.wrap_socket(s, server_hostname="unrouted.example.test")
    t.sendall(b"GET /allowed/{marker} HTTP/1.1\\r\\nHost: api.example.test\\r\\n\\r\\n")
    print(t.recv(4096).split(b"\\r\\n")[0].decode())
except (ssl.SSLError, OSError) as e:
    print("tls-refused", type(e).__name__)
"""
    out = py(launched.agent, script)
    assert "200" not in out.split()[:2], out
    assert arrived(upstream, marker) == []


def test_non_http_bytes_in_a_routed_tunnel_are_killed(launched, sh, upstream):
    script = """
import socket
s = socket.create_connection(("egress", 8080), timeout=10)
s.sendall(b"CONNECT api.example.test:443 HTTP/1.1\\r\\nHost: api.example.test:443\\r\\n\\r\\n")
s.recv(4096)
s.sendall(b"SSH-2.0-OpenSSH_9.2\\r\\n" + b"\\x00" * 64)
try:
    data = s.recv(4096)
    print("got", len(data))
except OSError as e:
    print("closed", type(e).__name__)
"""
    out = py(launched.agent, script)
    assert "SSH-2.0" not in out
    assert out.strip() in ("got 0", "closed ConnectionResetError", "closed TimeoutError") or (
        out.startswith("got") and "SSH" not in out
    ), out


def test_direct_connections_without_the_proxy_go_nowhere(curl, upstream):
    assert curl(f"--noproxy '*' --connect-timeout 3 -k https://{upstream.ip}/")[0] == "000"
    assert curl(f"--noproxy '*' --connect-timeout 3 http://{upstream.ip}/")[0] == "000"


def test_outside_names_do_not_resolve(launched, sh):
    for name in ("api.example.test", "example.com", "localhost.localdomain.invalid"):
        code, out = sh(launched.agent, f"getent hosts {name}")
        assert code != 0, (name, out)
    code, out = sh(launched.agent, "getent hosts egress")
    assert code == 0, out  # the sidecars do resolve


def _gateways(docker_client, *network_names: str) -> set[str]:
    """The host's own addresses on the given Docker networks."""
    out = set()
    for name in network_names:
        for cfg in docker_client.networks.get(name).attrs["IPAM"]["Config"] or []:
            if cfg.get("Gateway"):
                out.add(cfg["Gateway"])
    return out


def test_the_host_is_unreachable(launched, sh, docker_client, upstream):
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.SimpleHTTPRequestHandler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        targets = _gateways(docker_client, "bridge", upstream.network, f"bb-{launched.slug}-int")
        assert targets, "no host address found to aim at"
        _, routes = sh(launched.agent, "ip route; ip -4 addr")
        for ip in sorted(targets):
            _code, out = sh(
                launched.agent,
                f"curl -s --noproxy '*' --connect-timeout 3 http://{ip}:{port}/ -o /dev/null "
                "-w '%{http_code}' 2>/dev/null",
            )
            assert out.strip() == "000", (ip, out, routes)
    finally:
        server.shutdown()


def test_the_agent_runs_unprivileged(launched, sh):
    _, out = sh(launched.agent, "id -u")
    assert out.strip() != "0"


def test_the_real_token_is_nowhere_in_the_bottle(launched, sh, real_token):
    checks = {
        "env": "env",
        "proc environ": "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
        "process list": "ps auxww",
        "files": f"grep -rIl --exclude-dir=proc --exclude-dir=sys -e '{real_token}' / 2>/dev/null"
        " || true",
    }
    for what, script in checks.items():
        _, out = sh(launched.agent, script, user="0")  # root sees everything in the bottle
        assert real_token not in out, what
    _, env = sh(launched.agent, "env")
    assert "VISIBLE_SETTING=plain-value" in env  # the probe does see the env it should


def test_no_ca_private_key_in_the_bottle(launched, sh):
    _, out = sh(
        launched.agent,
        "grep -rl 'PRIVATE KEY' /etc/ssl /usr/local/share/ca-certificates /home 2>/dev/null"
        " || true",
        user="0",
    )
    assert out.strip() == ""


def _reload_events(sidecars) -> list[dict]:
    events = []
    for line in sidecars.logs(stderr=False).decode(errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("event") == "reload":
            events.append(row)
    return events


def _sighup_and_wait(sidecars) -> dict:
    """Send SIGHUP and wait (polling its log) for the sidecar's reload verdict."""
    from fake_internet import wait_for

    seen = len(_reload_events(sidecars))
    sidecars.kill(signal="SIGHUP")
    wait_for(lambda: len(_reload_events(sidecars)) > seen, "the reload event")
    return _reload_events(sidecars)[-1]


def test_invalid_routes_on_reload_keep_the_old_routes(launched, curl):
    routes = launched.prepared.request.sidecar_dir / "routes.json"
    good = routes.read_text()
    try:
        routes.write_text("{this is: not json")
        event = _sighup_and_wait(launched.sidecars)
        assert event["status"] == "error"
        launched.sidecars.reload()
        assert launched.sidecars.status == "running"
        # Old routes still in force, unrouted still denied.
        assert curl("https://api.example.test/allowed/after-bad-reload")[0] == "200"
        assert curl("https://unrouted.example.test/")[0] == "403"
        # A good file with a new route takes effect on the next SIGHUP.
        data = json.loads(good)
        data["routes"].append({"host": "api.fakeprov.test"})
        routes.write_text(json.dumps(data))
        assert _sighup_and_wait(launched.sidecars)["status"] == "ok"
        assert curl("https://api.fakeprov.test/now-routed")[0] == "200"
    finally:
        routes.write_text(good)
        assert _sighup_and_wait(launched.sidecars)["status"] == "ok"
    assert curl("https://api.fakeprov.test/now-routed")[0] == "403"


def test_gvisor_runs_the_agent_when_the_engine_has_it(launched, docker_client, sh):
    runtimes = docker_client.info().get("Runtimes") or {}
    if os.environ.get("CI") == "true":
        assert "runsc" in runtimes, "CI registers gVisor (scripts/docker-engine.sh --with-gvisor)"
    expected = "runsc" if "runsc" in runtimes else "runc"
    assert launched.prepared.plan.runtime == expected
    assert launched.agent.attrs["HostConfig"]["Runtime"] == expected
    if expected == "runsc":
        _, out = sh(launched.agent, "dmesg 2>/dev/null | head -1")
        assert "gVisor" in out, out


def test_another_bottle_is_unreachable(launched, bottle_env, docker_client, sh):
    from fake_internet import launched_bottle

    with launched_bottle(bottle_env, docker_client) as other:
        other.sidecars.reload()
        other.agent.reload()
        ips = [
            net["IPAddress"]
            for c in (other.sidecars, other.agent)
            for net in c.attrs["NetworkSettings"]["Networks"].values()
            if net["IPAddress"]
        ]
        assert ips
        for ip in ips:
            _, out = sh(
                launched.agent,
                f"curl -s --noproxy '*' --connect-timeout 3 -o /dev/null -w '%{{http_code}}' "
                f"http://{ip}:8080/ 2>/dev/null",
            )
            assert out.strip() == "000", (ip, out)
        # Its egress name is not this bottle's: `egress` still means our own sidecars.
        _, mine = sh(launched.agent, "getent hosts egress")
        assert all(ip not in mine for ip in ips)
