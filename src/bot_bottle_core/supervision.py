"""The operator's side of supervision: read the bottles' queues, answer proposals, apply answers.

The CLI (``bot-bottle supervise …``) and the dashboard call these functions; the
files are :mod:`bot_bottle_sidecars.proposals`' (the supervise sidecar writes the
proposals into the same directories).

An answer is stored first (at most once per proposal), then applied: for an
egress approval the route is merged into the bottle's routes file and egress is
told to reload; then the answer is marked applied, which is when the waiting
agent hears of it. Applying again after a crash in between merges nothing new,
so whatever happens an answer takes effect once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import attrs
from bot_bottle_sidecars.proposals import (
    APPROVED,
    MODIFIED,
    REJECTED,
    Answer,
    CorruptFile,
    Entry,
    Proposal,
    Queue,
    Status,
    now_iso,
)
from bot_bottle_sidecars.routes import Route, merge_route, read_routes, routes_digest

from .errors import BotBottleError, NotAvailableYet
from .routes_file import ROUTES_FILE, write_routes
from .state import is_slug

# Tell a running bottle's egress to serve its routes file again (a backend's job).
Reload = Callable[[str], None]


@attrs.frozen
class Pending:
    """One proposal of one bottle, with its answer when there is one."""

    slug: str
    entry: Entry

    @property
    def proposal(self) -> Proposal:
        return self.entry.proposal

    @property
    def answer(self) -> Answer | None:
        return self.entry.answer


@attrs.frozen
class Listing:
    items: list[Pending]
    problems: list[CorruptFile]


@attrs.frozen
class Supervision:
    """The queues under ``queue_root`` (one directory per slug) and the bottles' state."""

    queue_root: Path
    state_root: Path

    def queue(self, slug: str) -> Queue:
        return Queue(self.queue_root / slug)

    def routes_file(self, slug: str) -> Path:
        return self.state_root / slug / "sidecar" / ROUTES_FILE

    def slugs(self) -> list[str]:
        if not self.queue_root.is_dir():
            return []
        return sorted(p.name for p in self.queue_root.iterdir() if p.is_dir() and is_slug(p.name))

    # -- reading

    def listing(self, *, slug: str | None = None, answered: bool = False) -> Listing:
        """Proposals of every bottle (or one), oldest first; answered ones only if asked."""
        items: list[Pending] = []
        problems: list[CorruptFile] = []
        for s in [slug] if slug is not None else self.slugs():
            scan = self.queue(s).scan()
            problems += scan.problems
            items += [Pending(s, e) for e in scan.entries if answered or e.pending]
        items.sort(key=lambda p: (p.proposal.created_at, p.slug, p.proposal.id))
        return Listing(items, problems)

    def find(self, slug: str, ref: str) -> Pending:
        """The proposal of ``slug`` whose id is ``ref`` or starts with it."""
        if not is_slug(slug) or not (self.queue_root / slug).is_dir():
            raise BotBottleError(
                f"No proposals for '{slug}': there is no queue directory "
                f"{self.queue_root / slug}. `bot-bottle supervise list` shows the pending ones."
            )
        queue = self.queue(slug)
        ids = [i for i in queue.ids() if i.startswith(ref)] if ref else []
        if len(ids) != 1:
            what = "matches no proposal" if not ids else f"matches {len(ids)} proposals"
            raise BotBottleError(
                f"'{ref}' {what} of {slug}. `bot-bottle supervise list --all` shows their ids."
            )
        try:
            proposal = queue.proposal(ids[0])
            answer = queue.answer(ids[0])
        except CorruptFile as exc:
            raise BotBottleError(
                f"The queue file {exc.path} {exc.reason}. Move it aside; the agent can ask again."
            ) from None
        if proposal is None:
            raise BotBottleError(f"Proposal {ids[0]} of {slug} is gone.")
        return Pending(slug, Entry(proposal, answer))

    # -- answering

    def approve(
        self, slug: str, ref: str, *, notes: str = "", route: Route | None = None, reload: Reload
    ) -> Answer:
        """Approve (with the operator's own ``route``: modify) and apply; returns the answer."""
        item = self.find(slug, ref)
        proposal = item.proposal
        if proposal.kind != "egress":
            raise NotAvailableYet(
                "Approving an image change (capability-block)"
                f" (proposal {proposal.id} of {slug}); reject it with a reason, or leave it"
                " pending,"
            )
        granted = route if route is not None else proposal.route
        status: Status = MODIFIED if route is not None and route != proposal.route else APPROVED
        answer = Answer(proposal.id, status, notes, now_iso(), route=granted)
        return self._settle(item, answer, reload)

    def reject(self, slug: str, ref: str, *, reason: str) -> Answer:
        item = self.find(slug, ref)
        if not reason.strip():
            raise BotBottleError("A rejection needs a reason: the agent reads it.")
        answer = Answer(item.proposal.id, REJECTED, reason, now_iso())
        return self._settle(item, answer, reload=None)

    def _settle(self, item: Pending, answer: Answer, reload: Reload | None) -> Answer:
        queue = self.queue(item.slug)
        stored, mine = queue.answer_once(answer)
        if stored.applied_at is not None:
            raise BotBottleError(
                f"Proposal {stored.id} of {item.slug} was already {stored.status}"
                f" ({stored.answered_at}); nothing changed."
            )
        if not mine and stored.status != answer.status and not (stored.granted and answer.granted):
            raise BotBottleError(
                f"Proposal {stored.id} of {item.slug} was already {stored.status}"
                f" ({stored.answered_at}); that answer is being applied, not this one."
            )
        # Ours, or an earlier one whose application was cut short: apply the stored one.
        return self._apply(item.slug, stored, reload)

    def _apply(self, slug: str, answer: Answer, reload: Reload | None) -> Answer:
        digest = None
        if answer.granted and answer.route is not None:
            if reload is None:
                raise BotBottleError(f"No backend can reload the routes of {slug}.")
            path = self.routes_file(slug)
            try:
                routes, _ = read_routes(path)
            except ValueError as exc:
                raise BotBottleError(
                    f"Cannot read the live routes of {slug}: {exc}. The answer is stored;"
                    f" fix the file, then approve again to apply it."
                ) from None
            merged = merge_route(routes, answer.route)
            if merged.changed:
                write_routes(path.parent, merged.routes)
            digest = routes_digest(path.read_bytes())
            try:
                reload(slug)
            except BotBottleError as exc:
                raise BotBottleError(
                    f"The route is in {path}, but egress of {slug} was not reloaded: {exc}"
                    f" Approve again to retry; the bottle's next start serves it in any case."
                ) from None
        done = dataclasses.replace(answer, applied_at=now_iso(), routes_sha256=digest)
        self.queue(slug).record(done)
        return done


def granted_routes(queue: Queue) -> list[Route]:
    """Routes the operator granted this bottle, in the order they were answered.

    A resumed bottle gets them again on top of its manifest's routes.
    """
    answered = [
        e.answer
        for e in queue.scan().entries
        if e.answer is not None and e.answer.granted and e.answer.applied_at is not None
    ]
    answered.sort(key=lambda a: a.answered_at)
    return [a.route for a in answered if a.route is not None]
