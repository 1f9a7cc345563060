"""Names and labels of what the macos-container backend creates for a bottle.

The label keys are every backend's (:mod:`bot_bottle_core.labels`), so all
backends' resources read the same (``bot-bottle.slug``, ``bot-bottle.home``, ...);
only ``bot-bottle.backend`` tells them apart. Apple's CLI accepts these keys
(lower case, dots and hyphens: its ``ResourceLabels.validateLabelKey``) and has no
label filter on ``list``, so listing and cleanup filter on them here.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot_bottle_core import labels as keys
from bot_bottle_core.labels import of_home  # noqa: F401  (used as names.of_home)

LABEL_SLUG = keys.SLUG
LABEL_AGENT = keys.AGENT
LABEL_BACKEND = keys.BACKEND
LABEL_ROLE = keys.ROLE
LABEL_LABEL = keys.LABEL
LABEL_STARTED = keys.STARTED
LABEL_HOME = keys.HOME
BACKEND = "macos-container"

ROLE_AGENT = "agent"
ROLE_SIDECARS = "sidecars"


def agent_container(slug: str) -> str:
    return f"bb-{slug}-agent"


def sidecars_container(slug: str) -> str:
    return f"bb-{slug}-sidecars"


def labels(
    slug: str, agent: str, role: str, label: str | None = None, home: str | None = None
) -> dict[str, str]:
    out = {LABEL_SLUG: slug, LABEL_AGENT: agent, LABEL_BACKEND: BACKEND, LABEL_ROLE: role}
    if label:
        out[LABEL_LABEL] = label
    if home:
        out[LABEL_HOME] = home
    return out


def is_mine(labels: Mapping[str, str]) -> bool:
    return labels.get(LABEL_BACKEND) == BACKEND
