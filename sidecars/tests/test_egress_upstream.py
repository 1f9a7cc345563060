"""Where egress dials, and what a client reads when upstream fails.

* A routed name that resolves to a non-public address (here ``localhost``, from
  /etc/hosts: no DNS query leaves the machine) is refused with a 403 and never
  dialled; a route that names the address itself, or a pinned name, is dialled.
* Upstream failures (refused, certificate not trusted, timeout) get bot-bottle's
  page with ``X-Bot-Bottle-Egress: failed``, never mitmproxy's HTML. (A name that
  does not resolve is tested with the fake DNS in ``tests/integration``.)
* curl and Python's urllib, as an agent would run them, show the explanation.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from bot_bottle_sidecars.egress.addresses import address_problem
from bot_bottle_testing.certs import make_certs
from conftest import LoopbackServer
from egress_client import assert_denied, https

# --------------------------------------------------------------------------- address ranges


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.17.0.1", "private"),  # Docker's bridge
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "public"),  # shared address space: "not a public address"
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("240.0.0.1", "address"),  # reserved (Python counts it private too)
        ("192.0.0.8", "not a public address"),
        ("fec0::1", "not a public address"),  # deprecated site-local
        ("3fff::1", "not a public address"),  # documentation
    ],
)
def test_non_public_answers_are_refused(address, what):
    problem = address_problem(ipaddress.ip_address(address))
    assert problem is not None and what in problem, problem


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "1.1.1.1"])
def test_public_answers_pass(address):
    assert address_problem(ipaddress.ip_address(address)) is None


# --------------------------------------------------------------------------- fake upstreams


class _Silent(LoopbackServer):
    """Accepts connections and never answers (a black-holed service)."""

    def __init__(self) -> None:
        self.held: list[socket.socket] = []
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        self.held.append(conn)


class _ForeignTls(LoopbackServer):
    """An HTTPS server whose certificate comes from a CA egress does not trust."""

    def __init__(self, tmp) -> None:
        certs = make_certs(tmp, ["badcert.example.test"])
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certs.server_cert, certs.server_key)
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def egress(module_egress, upstream, module_listener, tmp_path_factory):
    from conftest import resolve_map

    silent = _Silent()
    foreign = _ForeignTls(tmp_path_factory.mktemp("foreign"))
    pins = resolve_map(upstream)
    pins["refused.example.test:443"] = f"127.0.0.1:{_closed_port()}"
    pins["slow.example.test:443"] = f"127.0.0.1:{silent.port}"
    pins["badcert.example.test:443"] = f"127.0.0.1:{foreign.port}"
    routes = {
        "routes": [
            {"host": "other.example.test"},
            {"host": "localhost", "ports": [module_listener.port]},
            {"host": "127.0.0.1", "ports": [module_listener.port]},
            {"host": "refused.example.test"},
            {"host": "slow.example.test"},
            {"host": "badcert.example.test"},
        ]
    }
    return module_egress(
        routes,
        env={
            "BOT_BOTTLE_EGRESS_RESOLVE": json.dumps(pins),
            "BOT_BOTTLE_EGRESS_CONNECT_TIMEOUT": "1",
        },
    )


def _via_tunnel(egress, host: str, port: int):
    from egress_client import mitm_tls, request, tunnel

    _answer, raw = tunnel(egress.port, f"{host}:{port}")
    with mitm_tls(egress, raw, None if host[0].isdigit() else host) as s:
        return request(s, "GET", "/x", f"{host}:{port}")


def test_a_routed_name_resolving_to_loopback_is_refused_and_never_dialled(egress, listener):
    mark = egress.mark()
    r = _via_tunnel(egress, "localhost", listener.port)
    assert_denied(r, "localhost resolves to", "loopback address")
    line = egress.wait_for_line(lambda x: x.get("kind") == "connection", since=mark)
    assert line["decision"] == "deny" and "loopback" in line["reason"]


def test_a_route_naming_the_address_itself_is_dialled(egress, listener):
    listener.expect_accepts = 1
    # The listener echoes the request back: what matters is that it was reached.
    r = _via_tunnel(egress, "127.0.0.1", listener.port)
    assert r.status != 403 or r.headers.get("x-bot-bottle-egress") != "denied"


def _assert_failed(r, status: int, *needles: str) -> None:
    assert r.status == status, r
    assert r.headers.get("x-bot-bottle-egress") == "failed"
    assert r.headers.get("content-type", "").startswith("text/plain")
    text = r.body.decode()
    assert "not a policy refusal" in text and "mitmproxy" not in text.lower()
    for needle in needles:
        assert needle in text, (needle, text)


def test_connection_refused_gets_the_failure_page(egress):
    _assert_failed(https(egress, "refused.example.test", "GET", "/"), 502, "refused the connection")


def test_an_untrusted_upstream_certificate_gets_the_failure_page(egress):
    _assert_failed(
        https(egress, "badcert.example.test", "GET", "/"), 502, "certificate is not trusted"
    )


def test_an_upstream_that_never_answers_times_out_with_a_504(egress):
    _assert_failed(https(egress, "slow.example.test", "GET", "/"), 504, "timed out")


# --------------------------------------------------------------------------- real clients


def _urllib(egress, url: str) -> tuple[int, dict, str]:
    ctx = ssl.create_default_context(cafile=str(egress.ca_cert))
    proxy = f"http://127.0.0.1:{egress.port}"
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": proxy, "https": proxy}),
        urllib.request.HTTPSHandler(context=ctx),
    )
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


@pytest.mark.parametrize(
    ("url", "status", "kind", "needle"),
    [
        ("https://unrouted.example.test/repo", 403, "denied", "egress-block"),
        ("http://unrouted.example.test/repo", 403, "denied", "egress-block"),
        ("https://other.example.test:8443/", 403, "denied", "port 8443 is not routed"),
        ("https://refused.example.test/", 502, "failed", "refused the connection"),
    ],
)
def test_python_urllib_shows_the_explanation(egress, url, status, kind, needle):
    code, headers, body = _urllib(egress, url)
    assert code == status
    assert headers.get("X-Bot-Bottle-Egress") == kind
    assert needle in body


def test_curl_shows_the_explanation(egress):
    out = subprocess.run(
        [
            "curl", "-s", "--max-time", "10", "--proxy", f"http://127.0.0.1:{egress.port}",
            "--cacert", str(egress.ca_cert), "-w", "\n%{http_code}",
            "https://unrouted.example.test/x",
        ],
        capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    body, _, code = out.stdout.rpartition("\n")
    assert code == "403"
    assert "no route for host unrouted.example.test" in body and "egress-block" in body
