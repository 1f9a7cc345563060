"""No IPv6 in the agent's network namespace.

The bottle's networks are IPv4-only, yet a namespace with IPv6 on gets
link-local addresses, and the internal bridge keeps the host's ``fe80::``
address even with ``inhibit_ipv4``: through it a container reaches host
services listening on ``::`` (verified on Engine 20.10 by switching IPv6 back
on in a container on such a network). Engine 20.10 already turns IPv6 off in
containers on IPv4-only networks; the backend asks for it explicitly so the
bottle does not depend on what an engine version does by default.

runc refuses to start a container whose sysctl has no file, as on a kernel
without IPv6 (where there is nothing to switch off), so the sysctls are only
asked for where the kernel has them. gVisor (runsc) ignores them: there the
namespace keeps what the engine set (off, on Engine 20.10).
"""

from __future__ import annotations

SYSCTLS = {
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}

# Run in a runc container (the bundle, in the exec that finds it ready, so start-up
# pays no extra exec): prints "ipv6" where the engine's kernel has IPv6.
PROBE = "if test -d /proc/sys/net/ipv6; then echo ipv6; fi"


def kernel_has_ipv6(probe_output: str) -> bool:
    return "ipv6" in probe_output.split()


def agent_sysctls(kernel_ipv6: bool) -> dict[str, str]:
    return dict(SYSCTLS) if kernel_ipv6 else {}
