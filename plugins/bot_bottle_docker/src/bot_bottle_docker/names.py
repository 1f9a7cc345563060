"""Names and labels of everything the docker backend creates for a bottle.

Every container, network and volume carries the same labels, so listing
and cleanup are one filtered call each and never touch anything else.
"""

from __future__ import annotations

from bot_bottle_sidecars import layout

from bot_bottle_core import labels as keys
from bot_bottle_core.labels import of_home  # noqa: F401  (used as names.of_home)

PREFIX = keys.PREFIX
LABEL_SLUG = keys.SLUG
LABEL_AGENT = keys.AGENT
LABEL_BACKEND = keys.BACKEND
LABEL_ROLE = keys.ROLE
LABEL_LABEL = keys.LABEL
LABEL_STARTED = keys.STARTED
LABEL_HOME = keys.HOME
BACKEND = "docker"
MINE = f"{LABEL_BACKEND}={BACKEND}"

ROLE_AGENT = "agent"
ROLE_SIDECARS = "sidecars"
ROLE_INTERNAL = "internal-network"
ROLE_OUTBOUND = "outbound-network"
ROLE_WORKSPACE = "workspace"

# Names the agent reaches its sidecars by, on its internal network.
SIDECAR_ALIASES = ("egress", "git-gate", "supervise")
EGRESS_PORT = layout.EGRESS_PORT
SUPERVISE_ALIAS = "supervise"
SUPERVISE_URL = f"http://{SUPERVISE_ALIAS}:{layout.SUPERVISE_PORT}{layout.SUPERVISE_PATH}"


def agent_container(slug: str) -> str:
    return f"bb-{slug}-agent"


def sidecars_container(slug: str) -> str:
    return f"bb-{slug}-sidecars"


def internal_network(slug: str) -> str:
    return f"bb-{slug}-int"


def outbound_network(slug: str) -> str:
    return f"bb-{slug}-out"


def workspace_volume(slug: str) -> str:
    return f"bb-{slug}-workspace"


def labels(
    slug: str, agent: str, role: str, label: str | None = None, home: str | None = None
) -> dict[str, str]:
    out = {
        LABEL_SLUG: slug,
        LABEL_AGENT: agent,
        LABEL_BACKEND: BACKEND,
        LABEL_ROLE: role,
    }
    if label:
        out[LABEL_LABEL] = label
    if home:
        out[LABEL_HOME] = home
    return out
