"""The labels every backend puts on what it creates for a bottle.

One vocabulary for all backends, so a listing or a cleanup reads any of them the
same way; each backend adds ``backend=<its name>`` and keeps to its own.
"""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "bot-bottle"
SLUG = f"{PREFIX}.slug"
AGENT = f"{PREFIX}.agent"
BACKEND = f"{PREFIX}.backend"
ROLE = f"{PREFIX}.role"
LABEL = f"{PREFIX}.label"
STARTED = f"{PREFIX}.started-at"
HOME = f"{PREFIX}.home"  # which bot-bottle home made it (cleanup stays in its own)


def of_home(labels: Mapping[str, str] | None, home: str | None) -> bool:
    """Whether ``home`` may clean up a resource with these labels (``None``: any home).

    A resource without a home label predates them: every home may.
    """
    theirs = (labels or {}).get(HOME)
    return home is None or theirs is None or theirs == home
