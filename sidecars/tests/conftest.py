"""Fixtures for the sidecar bundle's tests.

Nothing here sends a packet anywhere but loopback (and, for the one Docker test,
the test's own containers and the package mirrors during the image build):

* ``certs``: a throw-away test CA and a server certificate for the test names;
* ``upstream``: fake "internet" servers on 127.0.0.1 (HTTPS and plain HTTP) that
  echo what they received as JSON and count every TCP connection they accept;
* ``start_egress``: runs the real egress proxy (``python -m bot_bottle_sidecars.egress``,
  mitmproxy in a subprocess) on 127.0.0.1 with a free port, told to trust the test
  CA and to reach the test names through ``BOT_BOTTLE_EGRESS_RESOLVE`` (name[:port]
  → 127.0.0.1:port), so no test name is ever looked up in DNS.

Docker: ``docker_client`` and ``base_image`` come from the ``bot_bottle_testing``
pytest plugin (skip without an engine, fail under ``CI=true``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bot_bottle_testing.certs import Certs, make_certs

sys.path.insert(0, str(Path(__file__).parent))  # egress_client, shared by the attack tests

READY_TIMEOUT_S = 30

TEST_NAMES = [
    "api.example.test",
    "other.example.test",
    "methods.example.test",
    "pass.example.test",
    "noauth.example.test",
    "plain.example.test",
    "new.example.test",
    "unrouted.example.test",
]


# --------------------------------------------------------------------------- certificates


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"), TEST_NAMES)


# --------------------------------------------------------------------------- fake upstream


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _EchoServer

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        remaining, got = length, 0
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            got += len(chunk)
            remaining -= len(chunk)
        record = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": got,
            "tls": self.server.tls,
        }
        self.server.record(record)
        body = json.dumps(record).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _echo

    def log_message(self, format: str, *args: object) -> None:
        pass


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls_context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.tls_context = tls_context
        self.tls = tls_context is not None
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.accepted = 0

    def record(self, record: dict) -> None:
        with self.lock:
            self.requests.append(record)

    def get_request(self):
        sock, addr = self.socket.accept()
        with self.lock:
            self.accepted += 1
        return sock, addr

    def finish_request(self, request, client_address) -> None:
        if self.tls_context is not None:
            request.settimeout(10)
            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        pass


@dataclass
class Upstream:
    https: _EchoServer
    http: _EchoServer
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.https.accepted + self.http.accepted

    @property
    def requests(self) -> list[dict]:
        with self.https.lock, self.http.lock:
            return self.https.requests + self.http.requests

    def snapshot(self) -> tuple[int, int]:
        return self.accepted, len(self.requests)


@pytest.fixture(scope="session")
def upstream(certs: Certs) -> Iterator[Upstream]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    ctx.set_alpn_protocols(["http/1.1"])
    up = Upstream(_EchoServer(ctx), _EchoServer(None))
    for server in (up.https, up.http):
        t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
        t.daemon = True
        t.start()
        up.threads.append(t)
    yield up
    for server in (up.https, up.http):
        server.shutdown()
        server.server_close()


@pytest.fixture
def quiet_upstream(upstream):
    """Asserts the upstream saw no connection and no request during the test."""
    before = upstream.snapshot()
    yield upstream
    time.sleep(0.05)  # let a (wrongly) forwarded connection land before checking
    assert upstream.snapshot() == before, upstream.requests[-3:]


def resolve_map(up: Upstream, names: list[str] = TEST_NAMES) -> dict[str, str]:
    https_port = up.https.server_address[1]
    http_port = up.http.server_address[1]
    out = {}
    for name in names:
        out[f"{name}:443"] = f"127.0.0.1:{https_port}"
        out[f"{name}:80"] = f"127.0.0.1:{http_port}"
    return out


# --------------------------------------------------------------------------- egress process


@dataclass
class EgressProc:
    proc: subprocess.Popen
    workdir: Path
    routes_file: Path
    ready_file: Path
    confdir: Path
    stdout_path: Path
    stderr_path: Path
    port: int = 0

    @property
    def ca_cert(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def mark(self) -> int:
        return self.stdout_path.stat().st_size

    def lines(self, since: int = 0) -> list[dict]:
        with self.stdout_path.open("rb") as f:
            f.seek(since)
            data = f.read().decode()
        return [json.loads(line) for line in data.splitlines() if line.strip()]

    def decisions(self, since: int = 0) -> list[dict]:
        return [r for r in self.lines(since) if "decision" in r]

    def wait_for_line(
        self, predicate: Callable[[dict], bool], since: int = 0, timeout: float = 10
    ) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.lines(since):
                if predicate(record):
                    return record
            assert self.proc.poll() is None, f"egress died: {self.stderr()}"
            time.sleep(0.02)
        raise AssertionError(f"no matching log line; got {self.lines(since)}")

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def wait_ready(ready_file: Path, proc: subprocess.Popen, describe: Callable[[], str]) -> dict:
    deadline = time.monotonic() + READY_TIMEOUT_S
    delay = 0.01
    while time.monotonic() < deadline:
        if ready_file.exists():
            text = ready_file.read_text()
            if text.strip():
                return json.loads(text)
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode} before ready: {describe()}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    raise AssertionError(f"not ready after {READY_TIMEOUT_S}s: {describe()}")


def free_env() -> dict[str, str]:
    """The test process's environment minus anything bot-bottle or proxy related."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BOT_BOTTLE_") and k.lower() not in ("http_proxy", "https_proxy")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def egress_env(
    workdir: Path, certs: Certs, up: Upstream, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = free_env()
    env.update(
        {
            "BOT_BOTTLE_EGRESS_ROUTES": str(workdir / "routes.json"),
            "BOT_BOTTLE_EGRESS_READY_FILE": str(workdir / "run" / "egress.ready"),
            "BOT_BOTTLE_EGRESS_CONFDIR": str(workdir / "confdir"),
            "BOT_BOTTLE_EGRESS_LISTEN_HOST": "127.0.0.1",
            "BOT_BOTTLE_EGRESS_PORT": "0",
            "BOT_BOTTLE_UPSTREAM_CA": str(certs.ca_cert),
            "BOT_BOTTLE_EGRESS_RESOLVE": json.dumps(resolve_map(up)),
        }
    )
    env.update(extra or {})
    return env


def launch_egress(
    workdir: Path,
    certs: Certs,
    up: Upstream,
    routes: dict | str,
    env: dict[str, str] | None = None,
    wait: bool = True,
) -> EgressProc:
    """Start ``python -m bot_bottle_sidecars.egress`` in ``workdir``; wait for its ready file."""
    routes_file = workdir / "routes.json"
    routes_file.write_text(routes if isinstance(routes, str) else json.dumps(routes))
    full_env = egress_env(workdir, certs, up, env)
    out, err = workdir / "stdout.log", workdir / "stderr.log"
    with out.open("wb") as fo, err.open("wb") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot_bottle_sidecars.egress"],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=fo,
            stderr=fe,
        )
    ep = EgressProc(
        proc,
        workdir,
        routes_file,
        Path(full_env["BOT_BOTTLE_EGRESS_READY_FILE"]),
        Path(full_env["BOT_BOTTLE_EGRESS_CONFDIR"]),
        out,
        err,
    )
    if wait:
        try:
            info = wait_ready(ep.ready_file, proc, ep.stderr)
        except BaseException:
            ep.stop()
            raise
        ep.port = info["listen"][0][1]
    return ep


@pytest.fixture
def start_egress(
    tmp_path_factory: pytest.TempPathFactory, certs: Certs, upstream: Upstream
) -> Iterator[Callable[..., EgressProc]]:
    """Start egress processes for one test; all are stopped afterwards."""
    started: list[EgressProc] = []

    def start(routes: dict | str, env: dict[str, str] | None = None, wait: bool = True):
        ep = launch_egress(tmp_path_factory.mktemp("egress"), certs, upstream, routes, env, wait)
        started.append(ep)
        return ep

    yield start
    for ep in started:
        ep.stop()


@pytest.fixture(scope="module")
def module_egress(
    tmp_path_factory: pytest.TempPathFactory, certs: Certs, upstream: Upstream
) -> Iterator[Callable[..., EgressProc]]:
    """Like ``start_egress``, but the processes live for the whole module."""
    started: list[EgressProc] = []

    def start(routes: dict | str, env: dict[str, str] | None = None) -> EgressProc:
        ep = launch_egress(tmp_path_factory.mktemp("egress"), certs, upstream, routes, env)
        started.append(ep)
        return ep

    yield start
    for ep in started:
        ep.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_egress_env(certs: Certs, upstream: Upstream) -> Callable[..., dict[str, str]]:
    """``make(workdir, routes, **extra_env)`` → the environment an egress process needs."""

    def make(workdir: Path, routes: dict, **extra: str) -> dict[str, str]:
        (workdir / "routes.json").write_text(json.dumps(routes))
        return egress_env(workdir, certs, upstream, extra)

    return make


# --------------------------------------------------------------------------- a listener that counts


class LoopbackServer:
    """A TCP server on 127.0.0.1 that hands each accepted connection to :meth:`handle`,
    one at a time, on a thread of its own."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        conn.close()

    def close(self) -> None:
        self.sock.close()


class CountingListener(LoopbackServer):
    """Records what each accepted connection sent, and echoes it.

    Stands in for a service the proxy must never reach (ssh, DNS, a closed port's
    neighbour): a test asserts ``accepted == 0``.
    """

    def __init__(self) -> None:
        self.expect_accepts = 0  # what the ``listener`` fixture checks at the end of a test
        self.received: list[bytes] = []
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        try:
            self.received.append(conn.recv(65536))
            conn.sendall(self.received[-1])  # echo, so a relay would be visible
        except OSError:
            pass
        finally:
            conn.close()


@pytest.fixture(scope="module")
def module_listener() -> Iterator[CountingListener]:
    li = CountingListener()
    yield li
    li.close()


@pytest.fixture
def listener(module_listener: CountingListener) -> Iterator[CountingListener]:
    """The module's listener, asserting it accepted nothing during the test unless told."""
    before = module_listener.accepted
    module_listener.expect_accepts = 0
    yield module_listener
    assert module_listener.accepted - before == module_listener.expect_accepts
