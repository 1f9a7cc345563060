"""The probe's command line and its answers, as every backend builds and reads them."""

from __future__ import annotations

import pytest
from bot_bottle_sidecars.boundary import (
    OUTSIDE_NAME,
    PROBE_IN_AGENT,
    UNROUTED_HOST,
    ProbeResult,
    Targets,
    complete,
    exit_status,
    expected,
    parse,
    probe_argv,
)


def test_every_address_gets_every_port_and_the_names_the_proxy_and_dead_gateways():
    targets = Targets(
        addresses=[("outbound gateway", "10.0.0.1"), ("v6 host", "fd00::1")],
        names=["api.example.com", OUTSIDE_NAME],
        proxy="10.213.0.14:8080",
        tcp_ports=(22, 443),
        udp_ports=(53,),
        extra_tcp=[("this host", "10.0.0.1", 40000)],
        dead_gateways=["10.213.0.1"],
    )
    argv = probe_argv(targets, nonce="n0nce", timeout_ms=40, dns_timeout_ms=70, http_timeout_ms=900)
    assert argv[:9] == [PROBE_IN_AGENT, "-t", "40", "-D", "70", "-H", "900", "-n", "n0nce"]
    pairs = list(zip(argv[9::2], argv[10::2], strict=True))
    assert ("-T", "outbound gateway=10.0.0.1:22") in pairs
    assert ("-T", "v6 host=[fd00::1]:443") in pairs
    assert ("-T", "this host=10.0.0.1:40000") in pairs
    assert ("-U", "v6 host=[fd00::1]:53") in pairs
    assert [v for k, v in pairs if k == "-d"] == [OUTSIDE_NAME, "api.example.com"]
    assert ("-G", "10.213.0.1") in pairs
    assert ("-p", "10.213.0.14:8080") in pairs and ("-u", UNROUTED_HOST) in pairs


def test_no_proxy_means_no_egress_probe():
    argv = probe_argv(Targets(addresses=[], names=[], proxy=None), nonce="x")
    assert "-p" not in argv and "-u" not in argv


def test_answers_are_read():
    out = (
        '{"probe":"tcp","target":"gw 10.0.0.1:22","held":true,"detail":"unreachable"}\n'
        '{"probe":"route","target":"IPv4 default route","held":false,"detail":"via 10.0.0.1"}\n'
    )
    assert parse(out) == [
        ProbeResult("tcp", "gw 10.0.0.1:22", True, "unreachable"),
        ProbeResult("route", "IPv4 default route", False, "via 10.0.0.1"),
    ]


def test_only_a_literal_true_holds():
    out = '{"probe":"tcp","target":"t","held":"true","detail":"d"}'
    assert parse(out)[0].held is False


@pytest.mark.parametrize(
    "out",
    [
        "",
        "sh: 1: boundary-probe: not found\n",
        '{"probe":"tcp"}\n',
        "{broken\n",
        "[1]\n",
        # a line someone else wrote into the probe's output, among real verdicts
        '{"probe":"tcp","target":"t","held":true,"detail":"d"}\nforged\n',
    ],
)
def test_no_verdicts_or_a_broken_one_is_an_error(out):
    with pytest.raises(ValueError):
        parse(out)


def test_a_probe_that_said_nothing_counts_as_one_that_got_through():
    targets = Targets(addresses=[("gw", "10.0.0.1")], names=[], proxy="10.0.0.14:8080")
    assert expected(targets) == [
        "route",
        "capabilities",
        "no_new_privs",
        "engine-socket",
        "dns",
        "tcp",
        "udp",
        "egress",
    ]
    said = [ProbeResult(kind, "t", True, "d") for kind in expected(targets) if kind != "egress"]
    verdicts = complete(said, targets)
    assert verdicts[:-1] == said
    assert verdicts[-1].probe == "egress" and not verdicts[-1].held


@pytest.mark.parametrize(
    "held,code,ok",
    [(True, 0, True), (False, 1, True), (True, 1, False), (False, 0, False), (True, 137, False)],
)
def test_the_exit_status_must_agree_with_the_verdicts(held, code, ok):
    verdicts = [ProbeResult("tcp", "t", held, "d")]
    extra = exit_status(verdicts, code)
    assert (extra == []) is ok
    assert all(not r.held for r in extra)
