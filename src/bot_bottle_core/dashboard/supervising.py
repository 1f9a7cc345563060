"""The dashboard's one way into supervision: the same functions ``bot-bottle supervise`` calls.

Everything the dashboard reads about proposals or does to them passes through
:class:`Supervisor`, so an option supervision gains (an approval for a limited
time, an audit entry) reaches the dashboard by changing this module alone.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
from bot_bottle_sidecars.proposals import Answer
from bot_bottle_sidecars.routes import Route, merge_route, read_routes

from ..cli.context import AppContext

# The CLI's own constructors: the dashboard answers exactly as `supervise` does.
from ..cli.supervise_cmd import ops, supervision
from ..errors import BotBottleError
from ..supervision import Listing, Pending, Supervision, route_for_editing, route_from_edit
from .model import Denial

# How much of the end of the log is read for the recent denials.
TAIL_BYTES = 64 * 1024
# A queue directory changed this recently is read again whatever its mtime says.
RECENT_NS = 2_000_000_000


@attrs.frozen
class RouteChange:
    """What approving would do to one bottle's live routes."""

    slug: str
    before: Route | None  # the host's route now; None when the host is not routed
    after: Route
    # Set when the live routes could not be read (the approval would say so too).
    problem: str | None = None

    @property
    def adds_host(self) -> bool:
        return self.before is None


class Supervisor:
    def __init__(self, app: AppContext) -> None:
        self._app = app
        self.supervision: Supervision = supervision(app)
        self._ops = ops(app)
        self._listings: dict[str, tuple[int, Listing]] = {}
        self._denials: dict[Path, tuple[tuple[int, int], Sequence[Denial]]] = {}

    # -- reading

    def listing(self) -> Listing:
        """Every bottle's pending proposals, oldest first (as ``Supervision.listing``).

        A queue directory is read again only when it changed: files in it are
        only ever created or renamed into place, which touches the directory.
        """
        items, problems = [], []
        slugs = self.supervision.slugs()
        self._listings = {s: v for s, v in self._listings.items() if s in slugs}
        for slug in slugs:
            listing = self._slug_listing(slug)
            items += listing.items
            problems += listing.problems
        items.sort(key=lambda p: (p.proposal.created_at, p.slug, p.proposal.id))
        return Listing(items, problems)

    def _slug_listing(self, slug: str) -> Listing:
        try:
            mtime = (self.supervision.queue_root / slug).stat().st_mtime_ns
        except OSError:
            return Listing([], [])
        cached = self._listings.get(slug)
        # A change within the file system's timestamp granularity of the last
        # read would not show in the mtime: a recently touched queue is read anyway.
        recent = time.time_ns() - mtime < RECENT_NS
        if cached is not None and cached[0] == mtime and not recent:
            return cached[1]
        listing = self.supervision.listing(slug=slug)
        self._listings[slug] = (mtime, listing)
        return listing

    def route_change(self, item: Pending, route: Route | None = None) -> RouteChange | None:
        """The diff approving ``item`` (with ``route``, when modified) would make."""
        asked = route if route is not None else item.proposal.route
        if asked is None:
            return None
        path = self.supervision.routes_file(item.slug)
        try:
            routes, _ = read_routes(path)
        except ValueError as exc:
            return RouteChange(item.slug, None, asked, problem=str(exc))
        merged = merge_route(routes, asked)
        # A routed host keeps its place in the list: its old route is the one replaced.
        before = next(
            (old for old, new in zip(routes, merged.routes, strict=False) if new is merged.route),
            None,
        )
        return RouteChange(item.slug, before, merged.route)

    def recent_denials(self, slug: str, host: str | None = None, limit: int = 5) -> list[Denial]:
        """The last ``limit`` requests egress refused this bottle (for ``host`` only, if given)."""
        found = [
            d
            for d in self._read_denials(self.supervision.decisions_file(slug))
            if host is None or (d.host or "").lower() == host.lower()
        ]
        return found[-limit:]

    def _read_denials(self, path: Path) -> Sequence[Denial]:
        """The log's tail, read again only when the log grew or was replaced."""
        try:
            info = path.stat()
        except OSError:
            return []
        key = (info.st_mtime_ns, info.st_size)
        cached = self._denials.get(path)
        if cached is None or cached[0] != key:
            cached = (key, _read_denials(path))
            self._denials[path] = cached
        return cached[1]

    def last_denial(self, slug: str) -> Denial | None:
        denials = self.recent_denials(slug, limit=1)
        return denials[-1] if denials else None

    # -- answering

    def edit_text(self, item: Pending) -> str:
        if item.proposal.route is None:
            raise BotBottleError(
                f"Proposal {item.proposal.id} of {item.slug} asks for an image, not a route;"
                " only routes can be modified here."
            )
        return route_for_editing(item.proposal.route)

    def parse_edit(self, text: str) -> Route:
        return route_from_edit(text)

    def approve(self, item: Pending, *, notes: str = "", route: Route | None = None) -> Answer:
        return self.supervision.approve(
            item.slug,
            item.proposal.id,
            notes=notes,
            route=route,
            reload=self._ops.reload,
            stop=self._ops.stop_for_image,
        )

    def edit_routes(self, slug: str, text: str) -> str:
        """As `bot-bottle routes edit`: the diff applied ('' when nothing changed)."""
        return self.supervision.edit_routes(slug, text, reload=self._ops.reload)

    def reject(self, item: Pending, *, reason: str) -> Answer:
        return self.supervision.reject(item.slug, item.proposal.id, reason=reason)


def _read_denials(path: Path) -> Sequence[Denial]:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - TAIL_BYTES))
            tail = f.read(TAIL_BYTES)
    except OSError:
        return []
    denials = []
    for line in tail.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # the first line of the tail is usually cut
        if not isinstance(rec, dict) or rec.get("decision") != "deny":
            continue
        denials.append(
            Denial(
                time=str(rec.get("time") or ""),
                host=_str(rec.get("host")),
                method=_str(rec.get("method")),
                path=_str(rec.get("path")),
                reason=str(rec.get("reason") or ""),
            )
        )
    return denials


def _str(value: object) -> str | None:
    return None if value is None else str(value)
