"""The sidecar bundle's environment: the only place real tokens go.

The contract is :mod:`bot_bottle_sidecars.layout`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from bot_bottle_sidecars import layout

from bot_bottle_core.plan import PrepareRequest

from . import names
from .options import DockerOptions

# The upstream CA's copy beside the routes, in the bundle's one read-only mount.
UPSTREAM_CA_FILE = "upstream-ca.pem"


def pins(extra_hosts: Mapping[str, str]) -> str:
    """``BOT_BOTTLE_EGRESS_RESOLVE`` for the operator's fixed names (IPv6 in brackets)."""
    return json.dumps(
        {name: f"[{ip}]" if ":" in ip else ip for name, ip in extra_hosts.items()},
        sort_keys=True,
    )


def sidecar_env(
    request: PrepareRequest, opts: DockerOptions, *, daemons: str, listen_host: str
) -> dict[str, str]:
    """``daemons``: the bundle's comma list of sidecars to run."""
    # One slot per auth route, bound to that route's host: egress can send a
    # token nowhere else, and no other variable of its environment.
    slots = [(r.auth.token_ref, r.host) for r in request.routes if r.auth is not None]
    env = {
        layout.ENV_SIDECARS: daemons,
        layout.ENV_EGRESS_LISTEN_HOST: listen_host,
        layout.ENV_SUPERVISE_LISTEN_HOST: listen_host,
        # The name the agent uses (its Host header): the only one supervise answers to.
        layout.ENV_SUPERVISE_HOSTS: names.SUPERVISE_ALIAS,
        layout.ENV_EGRESS_DECISIONS: layout.EGRESS_DECISIONS,
        **layout.token_environment(slots, request.tokens),
    }
    if request.bottle.git.repos:
        env[layout.ENV_GIT_GATE_LISTEN_HOST] = listen_host
        env[layout.ENV_GIT_GATE_LOG] = layout.GIT_GATE_LOG
        # Each repo's key, for the gate alone (the bundle's init gives it no other daemon).
        env.update({f"{layout.ENV_GIT_KEY_PREFIX}{n}": k for n, k in request.git_keys.items()})
    if opts.extra_hosts:
        # Egress resolves other names itself and refuses private answers; the
        # operator's fixed names are pins it dials as given.
        env[layout.ENV_EGRESS_RESOLVE] = pins(opts.extra_hosts)
    if opts.upstream_ca is not None:
        env[layout.ENV_UPSTREAM_CA] = f"{layout.CONFIG_DIR}/{UPSTREAM_CA_FILE}"
    return env
