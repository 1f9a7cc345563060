"""The "internet" in bot-bottle's tests: an HTTPS (443) and HTTP (80) server.

It answers every request with JSON describing what it received (method,
path, Host, headers), so a test can see exactly what egress let through.
``POST /v1/messages`` on ``api.anthropic.com`` is the scripted model
(``fake_anthropic.py``); ``/v1/responses`` on ``api.openai.com``, over HTTPS and
WebSocket, is the scripted OpenAI model (``fake_openai.py``). ``GET …/bytes/N``
streams N bytes instead (for the bulk-download benchmark).
A request for ``…/upgrade/…`` with an ``Upgrade`` header gets ``101 Switching
Protocols``, and whatever bytes follow are logged as one ``AFTER-UPGRADE`` record.
Every request is also appended to /log/requests.jsonl, and every TCP
connection accepted (on 80, 443 and the raw ports) to /log/connections.jsonl
as ``{"peer", "port"}``, logged before any byte is read, so a test sees even a
connection that never became a request.

``--raw-port N`` listens on N too, accepting and closing (a stand-in for SSH
or any other non-HTTP service a tunnel could be aimed at).

It is also the fake internet's DNS server (``fake_dns.py``, UDP and TCP 53): every
query goes to /log/dns.jsonl.

    server.py CERT KEY [--dns NAME=IP]... [--raw-port N]...
                                   (IP "self": this container's address)
"""

import argparse
import hashlib
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_anthropic
import fake_dns
import fake_openai

LOG = "/log/requests.jsonl"
DNS_LOG = "/log/dns.jsonl"
CONN_LOG = "/log/connections.jsonl"
CHUNK = b"x" * 65536


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle and
    # delayed ACKs add 40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode(errors="replace"),
            "port": self.server.server_address[1],
        }
        host = self.headers.get("Host", "")
        if fake_openai.is_responses(host, self.path):
            self._openai(seen)
            return
        _log(seen)
        if fake_anthropic.is_messages(self.headers.get("Host", ""), self.command, self.path):
            kind, out = fake_anthropic.answer(seen["body"])
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        if "/upgrade/" in self.path and self.headers.get("Upgrade"):
            self._switch_protocols(seen)
            return
        if "/bytes/" in self.path:
            n = int(self.path.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            while n > 0:
                piece = CHUNK[: min(n, len(CHUNK))]
                self.wfile.write(piece)
                n -= len(piece)
            return
        # The agent reads this response: it gets a digest of the credential
        # that arrived, never the credential (the host-side log has it).
        shown = dict(seen, headers=dict(seen["headers"]))
        auth = shown["headers"].pop("authorization", None)
        shown["authorization_sha256"] = (
            hashlib.sha256(auth.encode()).hexdigest() if auth is not None else None
        )
        out = json.dumps(shown).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _openai(self, seen):
        """The scripted OpenAI model: a Responses WebSocket, or an HTTPS event stream.

        Logged rows carry the ``transport`` that brought the request.
        """
        upgrade = (self.headers.get("Upgrade") or "").lower() == "websocket"
        if not upgrade:
            _log(dict(seen, transport="https"))
            out = fake_openai.sse(seen["body"])
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        refused = fake_openai.websocket_refused()
        _log(dict(seen, transport="websocket-upgrade", refused=refused))
        if refused:
            out = b"websocket not supported here"
            self.send_response(426)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        key = self.headers.get("Sec-WebSocket-Key", "")
        self.send_header("Sec-WebSocket-Accept", fake_openai.accept_key(key))
        self.end_headers()
        self.wfile.flush()
        fake_openai.serve_websocket(
            self.rfile,
            self.wfile,
            lambda body: _log(dict(seen, method="WS", body=body, transport="websocket")),
        )
        self.close_connection = True

    def _switch_protocols(self, seen):
        """Answer 101 and log whatever arrives after it (until EOF or 5 s) as one record."""
        self.send_response(101)
        self.send_header("Upgrade", self.headers["Upgrade"])
        self.send_header("Connection", "Upgrade")
        self.end_headers()
        self.wfile.flush()
        self.connection.settimeout(5)
        after = b""
        try:
            while chunk := self.rfile.read1(65536):
                after += chunk
        except OSError:
            pass
        _log(dict(seen, method="AFTER-UPGRADE", body=after.decode("latin-1")))
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    def log_message(self, *args):
        pass


_conn_lock = threading.Lock()
_log_lock = threading.Lock()


def _log(row: dict) -> None:
    with _log_lock, open(LOG, "a") as f:
        f.write(json.dumps(row) + "\n")


def log_connection(peer: str, port: int) -> None:
    with _conn_lock, open(CONN_LOG, "a") as f:
        f.write(json.dumps({"peer": peer, "port": port}) + "\n")


class Server(ThreadingHTTPServer):
    """Logs each connection at accept; with ``tls_context``, its thread does the handshake."""

    tls_context = None

    def get_request(self):
        sock, addr = self.socket.accept()
        log_connection(addr[0], self.server_address[1])
        return sock, addr

    def finish_request(self, request, client_address):
        if self.tls_context is not None:
            request = self.tls_context.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a failed handshake or a dropped client: nothing to report


def raw_listener(port: int) -> None:
    """Accept on ``port``, log the connection, close it: nothing is ever answered."""
    srv = socket.create_server(("0.0.0.0", port))

    def serve() -> None:
        while True:
            conn, addr = srv.accept()
            log_connection(addr[0], port)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()


def dns_names(pairs: list[str]) -> dict[str, str]:
    own = socket.gethostbyname(socket.gethostname())  # Docker's /etc/hosts entry for us
    names = {}
    for pair in pairs:
        name, _, ip = pair.partition("=")
        names[name] = own if ip == "self" else ip
    return names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cert")
    parser.add_argument("key")
    parser.add_argument("--dns", action="append", default=[], metavar="NAME=IP")
    parser.add_argument("--raw-port", action="append", default=[], type=int, metavar="N")
    args = parser.parse_args()
    cert, key = args.cert, args.key
    fake_dns.Server(dns_names(args.dns), DNS_LOG).start()
    for port in args.raw_port:
        raw_listener(port)
    plain = Server(("0.0.0.0", 80), Echo)
    tls = Server(("0.0.0.0", 443), Echo)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.tls_context = ctx
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    open("/log/ready", "w").close()
    tls.serve_forever()


if __name__ == "__main__":
    main()
