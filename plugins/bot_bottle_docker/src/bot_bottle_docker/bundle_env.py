"""The sidecar bundle's environment: the only place real tokens go.

The contract is :mod:`bot_bottle_sidecars.layout`.
"""

from __future__ import annotations

from bot_bottle_sidecars import layout

from bot_bottle_core.plan import PrepareRequest

from .options import DockerOptions

# Daemons the bundle runs (git-gate and supervise join later).
SIDECARS = "egress"
# The upstream CA's copy beside the routes, in the bundle's one read-only mount.
UPSTREAM_CA_FILE = "upstream-ca.pem"


def sidecar_env(request: PrepareRequest, opts: DockerOptions, listen_host: str) -> dict[str, str]:
    env = {
        layout.ENV_SIDECARS: SIDECARS,
        layout.ENV_EGRESS_LISTEN_HOST: listen_host,
        **request.tokens,
    }
    if opts.upstream_ca is not None:
        env[layout.ENV_UPSTREAM_CA] = f"{layout.CONFIG_DIR}/{UPSTREAM_CA_FILE}"
    return env
