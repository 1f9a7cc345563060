"""The operator's side of supervision: read the bottles' queues, answer proposals, apply answers.

The CLI (``bot-bottle supervise …``) and the dashboard call these functions; the
files are :mod:`bot_bottle_sidecars.proposals`' (the supervise sidecar writes the
proposals into the same directories).

An answer is stored first (at most once per proposal), then applied: for an
egress approval the route is merged into the bottle's routes file (or, limited in
time, added to it as a lease, :mod:`bot_bottle_sidecars.routes.leases`) and egress
is told to reload; for an image (capability) approval the Dockerfile is kept in the
bottle's state and the bottle is stopped with its state kept, so ``resume`` builds
it. Then the action is audited (:mod:`.audit`) and the answer marked applied,
which is when the waiting agent hears of it. Applying again after a crash in
between merges nothing new, so whatever happens an answer takes effect once.

The operator sees why before deciding (:meth:`Supervision.context`): the agent's
justification, what egress refused for that host, and the routes diff approval
would make. Operator route edits (:meth:`Supervision.edit_routes`) and lapsed
leases (:meth:`Supervision.sweep`) are audited the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import attrs
from bot_bottle_sidecars import layout
from bot_bottle_sidecars.egress.decisions import denials_for
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
from bot_bottle_sidecars.routes import (
    Lease,
    Route,
    RoutesFile,
    merge_route,
    parse_document,
    parse_route,
    read_document,
    route_to_json,
    routes_digest,
    routes_document,
)

from .audit import AuditLog, routes_diff
from .audit import Entry as AuditEntry
from .errors import BotBottleError
from .plan import egress_log_dir
from .routes_file import ROUTES_FILE, write_routes
from .state import is_slug

# Tell a running bottle's egress to serve its routes file again (a backend's job).
Reload = Callable[[str], None]
# Snapshot a bottle's transcript and stop it, keeping its state (for a new image).
Stop = Callable[[str], None]

# The per-instance Dockerfile an approved capability leaves in the bottle's state;
# ``resume`` builds it (its directory is the build context: nothing else is in it).
IMAGE_DIR = "image"
DOCKERFILE = "Dockerfile"
DECISIONS_FILE = PurePosixPath(layout.EGRESS_DECISIONS).name


def instance_dockerfile(state_dir: Path) -> Path:
    return state_dir / IMAGE_DIR / DOCKERFILE


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
class Context:
    """What an operator reads before answering a proposal."""

    justification: str
    denials: list[dict]  # egress's recent refusals for the host: time, method, path, ...
    diff: str | None  # the routes diff approval would make ('' none; None: not a route)
    problem: str | None = None  # why the diff could not be made

    def to_json(self) -> dict[str, object]:
        return {
            "justification": self.justification,
            "denials": self.denials,
            "routes_diff": self.diff,
            "problem": self.problem,
        }


def _default_audit(sup: Supervision) -> AuditLog:
    # The home's audit log sits beside its state/ (see Home.audit_log).
    return AuditLog(sup.state_root.parent / "audit.jsonl")


@attrs.frozen
class Supervision:
    """The queues under ``queue_root`` (one directory per slug) and the bottles' state."""

    queue_root: Path
    state_root: Path
    audit: AuditLog = attrs.field(default=attrs.Factory(_default_audit, takes_self=True))

    def queue(self, slug: str) -> Queue:
        return Queue(self.queue_root / slug)

    def routes_file(self, slug: str) -> Path:
        return self.state_root / slug / "sidecar" / ROUTES_FILE

    def decisions_file(self, slug: str) -> Path:
        return egress_log_dir(self.state_root / slug) / DECISIONS_FILE

    def _document(self, slug: str) -> RoutesFile:
        try:
            return read_document(self.routes_file(slug))[0]
        except ValueError as exc:
            raise BotBottleError(
                f"Cannot read the live routes of {slug}: {exc}. Fix the file with"
                f" `bot-bottle routes edit {slug}`."
            ) from None

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

    def context(self, item: Pending, *, limit: int = 20) -> Context:
        """Why the agent asks, what egress refused for that host, what approval would change."""
        p = item.proposal
        if p.route is None:
            return Context(p.justification, [], None)
        denials = denials_for(self.decisions_file(item.slug), p.route.host, limit=limit)
        try:
            doc = read_document(self.routes_file(item.slug))[0]
        except ValueError as exc:
            return Context(p.justification, denials, None, f"the live routes are unreadable: {exc}")
        route = item.answer.route if item.answer is not None and item.answer.route else p.route
        before = doc.effective()
        return Context(
            p.justification, denials, routes_diff(before, merge_route(before, route).routes)
        )

    # -- answering

    def approve(
        self,
        slug: str,
        ref: str,
        *,
        notes: str = "",
        route: Route | None = None,
        reload: Reload,
        lasting: timedelta | None = None,
        stop: Stop | None = None,
    ) -> Answer:
        """Approve (with the operator's own ``route``: modify) and apply; returns the answer.

        ``lasting`` limits a route in time. An image (capability) approval needs ``stop``.
        """
        item = self.find(slug, ref)
        proposal = item.proposal
        expires = None
        if lasting is not None:
            if proposal.kind != "egress":
                raise BotBottleError(
                    "Only a route can be granted for a limited time, not an image."
                )
            expires = (datetime.now(UTC) + lasting).isoformat(timespec="seconds")
        if proposal.kind == "capability":
            if route is not None:
                raise BotBottleError(
                    f"Proposal {proposal.id} of {slug} asks for an image, not a route."
                )
            answer = Answer(proposal.id, APPROVED, notes, now_iso())
            return self._settle(item, answer, reload, stop)
        granted = route if route is not None else proposal.route
        status: Status = MODIFIED if route is not None and route != proposal.route else APPROVED
        answer = Answer(proposal.id, status, notes, now_iso(), route=granted, expires_at=expires)
        return self._settle(item, answer, reload, stop)

    def reject(self, slug: str, ref: str, *, reason: str) -> Answer:
        item = self.find(slug, ref)
        if not reason.strip():
            raise BotBottleError("A rejection needs a reason: the agent reads it.")
        answer = Answer(item.proposal.id, REJECTED, reason, now_iso())
        return self._settle(item, answer, reload=None, stop=None)

    def _settle(
        self, item: Pending, answer: Answer, reload: Reload | None, stop: Stop | None
    ) -> Answer:
        queue = self.queue(item.slug)
        stored, mine = queue.answer_once(answer)
        if stored.applied_at is not None:
            if self._stop_unfinished(item, stored) and stop is not None:
                self._stop_for_image(item, stop)  # the stop after an approval was cut short
                return stored
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
        return self._apply(item, stored, reload, stop)

    def _apply(
        self, item: Pending, answer: Answer, reload: Reload | None, stop: Stop | None
    ) -> Answer:
        slug, proposal = item.slug, item.proposal
        digest, diff = None, ""
        if answer.granted and proposal.kind == "capability":
            if stop is None:
                raise BotBottleError(f"No backend can stop {slug} for its new image.")
            assert proposal.dockerfile is not None
            _write_text(instance_dockerfile(self.state_root / slug), proposal.dockerfile)
        elif answer.granted and answer.route is not None:
            if reload is None:
                raise BotBottleError(f"No backend can reload the routes of {slug}.")
            digest, diff = self._grant(slug, answer, reload)
        action = {APPROVED: "approve", MODIFIED: "modify", REJECTED: "reject"}[answer.status]
        self.audit.append(
            AuditEntry(
                slug=slug,
                component=proposal.kind,
                action=action,
                notes=answer.notes,
                justification=proposal.justification,
                diff=diff,
                proposal=proposal.id,
                expires_at=answer.expires_at,
            )
        )
        done = dataclasses.replace(answer, applied_at=now_iso(), routes_sha256=digest)
        self.queue(slug).record(done)
        if answer.granted and proposal.kind == "capability":
            assert stop is not None
            self._stop_for_image(item, stop)  # after the agent's answer is out: it hears why
        return done

    def _stopped_marker(self, slug: str) -> Path:
        return instance_dockerfile(self.state_root / slug).with_name("stopped-for")

    def _stop_unfinished(self, item: Pending, answer: Answer) -> bool:
        """An approved image whose bottle was not (known to be) stopped for it yet."""
        if item.proposal.kind != "capability" or not answer.granted:
            return False
        marker = self._stopped_marker(item.slug)
        return not marker.is_file() or marker.read_text().strip() != item.proposal.id

    def _stop_for_image(self, item: Pending, stop: Stop) -> None:
        try:
            stop(item.slug)
        except BotBottleError as exc:
            raise BotBottleError(
                f"Proposal {item.proposal.id} of {item.slug} is approved and its Dockerfile kept,"
                f" but the bottle could not be stopped: {exc} Approve it again to retry."
            ) from None
        _write_text(self._stopped_marker(item.slug), item.proposal.id)

    def _grant(self, slug: str, answer: Answer, reload: Reload) -> tuple[str, str]:
        """Merge (or lease) the granted route into the live routes, reload egress: the new
        file's digest, and the diff of what egress serves."""
        assert answer.route is not None
        path = self.routes_file(slug)
        try:
            doc = read_document(path)[0]
        except ValueError as exc:
            raise BotBottleError(
                f"Cannot read the live routes of {slug}: {exc}. The answer is stored;"
                f" fix the file, then approve again to apply it."
            ) from None
        before = doc.effective()
        if answer.expires_at is not None:
            if not any(lease.proposal == answer.id for lease in doc.leases):
                lease = Lease(answer.route, answer.expires_at, answer.id)
                doc = RoutesFile(doc.routes, (*doc.leases, lease))
        else:
            doc = RoutesFile(merge_route(doc.routes, answer.route).routes, doc.leases)
        write_routes(path.parent, doc.routes, doc.leases)
        digest = routes_digest(path.read_bytes())
        try:
            reload(slug)
        except BotBottleError as exc:
            raise BotBottleError(
                f"The route is in {path}, but egress of {slug} was not reloaded: {exc}"
                f" Approve again to retry; the bottle's next start serves it in any case."
            ) from None
        return digest, routes_diff(before, doc.effective())

    # -- the operator's own changes

    def routes_text(self, slug: str) -> str:
        """The bottle's routes file as the operator edits it."""
        self._known(slug)
        path = self.routes_file(slug)
        try:
            return json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2) + "\n"
        except FileNotFoundError:
            raise BotBottleError(f"The bottle {slug} has no routes file ({path}).") from None
        except ValueError:
            return path.read_text(encoding="utf-8", errors="replace")  # let the operator fix it

    def edit_routes(self, slug: str, text: str, *, notes: str = "", reload: Reload) -> str:
        """Replace the bottle's routes with ``text`` (a routes document) once it is valid;
        audit it and reload egress. Returns the diff ('' when nothing changed)."""
        self._known(slug)
        doc = _from_edit(text, parse_document, "routes are", "", "nothing was changed")
        path = self.routes_file(slug)
        try:
            before = _doc_text(read_document(path)[0])
        except ValueError:
            before = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        after = _doc_text(doc)
        diff = routes_diff(before, after)
        if not diff:
            return ""
        write_routes(path.parent, doc.routes, doc.leases)
        self.audit.append(
            AuditEntry(slug=slug, component="egress", action="edit", notes=notes, diff=diff)
        )
        try:
            reload(slug)
        except BotBottleError as exc:
            raise BotBottleError(
                f"The routes are in {path}, but egress of {slug} was not reloaded: {exc}"
                " The bottle's next start serves them."
            ) from None
        return diff

    def sweep(self, reload: Reload | None = None, *, slug: str | None = None) -> list[AuditEntry]:
        """Take lapsed leases out of the routes files (egress stopped serving them on time)
        and audit each lapse; returns the entries written."""
        written = []
        now = datetime.now(UTC)
        for s in [slug] if slug is not None else self._state_slugs():
            path = self.routes_file(s)
            try:
                doc = read_document(path)[0]
            except ValueError:
                continue  # no file, or one the operator must fix: nothing to take out
            lapsed = doc.lapsed(now)
            if not lapsed:
                continue
            kept = tuple(lease for lease in doc.leases if lease not in lapsed)
            write_routes(path.parent, doc.routes, kept)
            for lease in lapsed:
                just_before = lease.until_time - timedelta(microseconds=1)
                held = RoutesFile(doc.routes, (*kept, lease)).effective(just_before)
                gone = RoutesFile(doc.routes, kept).effective(just_before)
                entry = AuditEntry(
                    slug=s,
                    component="egress",
                    action="lapse",
                    notes=f"the route granted until {lease.until} lapsed",
                    diff=routes_diff(held, gone),
                    proposal=lease.proposal,
                    expires_at=lease.until,
                )
                self.audit.append(entry)
                written.append(entry)
            if reload is not None:
                # Egress stopped serving it already; this only renews its digest. Not
                # running: its next start reads the file as it is now.
                with contextlib.suppress(BotBottleError):
                    reload(s)
        return written

    def _state_slugs(self) -> list[str]:
        if not self.state_root.is_dir():
            return []
        return sorted(p.name for p in self.state_root.iterdir() if is_slug(p.name))

    def _known(self, slug: str) -> None:
        if not is_slug(slug) or not (self.state_root / slug).is_dir():
            raise BotBottleError(
                f"Unknown slug '{slug}': no bottle state in {self.state_root}."
                " `bot-bottle list active` shows running bottles."
            )


def _doc_text(doc: RoutesFile) -> str:
    return json.dumps(routes_document(doc.routes, doc.leases), indent=2, sort_keys=True) + "\n"


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    tmp.replace(path)


def granted_routes(queue: Queue) -> list[Route]:
    """Routes the operator granted this bottle, in the order they were answered.

    A resumed bottle gets them again on top of its manifest's routes.
    """
    answered = [
        e.answer
        for e in queue.scan().entries
        if e.answer is not None
        and e.answer.granted
        and e.answer.applied_at is not None
        # A time-limited grant travels as a lease in the routes file, not here.
        and e.answer.expires_at is None
    ]
    answered.sort(key=lambda a: a.answered_at)
    return [a.route for a in answered if a.route is not None]


def route_for_editing(route: Route) -> str:
    """The text ``modify`` puts in the operator's editor."""
    return json.dumps(route_to_json(route), indent=2) + "\n"


def route_from_edit(text: str) -> Route:
    """The operator's edited route, checked with the route model."""
    return _from_edit(text, parse_route, "route is", "route", "nothing was answered")


def _from_edit(text: str, parse, subject: str, root: str, outcome: str):
    """``text`` the operator edited, parsed with the route model's ``parse``; the one
    paragraph an invalid edit gets names what is wrong and that ``outcome`` follows."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BotBottleError(f"The edited {subject} not valid JSON ({exc}); {outcome}.") from None
    parsed, problems = parse(data)
    if parsed is None:
        found = "; ".join(f"{p.where(root) or root or 'routes'}: {p.message}" for p in problems)
        raise BotBottleError(f"The edited {subject} not valid ({found}); {outcome}.")
    return parsed
