"""The fake internet's DNS server (UDP and TCP port 53), stdlib only.

It answers A queries from a fixed map (``name -> IPv4``), gives an empty answer
for other types of a mapped name, and NXDOMAIN for every other name. Every
query is appended to the log as one JSON line ``{"name", "type", "transport"}``,
so a test sees exactly what was resolved through it.
"""

from __future__ import annotations

import ipaddress
import json
import socketserver
import struct
import threading
from collections.abc import Mapping

TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA"}
TYPE_A = 1
CLASS_IN = 1
NXDOMAIN = 3
FORMERR = 1
TTL = 0  # nothing caches an answer: every lookup reaches the log


class Query:
    def __init__(self, data: bytes) -> None:
        """Parse the header and the one question; ``ValueError`` when malformed."""
        if len(data) < 12:
            raise ValueError("short header")
        self.id, self.flags, qdcount = struct.unpack("!HHH", data[:6])
        if qdcount != 1:
            raise ValueError("one question only")
        labels, i = [], 12
        while True:
            if i >= len(data):
                raise ValueError("truncated name")
            n = data[i]
            i += 1
            if n == 0:
                break
            if n & 0xC0 or i + n > len(data):
                raise ValueError("bad label")
            labels.append(data[i : i + n].decode("ascii", errors="replace"))
            i += n
        if i + 4 > len(data):
            raise ValueError("truncated question")
        self.qtype, self.qclass = struct.unpack("!HH", data[i : i + 4])
        self.name = ".".join(labels)
        self.question = data[12 : i + 4]


def answer(data: bytes, names: Mapping[str, str]) -> tuple[bytes, Query | None]:
    """The response to ``data`` and the parsed query (``None`` when malformed)."""
    try:
        q = Query(data)
    except ValueError:
        qid = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 0
        return struct.pack("!HHHHHH", qid, 0x8000 | FORMERR, 0, 0, 0, 0), None
    addr = names.get(q.name.lower().rstrip("."))
    rd = q.flags & 0x0100
    flags = 0x8000 | 0x0400 | rd  # a response, authoritative, recursion-desired echoed
    records = b""
    if addr is None:
        flags |= NXDOMAIN
    elif q.qtype == TYPE_A and q.qclass == CLASS_IN:
        rdata = ipaddress.IPv4Address(addr).packed
        records = struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, TTL, len(rdata)) + rdata
    header = struct.pack("!HHHHHH", q.id, flags, 1, 1 if records else 0, 0, 0)
    return header + q.question + records, q


class Server:
    def __init__(self, names: Mapping[str, str], log_path: str) -> None:
        self.names = {k.lower().rstrip("."): v for k, v in names.items()}
        self.log_path = log_path
        self._lock = threading.Lock()

    def handle(self, data: bytes, transport: str) -> bytes:
        reply, q = answer(data, self.names)
        row = {"name": q.name, "type": TYPES.get(q.qtype, str(q.qtype))} if q else {"name": None}
        row["transport"] = transport
        with self._lock, open(self.log_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        return reply

    def start(self, host: str = "0.0.0.0", port: int = 53) -> None:
        """Bind both transports now (so a ready file written next is true), serve in threads."""
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                sock.sendto(server.handle(data, "udp"), self.client_address)

        class Tcp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while len(head := self.rfile.read(2)) == 2:
                    (n,) = struct.unpack("!H", head)
                    reply = server.handle(self.rfile.read(n), "tcp")
                    self.wfile.write(struct.pack("!H", len(reply)) + reply)

        for srv in (_UdpServer((host, port), Udp), _TcpServer((host, port), Tcp)):
            threading.Thread(target=srv.serve_forever, daemon=True).start()


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
