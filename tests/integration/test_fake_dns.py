"""The sidecars resolve through the fake internet's DNS server, and only there.

The bundle's resolver is Docker's embedded DNS (127.0.0.11); names it does not
know it forwards to ``BOT_BOTTLE_DOCKER_SIDECAR_DNS``, which the tests point at
the fake upstream. Its log shows every query that arrived.
"""

from __future__ import annotations

import uuid

from bot_bottle_sidecars import layout
from fake_internet import DNS_NAME, dns_queries

# Short resolver timeouts: a lookup nobody answers gives up in seconds.
FAST = {"RES_OPTIONS": "timeout:2 attempts:1"}


def lookup(sidecars, name: str, **env: str) -> tuple[int, str]:
    result = sidecars.exec_run(
        ["getent", "hosts", name], user=layout.SIDECAR_USER, environment={**FAST, **env}
    )
    return result.exit_code, result.output.decode(errors="replace")


def test_a_mapped_name_resolves_to_the_upstream_and_is_logged(launched, upstream):
    code, out = lookup(launched.sidecars, DNS_NAME)
    assert code == 0 and out.split()[0] == upstream.ip, out
    assert {"name": DNS_NAME, "type": "A", "transport": "udp"} in dns_queries(upstream, DNS_NAME)


def test_an_unmapped_name_does_not_resolve_but_reached_the_server(launched, upstream):
    name = f"nx-{uuid.uuid4().hex[:12]}.example.test"
    code, out = lookup(launched.sidecars, name)
    assert code != 0, out
    # Answered NXDOMAIN by the fake, not lost on the way.
    assert dns_queries(upstream, name), f"{name} never reached the fake DNS"


def test_tcp_queries_are_forwarded_and_logged(launched, upstream):
    code, out = lookup(launched.sidecars, DNS_NAME, RES_OPTIONS="use-vc timeout:2 attempts:1")
    assert code == 0 and out.split()[0] == upstream.ip, out
    assert "tcp" in {q["transport"] for q in dns_queries(upstream, DNS_NAME)}


def test_the_servers_answers():
    import struct

    from fake_upstream.fake_dns import answer

    def query(name: str, qtype: int) -> bytes:
        labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
        return (
            struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0)
            + labels
            + b"\0"
            + struct.pack("!HH", qtype, 1)
        )

    def rcode_and_answers(reply: bytes) -> tuple[int, int]:
        flags, _, ancount = struct.unpack("!HHH", reply[2:8])
        return flags & 0xF, ancount

    names = {"dns.example.test": "10.1.2.3"}
    reply, q = answer(query("DNS.Example.Test", 1), names)
    assert q.name == "DNS.Example.Test" and rcode_and_answers(reply) == (0, 1)
    assert reply.endswith(bytes([10, 1, 2, 3]))
    assert rcode_and_answers(answer(query("dns.example.test", 28), names)[0]) == (0, 0)
    assert rcode_and_answers(answer(query("nope.example.test", 1), names)[0]) == (3, 0)
    assert answer(b"\0\7garbage", names)[1] is None
