"""Try to use an HTTP proxy at given addresses; print what happened, as JSON.

Standalone and stdlib-only: the tests run it on the host and, as
``python3 - ARGS < proxy_probe.py``, inside throwaway containers.

    proxy_probe.py PORT MARKER ADDR[%SCOPE]...

For every address it sends, through the proxy there, a CONNECT to
``other.example.test:443`` then ``GET /MARKER`` over TLS (the proxy's CA is
not trusted: a relaying proxy would still pass it on), the same to
``api.example.test/allowed/MARKER`` (the route egress injects a token on), and
an absolute-form ``GET http://other.example.test/MARKER``. Each attempt is
reported as ``refused``, ``timeout``, ``unreachable`` (the connect failed
locally: no route, no such address) or ``answered: <status line>``.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys

TIMEOUT_S = 3.0
TUNNELS = (("other.example.test", "/{m}"), ("api.example.test", "/allowed/{m}"))
PLAIN = ("other.example.test", "/{m}")


def _connect(addr: str, port: int) -> socket.socket:
    host, _, scope = addr.partition("%")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    target = (host, port, 0, socket.if_nametoindex(scope)) if scope else (host, port)
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    try:
        s.connect(target)
    except BaseException:
        s.close()
        raise
    return s


def _status_line(s: socket.socket | ssl.SSLSocket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


def _tunnel(addr: str, port: int, host: str, path: str) -> str:
    with _connect(addr, port) as s:
        s.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        # Read the proxy's answer to CONNECT byte by byte: TLS starts right after it.
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = s.recv(1)
            if not byte:
                break
            head += byte
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 200" not in status:
            return f"answered: {status}"
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(s, server_hostname=host) as tls:
            tls.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
            )
            return f"answered: {status} / {_status_line(tls)}"


def _plain(addr: str, port: int, host: str, path: str) -> str:
    with _connect(addr, port) as s:
        request = f"GET http://{host}{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        s.sendall(request.encode())
        return f"answered: {_status_line(s)}"


def attempt(fn, *args: object) -> str:
    try:
        return fn(*args)
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as exc:  # no route, no such address: nothing left this host
        return f"unreachable: {exc}"


def probe(addrs: list[str], port: int, marker: str) -> dict[str, list[str]]:
    out = {}
    for addr in addrs:
        results = [attempt(_tunnel, addr, port, h, p.format(m=marker)) for h, p in TUNNELS]
        results.append(attempt(_plain, addr, port, PLAIN[0], PLAIN[1].format(m=marker)))
        out[addr] = results
    return out


if __name__ == "__main__":
    port, marker, *addrs = sys.argv[1:]
    print(json.dumps(probe(addrs, int(port), marker)))
