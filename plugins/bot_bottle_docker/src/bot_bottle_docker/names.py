"""Names and labels of everything the docker backend creates for a bottle.

Every container, network and volume carries the same labels, so listing
and cleanup are one filtered call each and never touch anything else.
"""

from __future__ import annotations

from bot_bottle_sidecars import layout

PREFIX = "bot-bottle"
LABEL_SLUG = f"{PREFIX}.slug"
LABEL_AGENT = f"{PREFIX}.agent"
LABEL_BACKEND = f"{PREFIX}.backend"
LABEL_ROLE = f"{PREFIX}.role"
LABEL_LABEL = f"{PREFIX}.label"
LABEL_STARTED = f"{PREFIX}.started-at"
LABEL_HOME = f"{PREFIX}.home"  # which bot-bottle home made it (cleanup stays in its own)
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


def of_home(labels: dict[str, str] | None, home: str | None) -> bool:
    """Whether ``home`` may clean up a resource with these labels (``None``: any home).

    A resource without a home label predates them: every home may.
    """
    theirs = (labels or {}).get(LABEL_HOME)
    return home is None or theirs is None or theirs == home
