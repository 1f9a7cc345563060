"""Names and labels of what the macos-container backend creates for a bottle.

The label keys are the docker backend's, so both backends' resources read the
same (``bot-bottle.slug``, ``bot-bottle.home``, ...); only ``bot-bottle.backend``
tells them apart. Apple's CLI accepts these keys (lower case, dots and hyphens:
its ``ResourceLabels.validateLabelKey``) and has no label filter on ``list``,
so listing and cleanup filter on them here.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "bot-bottle"
LABEL_SLUG = f"{PREFIX}.slug"
LABEL_AGENT = f"{PREFIX}.agent"
LABEL_BACKEND = f"{PREFIX}.backend"
LABEL_ROLE = f"{PREFIX}.role"
LABEL_LABEL = f"{PREFIX}.label"
LABEL_STARTED = f"{PREFIX}.started-at"
LABEL_HOME = f"{PREFIX}.home"  # which bot-bottle home made it (cleanup stays in its own)
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


def of_home(labels: Mapping[str, str], home: str | None) -> bool:
    """Whether ``home`` may clean up a resource with these labels (``None``: any home).

    A resource without a home label predates them: every home may.
    """
    theirs = labels.get(LABEL_HOME)
    return home is None or theirs is None or theirs == home
