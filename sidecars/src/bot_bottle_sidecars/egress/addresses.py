"""Where egress dials a routed name: operator pins first, then its own lookup,
and never an address the agent could use to reach inside.

* Pins (``egress_resolve``: ``{"host[:port]": "addr[:port]"}``) are the
  operator's word: the name is dialled at that address, whatever range it is in
  (a test upstream, split-horizon DNS, an air-gapped mirror).
* Every other name is looked up here, and answers in loopback, link-local,
  private, shared, multicast, reserved or unspecified ranges (IPv4 embedded in
  IPv6 included) are refused, so a routed name whose DNS points at the host, the
  Docker bridge or a cloud metadata address reaches nothing. A route that names
  an address itself (``host: 10.0.0.7``) is dialled as written.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket

from bot_bottle_sidecars.routes.hosts import normalize_host, split_host_port

__all__ = ["Pins", "UpstreamRefused", "address_problem", "parse_pins", "pick_address"]

Pins = dict[tuple[str, int | None], tuple[str, int | None]]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class UpstreamRefused(Exception):
    """The name resolved, but to nothing egress may dial; ``str()`` says why."""


def parse_pins(text: str) -> Pins:
    """Parse ``egress_resolve``. A ``host:port`` key wins over a bare ``host``. ``ValueError``."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"egress_resolve is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("egress_resolve must be a JSON object")
    out: Pins = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise ValueError(f"egress_resolve[{key!r}] must be a string 'addr' or 'addr:port'")
        try:
            host, port = split_host_port(key)
            addr, addr_port = split_host_port(value)
            out[(normalize_host(host), port)] = (addr.strip("[]"), addr_port)
        except ValueError as exc:
            raise ValueError(f"egress_resolve[{key!r}]: {exc}") from None
    return out


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


# Not public, though this Python's ipaddress does not say so for all of them.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n) for n in ("192.0.0.0/24", "fec0::/10", "3fff::/20", "100.64.0.0/10")
)


def address_problem(ip: IP) -> str | None:
    """Why egress may not dial ``ip`` for a name, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            problem = address_problem(inner)
            return f"{problem} (inside {ip})" if problem else None
    if any(ip.version == net.version and ip in net for net in _NOT_PUBLIC):
        return f"{ip} is not a public address"
    for test, what in (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    ):
        if test:
            return f"{ip} is {what}"
    return None


async def pick_address(host: str, port: int) -> str:
    """Look ``host`` up and return the first address egress may dial, or raise.

    ``socket.gaierror`` when the name does not resolve; :class:`UpstreamRefused`
    when every answer is refused (the message names them).
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    refused = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        problem = address_problem(ip)
        if problem is None:
            return str(ip)
        refused.append(problem)
    reasons = "; ".join(dict.fromkeys(refused)) or "no address"
    raise UpstreamRefused(
        f"{host} resolves to {reasons}: egress does not dial such addresses for a name"
        " unless the route names the address itself or the operator pins the name"
    )
