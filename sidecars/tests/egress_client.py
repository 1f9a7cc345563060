"""A raw client for attacking the egress proxy: every byte under the test's control.

Raw sockets and ``ssl``, so Host headers, SNI, CONNECT targets, header folding and
non-HTTP junk go out exactly as written.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    def upstream_header(self, name: str) -> list[str]:
        return [v for k, v in self.json()["headers"] if k.lower() == name.lower()]


def _read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError(f"connection closed after {buf!r}")
        buf += chunk
    head = buf.decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        if line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    return status, headers, buf


def _read_body(sock: socket.socket, headers: dict[str, str]) -> bytes:
    length = int(headers.get("content-length", "0"))
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return body


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def tunnel(port: int, target: str) -> tuple[Resp, socket.socket]:
    """CONNECT through the proxy; returns the proxy's answer and the (raw) socket."""
    s = connect(port)
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    status, headers, _ = _read_head(s)
    body = _read_body(s, headers) if status != 200 else b""
    return Resp(status, headers, body), s


def request(
    sock: socket.socket,
    method: str,
    target: str,
    host: str | list[str] | None,
    headers: list[tuple[str, str]] = (),
    body: bytes = b"",
) -> Resp:
    lines = [f"{method} {target} HTTP/1.1"]
    for h in [host] if isinstance(host, str) else host or []:
        lines.append(f"Host: {h}")
    lines += [f"{k}: {v}" for k, v in headers]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    status, resp_headers, _ = _read_head(sock)
    data = b"" if method == "HEAD" else _read_body(sock, resp_headers)
    return Resp(status, resp_headers, data)


def mitm_tls(ep, sock: socket.socket, sni: str | None, alpn: list[str] | None = None):
    ctx = ssl.create_default_context(cafile=str(ep.ca_cert))
    if sni is None:
        ctx.check_hostname = False
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx.wrap_socket(sock, server_hostname=sni)


def https(ep, host: str, method: str, path: str, headers=(), body=b"", host_header=None) -> Resp:
    """One request through a fresh CONNECT tunnel, TLS intercepted by the proxy."""
    answer, raw = tunnel(ep.port, f"{host}:443")
    assert answer.status == 200, answer
    with mitm_tls(ep, raw, host) as s:
        return request(s, method, path, host_header or host, list(headers), body)


def assert_denied(resp: Resp, *needles: str) -> None:
    assert resp.status == 403, resp
    assert resp.headers.get("x-bot-bottle-egress") == "denied"
    text = resp.body.decode()
    assert "egress-block" in text or "operator" in text, text
    for needle in needles:
        assert needle in text, (needle, text)


def raw_request(sock: socket.socket, head: bytes, body: bytes = b"") -> Resp:
    """Send ``head`` (request line and headers, byte for byte, without the blank line)."""
    sock.sendall(head + b"\r\n\r\n" + body)
    status, resp_headers, _ = _read_head(sock)
    return Resp(status, resp_headers, _read_body(sock, resp_headers))


def https_raw(ep, host: str, head: bytes, body: bytes = b"") -> Resp:
    """One raw request through a fresh intercepted tunnel to ``host:443``."""
    answer, raw = tunnel(ep.port, f"{host}:443")
    assert answer.status == 200, answer
    with mitm_tls(ep, raw, host) as s:
        return raw_request(s, head, body)
