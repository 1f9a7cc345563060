"""Send bytes through the bottle's egress proxy exactly as written; print what came back.

Standalone and stdlib-only: the tests run it inside the agent container, as the
agent, with ``python3 -c SOURCE SPEC`` where SPEC is JSON:

* ``connect``: ``"host:port"`` to open a CONNECT tunnel first (its answer is
  reported as ``connect``), or absent to talk to the proxy directly;
* ``tls``: the SNI to start TLS with inside the tunnel (the certificate is
  checked against the system bundle, which holds the bottle's CA), or absent;
* ``send``: the bytes to send, base64;
* ``http``: read one HTTP response (head, then ``Content-Length`` bytes); else
  read raw bytes until the peer closes or ``timeout`` seconds pass.

The proxy is the one ``HTTPS_PROXY`` names. Output, one JSON object:
``{"connect", "status", "headers", "body", "raw", "error"}`` (``raw`` is base64).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import sys
from urllib.parse import urlsplit


def _read_head(sock) -> bytes:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError(f"closed after {buf[:200]!r}")
        buf += chunk
    return buf


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    return status, headers


def _read_all(sock, out: dict) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        out["error"] = "timeout"
    except OSError as exc:
        out["error"] = type(exc).__name__
    return data


def run(spec: dict) -> dict:
    out: dict = {
        "connect": None,
        "status": None,
        "headers": {},
        "body": "",
        "raw": "",
        "error": None,
    }
    proxy = urlsplit(os.environ.get("HTTPS_PROXY") or os.environ["https_proxy"])
    sock = socket.create_connection((proxy.hostname, proxy.port), timeout=spec.get("timeout", 10))
    try:
        if spec.get("connect"):
            target = spec["connect"]
            sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            head = _read_head(sock)
            out["connect"], _ = _parse_head(head)
            if out["connect"] != 200:
                return out
        if spec.get("tls"):
            ctx = ssl.create_default_context()
            sock = ctx.wrap_socket(sock, server_hostname=spec["tls"])
        sock.sendall(base64.b64decode(spec["send"]))
        if spec.get("http"):
            out["status"], out["headers"] = _parse_head(_read_head(sock))
            length = int(out["headers"].get("content-length", "0"))
            body = b""
            while len(body) < length and (chunk := sock.recv(length - len(body))):
                body += chunk
            out["body"] = body.decode("utf-8", "replace")
        else:
            out["raw"] = base64.b64encode(_read_all(sock, out)).decode()
    except (OSError, ValueError, IndexError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        sock.close()
    return out


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
