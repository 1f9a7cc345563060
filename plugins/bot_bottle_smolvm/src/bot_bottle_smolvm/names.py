"""Names and labels of what the smolvm backend makes for a bottle.

The label keys are every backend's (:mod:`bot_bottle_core.labels`), with
``bot-bottle.backend=smolvm``: one ``machine ls --json`` then tells this
backend's machines from a user's own.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot_bottle_core import labels as keys
from bot_bottle_core.labels import of_home  # noqa: F401  (used as names.of_home)

LABEL_SLUG = keys.SLUG
LABEL_AGENT = keys.AGENT
LABEL_BACKEND = keys.BACKEND
LABEL_LABEL = keys.LABEL
LABEL_STARTED = keys.STARTED
LABEL_HOME = keys.HOME
BACKEND = "smolvm"


def machine(slug: str) -> str:
    return f"bb-{slug}"


def labels(
    slug: str, agent: str, *, label: str | None, started_at: str, home: str | None
) -> dict[str, str]:
    """``home``: the bot-bottle home's id; ``None`` only where the home has none, and
    then every home's cleanup may take the machine."""
    out = {LABEL_SLUG: slug, LABEL_AGENT: agent, LABEL_BACKEND: BACKEND, LABEL_STARTED: started_at}
    if label:
        out[LABEL_LABEL] = label
    if home:
        out[LABEL_HOME] = home
    return out


def is_mine(labels: Mapping[str, str]) -> bool:
    return labels.get(LABEL_BACKEND) == BACKEND
