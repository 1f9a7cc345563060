"""Smart HTTP for the agent: ``git http-backend`` over the mirrors, and nothing else.

Only ``/<name>.git/info/refs?service=...``, ``/<name>.git/git-upload-pack`` and
``/<name>.git/git-receive-pack`` of a configured repo are served. Each
``info/refs`` first brings the mirror up to the upstream, so the agent sees (and a
push is checked against) what the upstream has now. The request's headers reach
http-backend only as the few CGI variables git needs, never as a whole.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import journal, upstream
from .config import GateConfig
from .pre_receive import ENV_REPO

PATH_RE = re.compile(
    r"^/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,99})\.git"
    r"/(?P<what>info/refs|git-upload-pack|git-receive-pack)$"
)
SERVICES = ("git-upload-pack", "git-receive-pack")
CHUNK = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # for Expect: 100-continue; every response closes
    server: GateServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # the journal says what matters

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _refuse(self, status: HTTPStatus, text: str) -> None:
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        m = PATH_RE.match(url.path)
        repo = self.server.config.repos.get(m["name"]) if m else None
        if m is None or repo is None:
            self._refuse(HTTPStatus.NOT_FOUND, "bot-bottle git-gate: no such repository here")
            return
        what = m["what"]
        service = parse_qs(url.query).get("service", [""])[0] if what == "info/refs" else what
        if service not in SERVICES or (method == "GET") != (what == "info/refs"):
            self._refuse(HTTPStatus.FORBIDDEN, "bot-bottle git-gate: only smart HTTP is served")
            return
        if what == "info/refs":
            try:
                upstream.sync(repo)
            except (upstream.UpstreamError, subprocess.TimeoutExpired) as exc:
                journal.record(
                    "fetch", repo=repo.name, verdict="upstream-error", error=str(exc)[-500:]
                )
                self._refuse(HTTPStatus.BAD_GATEWAY, f"bot-bottle git-gate: upstream: {exc}")
                return
            if service == "git-upload-pack":
                journal.record("fetch", repo=repo.name, verdict="allow")
        # http-backend reads the service the gate checked and logged, and nothing else:
        # of "service=git-upload-pack&service=git-receive-pack" it would take the last.
        query = f"service={service}" if what == "info/refs" else ""
        self._cgi(method, repo.name, what, query)

    def _cgi(self, method: str, name: str, what: str, query: str) -> None:
        env = upstream.git_env(name)
        env.update(
            GIT_PROJECT_ROOT=str(upstream.mirror_dir(name).parent),
            GIT_HTTP_EXPORT_ALL="1",
            PATH_INFO=f"/{name}.git/{what}",
            QUERY_STRING=query,
            REQUEST_METHOD=method,
            REMOTE_ADDR=self.client_address[0],
            REMOTE_USER="agent",
            **{ENV_REPO: name},
        )
        if ctype := self.headers.get("Content-Type"):
            env["CONTENT_TYPE"] = ctype
        if self.headers.get("Content-Encoding", "").lower() in ("gzip", "x-gzip"):
            env["HTTP_CONTENT_ENCODING"] = "gzip"
        # No Git-Protocol: protocol v0 only. v2's upload-pack serves any object the mirror
        # holds, wanted or not by a ref; v0 serves only what a ref reaches.
        proc = subprocess.Popen(
            ["git", *upstream.PROTOCOLS, "http-backend"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None
        feeder = threading.Thread(target=self._feed, args=(proc.stdin,), daemon=True)
        feeder.start()
        try:
            self._relay(proc.stdout)
        finally:
            feeder.join(60)
            proc.wait(60)

    def _feed(self, sink) -> None:
        """The request body to http-backend, which reads to EOF when no length is given."""
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    _copy(self.rfile, sink, size)
                    self.rfile.readline()
            else:
                _copy(self.rfile, sink, int(self.headers.get("Content-Length") or 0))
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.close()

    def _relay(self, out) -> None:
        status, headers = HTTPStatus.OK, []
        while line := out.readline():
            line = line.rstrip(b"\r\n")
            if not line:
                break
            key, _, value = line.decode("latin-1").partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        shutil.copyfileobj(out, self.wfile, CHUNK)
        self.close_connection = True


def _copy(src, dst, size: int) -> None:
    while size > 0:
        data = src.read(min(CHUNK, size))
        if not data:
            raise ValueError("the request body ended early")
        dst.write(data)
        size -= len(data)


class GateServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: GateConfig) -> None:
        self.config = config
        super().__init__(address, Handler)


def serve(config: GateConfig, host: str, port: int, ready_file: str | None = None) -> None:
    upstream.prepare(config)
    server = GateServer((host, port), config)
    if ready_file:
        with open(ready_file + ".tmp", "w") as f:
            f.write(f"{server.server_address[1]}\n")
        os.replace(ready_file + ".tmp", ready_file)
    server.serve_forever()
