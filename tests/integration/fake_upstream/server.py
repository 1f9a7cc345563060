"""The "internet" in bot-bottle's tests: an HTTPS (443) and HTTP (80) server.

It answers every request with JSON describing what it received (method,
path, Host, headers), so a test can see exactly what egress let through.
``GET …/bytes/N`` streams N bytes instead (for the bulk-download benchmark).
Every request is also appended to /log/requests.jsonl.

It is also the fake internet's DNS server (``fake_dns.py``, UDP and TCP 53): every
query goes to /log/dns.jsonl.

    server.py CERT KEY [--dns NAME=IP]...     (IP "self": this container's address)
"""

import argparse
import hashlib
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fake_dns

LOG = "/log/requests.jsonl"
DNS_LOG = "/log/dns.jsonl"
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
        with open(LOG, "a") as f:
            f.write(json.dumps(seen) + "\n")
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

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    def log_message(self, *args):
        pass


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
    args = parser.parse_args()
    cert, key = args.cert, args.key
    fake_dns.Server(dns_names(args.dns), DNS_LOG).start()
    plain = ThreadingHTTPServer(("0.0.0.0", 80), Echo)
    tls = ThreadingHTTPServer(("0.0.0.0", 443), Echo)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    open("/log/ready", "w").close()
    tls.serve_forever()


if __name__ == "__main__":
    main()
