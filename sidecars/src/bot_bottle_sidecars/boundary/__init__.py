"""The boundary self-check: what the probe tries, and how its answers read.

``probe.c`` beside this file is built into the bundle image at
:data:`PROBE_IN_BUNDLE` (a static binary, so it runs in any agent image). A
backend copies it into the agent, root-owned at :data:`PROBE_IN_AGENT`, runs
:func:`probe_argv` there as the agent user and reads the output with
:func:`parse`. Every backend builds its probe list from :class:`Targets`, so the
same rules are proven wherever a bottle runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import layout

__all__ = [
    "HOST_TCP_PORTS",
    "HOST_UDP_PORTS",
    "PROBE_IN_AGENT",
    "PROBE_IN_BUNDLE",
    "UNROUTED_HOST",
    "ProbeResult",
    "Targets",
    "complete",
    "exit_status",
    "expected",
    "parse",
    "probe_argv",
]

PROBE_IN_BUNDLE = "/opt/bot-bottle/boundary-probe"
PROBE_IN_AGENT = "/usr/local/libexec/bot-bottle/boundary-probe"
# Ports tried on every address the agent must not reach: ssh, DNS, web, the
# engine's TCP API, the egress port (the upstream side of the proxy).
HOST_TCP_PORTS = (22, 53, 80, 443, 2375, 2376, layout.EGRESS_PORT)
HOST_UDP_PORTS = (53,)
# Asked of egress: never a route (config refuses nothing here, so the check
# also fails if some route does admit it).
UNROUTED_HOST = "unrouted.bot-bottle-check.invalid"
# A name outside the bottle every resolver on the internet knows.
OUTSIDE_NAME = "example.com"
# How long an unanswered connection counts as not reached. A host on the same
# bridge answers in well under a millisecond; and a datagram to this host's
# listening port arrives whether or not the probe waited for an answer.
CONNECT_TIMEOUT_MS = 25
# How long a name may take to resolve. The agent's resolver is the engine's,
# which answers bottle names itself and forwards the rest; a resolver that
# forwards somewhere real answers a well-known name from its cache or within
# one round trip (tests: the fake resolver, tens of ms). Longer costs every start.
DNS_TIMEOUT_MS = 60
# egress answers in milliseconds; this is for a machine under load.
HTTP_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class ProbeResult:
    """One probe's verdict: ``held`` when the boundary stopped it."""

    probe: str
    target: str
    held: bool
    detail: str

    def line(self) -> str:
        verdict = "held" if self.held else "GOT THROUGH"
        return f"{self.probe:<14} {verdict:<12} {self.target}: {self.detail}"


@dataclass(frozen=True)
class Targets:
    """Everything one bottle's probe tries; addresses the agent must not reach.

    ``addresses`` maps a label ("outbound gateway") to an address of this host
    or of the bottle's own networks; each gets every port in ``tcp_ports`` and
    ``udp_ports``. ``names`` must not resolve. ``proxy`` is egress as the agent
    reaches it, ``ip:port``.
    """

    addresses: Sequence[tuple[str, str]]
    names: Sequence[str]
    proxy: str | None
    tcp_ports: Sequence[int] = HOST_TCP_PORTS
    udp_ports: Sequence[int] = HOST_UDP_PORTS
    extra_tcp: Sequence[tuple[str, str, int]] = field(default=())
    extra_udp: Sequence[tuple[str, str, int]] = field(default=())
    dead_gateways: Sequence[str] = field(default=())


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def probe_argv(
    targets: Targets,
    *,
    nonce: str,
    probe: str = PROBE_IN_AGENT,
    timeout_ms: int = CONNECT_TIMEOUT_MS,
    dns_timeout_ms: int = DNS_TIMEOUT_MS,
    http_timeout_ms: int = HTTP_TIMEOUT_MS,
) -> list[str]:
    """The command line that runs every probe of ``targets``."""
    argv = [probe, "-t", str(timeout_ms), "-D", str(dns_timeout_ms)]
    argv += ["-H", str(http_timeout_ms), "-n", nonce]
    tcp = [(label, a, p) for label, a in targets.addresses for p in targets.tcp_ports]
    udp = [(label, a, p) for label, a in targets.addresses for p in targets.udp_ports]
    for label, address, port in [*tcp, *targets.extra_tcp]:
        argv += ["-T", f"{label}={_endpoint(address, port)}"]
    for label, address, port in [*udp, *targets.extra_udp]:
        argv += ["-U", f"{label}={_endpoint(address, port)}"]
    for gateway in targets.dead_gateways:
        argv += ["-G", gateway]
    for name in dict.fromkeys([OUTSIDE_NAME, *targets.names]):
        argv += ["-d", name]
    if targets.proxy:
        argv += ["-p", targets.proxy, "-u", UNROUTED_HOST]
    return argv


def parse(output: str) -> list[ProbeResult]:
    """The probe's JSON lines as results; raises ``ValueError`` on anything else.

    Every non-empty line must be a verdict: output the probe did not write
    (something else writing into its stdout) must not pass for it.
    """
    results = []
    for line in output.splitlines():
        line = line.strip()
        if not line:
            continue
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise ValueError(f"not a probe verdict: {line[:200]}")
        try:
            results.append(
                ProbeResult(
                    probe=str(raw["probe"]),
                    target=str(raw["target"]),
                    held=raw["held"] is True,
                    detail=str(raw["detail"]),
                )
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a probe verdict: {line[:200]}") from exc
    if not results:
        raise ValueError(f"the boundary probe printed no verdicts: {output.strip()[:300]!r}")
    return results


ALWAYS = ("route", "capabilities", "no_new_privs", "engine-socket")


def expected(targets: Targets) -> list[str]:
    """The probe kinds a run over ``targets`` must report on."""
    kinds = [*ALWAYS, "dns"]
    if targets.addresses or targets.extra_tcp:
        kinds.append("tcp")
    if targets.addresses or targets.extra_udp:
        kinds.append("udp")
    if targets.proxy:
        kinds.append("egress")
    return kinds


def exit_status(results: Sequence[ProbeResult], code: int | None) -> list[ProbeResult]:
    """A failed verdict unless the probe's exit status agrees with its verdicts
    (0: every probe held, 1: some got through); a probe killed or stopped midway
    must not pass for one that finished."""
    want = 0 if all(r.held for r in results) else 1
    if code == want:
        return []
    return [ProbeResult("exit", "the probe itself", False, f"exited {code}, expected {want}")]


def complete(results: Sequence[ProbeResult], targets: Targets) -> list[ProbeResult]:
    """``results`` plus a failed verdict for every expected probe that said nothing.

    A probe that died before it printed must not read as one that held.
    """
    seen = {r.probe for r in results}
    silent = [
        ProbeResult(kind, "the probe itself", False, "no verdict came back: the probe did not run")
        for kind in expected(targets)
        if kind not in seen
    ]
    return [*results, *silent]
