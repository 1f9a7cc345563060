"""Reloading routes (SIGHUP): connections the new routes no longer allow are closed,
the rest keep working, and a routes file whose credential has no slot for its
host is refused (the old routes stay)."""

from __future__ import annotations

import contextlib
import json
import signal
import ssl

from bot_bottle_sidecars import layout
from bot_bottle_sidecars.routes import routes_digest
from egress_client import mitm_tls, request, tunnel

TOKEN = "tok-reload-51aa-never-log-me"
SLOTS = layout.token_environment([("RELOAD_TOKEN", "api.example.test")], {"RELOAD_TOKEN": TOKEN})
BEFORE = {
    "routes": [
        {"host": "api.example.test", "auth": {"scheme": "Bearer", "token_ref": "RELOAD_TOKEN"}},
        {"host": "other.example.test"},
        {"host": "pass.example.test", "tls_passthrough": True},
    ]
}
AFTER = {"routes": [BEFORE["routes"][0]]}


def _reload(ep, routes) -> dict:
    mark = ep.mark()
    ep.routes_file.write_text(json.dumps(routes))
    ep.proc.send_signal(signal.SIGHUP)
    return ep.wait_for_line(lambda r: r.get("event") == "reload", since=mark)


def _closed(sock) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError, OSError):
        return True


def test_a_reload_closes_the_tunnels_its_routes_no_longer_allow(start_egress, certs):
    ep = start_egress(BEFORE, env=SLOTS)
    with contextlib.ExitStack() as stack:
        _a, raw = tunnel(ep.port, "other.example.test:443")
        other = stack.enter_context(mitm_tls(ep, raw, "other.example.test"))
        assert request(other, "GET", "/1", "other.example.test").status == 200

        _a, raw = tunnel(ep.port, "pass.example.test:443")
        upstream_ctx = ssl.create_default_context(cafile=str(certs.ca_cert))
        passed = stack.enter_context(
            upstream_ctx.wrap_socket(raw, server_hostname="pass.example.test")
        )
        assert request(passed, "GET", "/1", "pass.example.test").status == 200

        _a, raw = tunnel(ep.port, "api.example.test:443")
        kept = stack.enter_context(mitm_tls(ep, raw, "api.example.test"))
        assert request(kept, "GET", "/1", "api.example.test").status == 200

        line = _reload(ep, AFTER)
        assert line["status"] == "ok" and line["closed"] == 2

        assert _closed(other)
        assert _closed(passed)
        r = request(kept, "GET", "/2", "api.example.test")  # still routed: still open
        assert r.status == 200 and r.upstream_header("authorization") == [f"Bearer {TOKEN}"]


def test_a_reload_that_moves_a_token_to_another_host_is_refused(start_egress):
    ep = start_egress(BEFORE, env=SLOTS)
    stolen = {
        "routes": [
            {
                "host": "other.example.test",
                "auth": {"scheme": "Bearer", "token_ref": "RELOAD_TOKEN"},
            }
        ]
    }
    line = _reload(ep, stolen)
    assert line["status"] == "error" and line["routes_kept"] == 3
    assert (
        "token slot RELOAD_TOKEN belongs to api.example.test, not other.example.test"
        in line["error"]
    )
    for name in ("PATH", "HOME", "BOT_BOTTLE_SECRET_RELOAD_TOKEN", layout.ENV_TOKEN_SLOTS):
        line = _reload(
            ep,
            {
                "routes": [
                    {"host": "other.example.test", "auth": {"scheme": "x", "token_ref": name}}
                ]
            },
        )
        assert line["status"] == "error", name  # no variable but a slot can be sent
    assert TOKEN not in ep.stdout() + ep.stderr()


class _UpgradingUpstream:
    """Answers the first request with 101 Switching Protocols, then records every byte."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.after: list[bytes] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        conn, _ = self.sock.accept()
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(4096)
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Accept: x\r\n\r\n"
        )
        conn.settimeout(10)
        try:
            while chunk := conn.recv(4096):
                self.after.append(chunk)
        except OSError:
            pass


def test_a_reload_closes_a_websocket_opened_by_a_plain_proxy_request(start_egress, upstream):
    import base64
    import os

    from conftest import resolve_map
    from egress_client import connect

    up = _UpgradingUpstream()
    pins = {**resolve_map(upstream), "plain.example.test:80": f"127.0.0.1:{up.port}"}
    routes = {"routes": [{"host": "plain.example.test"}, {"host": "other.example.test"}]}
    ep = start_egress(routes, env={"BOT_BOTTLE_EGRESS_RESOLVE": json.dumps(pins)})
    with connect(ep.port) as s:
        key = base64.b64encode(os.urandom(16))
        s.sendall(
            b"GET http://plain.example.test/ws HTTP/1.1\r\nHost: plain.example.test\r\n"
            b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\n\r\n"
        )
        assert b" 101 " in s.recv(4096)
        line = _reload(ep, {"routes": [{"host": "other.example.test"}]})
        assert line["status"] == "ok" and line["closed"] == 1
        assert _closed(s)
    # Nothing but the proxy's own close frame reached the removed route.
    assert all(chunk[0] == 0x88 for chunk in up.after), up.after


def test_the_ready_file_names_the_routes_file_served(start_egress):
    """supervise waits for this digest before telling the agent a route is live."""
    ep = start_egress(BEFORE, env=SLOTS)
    first = json.loads(ep.ready_file.read_text())
    assert first["routes_sha256"] == routes_digest(ep.routes_file.read_bytes())
    line = _reload(ep, AFTER)
    after = json.loads(ep.ready_file.read_text())
    assert line["routes_sha256"] == after["routes_sha256"] != first["routes_sha256"]
    assert after["routes_sha256"] == routes_digest(ep.routes_file.read_bytes())
    assert after["routes"] == 1
    # A refused reload leaves the served digest as it was.
    ep.routes_file.write_text("{not json")
    mark = ep.mark()
    ep.proc.send_signal(signal.SIGHUP)
    assert ep.wait_for_line(lambda r: r.get("event") == "reload", since=mark)["status"] == "error"
    assert json.loads(ep.ready_file.read_text())["routes_sha256"] == after["routes_sha256"]
