"""Every start proves its own boundary: the self-check's verdict, kept and enforced.

The backend runs the probes inside the agent (``launch`` returns the report,
or the core asks ``check_boundary``); a bottle where any probe got through is
torn down before anyone gets a terminal. The last report of every bottle is
kept in its state directory as ``boundary.json``, for ``bot-bottle check``
and ``--json`` readers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .dispatch import Backend
from .errors import BotBottleError
from .plan import BoundaryReport, PrepareRequest
from .state import write_json_atomic

if TYPE_CHECKING:
    import cattrs

REPORT = "boundary.json"

Echo = Callable[[str], None]


class BoundaryBreached(BotBottleError):
    """A probe got through: the bottle is not the sandbox it claims to be."""


@cache
def _converter() -> cattrs.Converter:
    import cattrs  # only commands that read or write a report pay for it

    return cattrs.Converter()


def to_json(report: BoundaryReport) -> dict:
    return _converter().unstructure(report)


def record(state_dir: Path, report: BoundaryReport) -> None:
    write_json_atomic(state_dir / REPORT, to_json(report))


def read(state_dir: Path) -> BoundaryReport | None:
    """The last report kept for a bottle, or ``None`` when there is none readable."""
    from cattrs import BaseValidationError

    try:
        raw = json.loads((state_dir / REPORT).read_text(encoding="utf-8"))
        return _converter().structure(raw, BoundaryReport)
    except (OSError, ValueError, BaseValidationError):
        return None


def render(report: BoundaryReport, *, only_failures: bool = False) -> str:
    shown = report.failures if only_failures else list(report.results)
    return "\n".join(f"  {r.line()}" for r in shown)


def breach_message(report: BoundaryReport, *, kept: bool) -> str:
    n = len(report.failures)
    after = (
        f"Its workspace and state are kept; fix the cause, then `bot-bottle resume {report.slug}`."
        if kept
        else "Nothing of it is left."
    )
    return (
        f"The bottle {report.slug} failed its boundary self-check: {n} of "
        f"{len(report.results)} probes got through, so it was torn down before the agent "
        f"got a terminal. {after} What got through (probed inside the agent as the agent "
        "user, and read from this host and the engine):\n"
        + render(report, only_failures=True)
        + "\nThis is a fault in the backend or in the engine's configuration (a network, "
        "capability or mount that should not be there), not in the agent."
    )


def enforce(
    backend: Backend, request: PrepareRequest, launched: BoundaryReport | None, echo: Echo
) -> BoundaryReport:
    """Check the freshly launched bottle (unless its launch did) and act on the verdict.

    Keeps the report in the state directory; on any failure, or if the check
    cannot run, tears the bottle down (keeping a resumed bottle's workspace)
    and raises.
    """
    keep = request.mode == "resume"
    try:
        report = launched if launched is not None else backend.check_boundary(request.slug)
        record(request.state_dir, report)
    except BaseException:
        _tear_down(backend, request.slug, keep, echo)
        raise
    if not report.ok:
        _tear_down(backend, request.slug, keep, echo)
        raise BoundaryBreached(breach_message(report, kept=keep))
    echo(f"boundary proven: {len(report.results)} probes held")
    return report


def _tear_down(backend: Backend, slug: str, keep: bool, echo: Echo) -> None:
    try:
        backend.stop(slug, preserve=keep, progress=echo)
    except BotBottleError as exc:
        echo(f"warning: could not tear down {slug}: {exc}")
