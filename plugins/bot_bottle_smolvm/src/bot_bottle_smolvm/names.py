"""Names and labels of what the smolvm backend makes for a bottle.

The label keys are the docker backend's, with ``bot-bottle.backend=smolvm``:
one ``machine ls --json`` then tells this backend's machines from a user's own.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "bot-bottle"
LABEL_SLUG = f"{PREFIX}.slug"
LABEL_AGENT = f"{PREFIX}.agent"
LABEL_BACKEND = f"{PREFIX}.backend"
LABEL_LABEL = f"{PREFIX}.label"
LABEL_STARTED = f"{PREFIX}.started-at"
LABEL_HOME = f"{PREFIX}.home"
BACKEND = "smolvm"


def machine(slug: str) -> str:
    return f"bb-{slug}"


def labels(
    slug: str, agent: str, *, label: str | None, started_at: str, home: str | None
) -> dict[str, str]:
    out = {LABEL_SLUG: slug, LABEL_AGENT: agent, LABEL_BACKEND: BACKEND, LABEL_STARTED: started_at}
    if label:
        out[LABEL_LABEL] = label
    if home:
        out[LABEL_HOME] = home
    return out


def is_mine(labels: Mapping[str, str]) -> bool:
    return labels.get(LABEL_BACKEND) == BACKEND


def of_home(labels: Mapping[str, str], home: str | None) -> bool:
    """Whether ``home`` may clean up what carries these labels (``None``: any home)."""
    theirs = labels.get(LABEL_HOME)
    return home is None or theirs is None or theirs == home
