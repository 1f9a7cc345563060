"""Operator knobs of the docker backend, read from the environment.

They exist for air-gapped and corporate set-ups, and they are how the
tests keep every packet on the machine:

* ``BOT_BOTTLE_DOCKER_EGRESS_NETWORK``: an existing network to use as the
  sidecars' way out instead of a fresh per-bottle bridge;
* ``BOT_BOTTLE_DOCKER_OUTBOUND_INTERNAL=1``: make the per-bottle outbound
  network ``internal`` (nothing leaves the host);
* ``BOT_BOTTLE_DOCKER_EXTRA_HOSTS=name=ip,…``: fixed name resolution for
  the sidecars (split-horizon DNS, or a fake upstream in tests); egress
  dials these names at these addresses;
* ``BOT_BOTTLE_DOCKER_SIDECAR_DNS=ip[,ip]``: the DNS servers the sidecars'
  resolver forwards to instead of the engine's (an internal resolver, or the
  tests' fake DNS);
* ``BOT_BOTTLE_EGRESS_UPSTREAM_CA=/path/ca.pem``: a CA egress trusts for
  upstream servers, besides the public ones.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from bot_bottle_core.errors import BotBottleError


@attrs.frozen
class DockerOptions:
    egress_network: str | None = None
    outbound_internal: bool = False
    extra_hosts: Mapping[str, str] = attrs.field(factory=dict)
    upstream_ca: Path | None = None
    sidecar_dns: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DockerOptions:
        env = os.environ if environ is None else environ
        hosts: dict[str, str] = {}
        for pair in filter(
            None, (p.strip() for p in env.get("BOT_BOTTLE_DOCKER_EXTRA_HOSTS", "").split(","))
        ):
            name, sep, ip = pair.partition("=")
            if not sep or not name or not ip:
                raise BotBottleError(
                    f"BOT_BOTTLE_DOCKER_EXTRA_HOSTS has a malformed entry {pair!r}; "
                    "write name=ip pairs separated by commas."
                )
            hosts[name.strip()] = ip.strip()
        raw_dns = env.get("BOT_BOTTLE_DOCKER_SIDECAR_DNS", "").split(",")
        dns = tuple(filter(None, (d.strip() for d in raw_dns)))
        for d in dns:
            try:
                ipaddress.ip_address(d)
            except ValueError:
                raise BotBottleError(
                    f"BOT_BOTTLE_DOCKER_SIDECAR_DNS has {d!r}, which is not an IP address; "
                    "write DNS server addresses separated by commas."
                ) from None
        ca = env.get("BOT_BOTTLE_EGRESS_UPSTREAM_CA")
        if ca and not Path(ca).is_file():
            raise BotBottleError(f"BOT_BOTTLE_EGRESS_UPSTREAM_CA names {ca}, which is not a file.")
        return cls(
            egress_network=env.get("BOT_BOTTLE_DOCKER_EGRESS_NETWORK") or None,
            outbound_internal=env.get("BOT_BOTTLE_DOCKER_OUTBOUND_INTERNAL") == "1",
            extra_hosts=hosts,
            upstream_ca=Path(ca) if ca else None,
            sidecar_dns=dns,
        )
