"""Enter, ``a``, ``m`` and ``r`` on a proposal (a grouped row asks: all of them, or one?)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click
from bot_bottle_sidecars.proposals import Answer

from ..errors import BotBottleError
from ..supervision import Pending
from .detail import ProposalDetail
from .pickers import Ask, scope_picker

VERBS = {"approve": "Approve", "modify": "Modify and approve", "reject": "Reject"}
DONE = {"approved": "Approved", "modified": "Approved as modified", "rejected": "Rejected"}

Outcome = tuple[list[tuple[Pending, Answer]], list[tuple[Pending, str]]]


def describe(outcome: Outcome) -> tuple[str, bool]:
    """One status line for the answers given; whether any failed."""
    done, failed = outcome
    parts = []
    if done:
        answer = done[0][1]
        slugs = ", ".join(i.slug for i, _ in done)
        tail = f": {answer.route.host} is routed" if answer.route is not None else ""
        parts.append(f"{DONE[answer.status]} {answer.id} for {slugs}{tail}.")
    parts += [f"{item.slug}: {why}" for item, why in failed]
    return " ".join(parts), bool(failed)


class ProposalActions:
    """Mixed into the app (see :mod:`.app` for the attributes it uses)."""

    def open_proposal(self, key: str) -> None:
        group = self.group(key)
        if group is not None:
            self.push_screen(ProposalDetail(group, self.supervisor))

    def answer(self, verb: str, key: str) -> None:
        group = self.group(key)
        if group is None:
            self.say("That proposal is no longer pending.")
            return
        if group.count == 1:
            self._answer(verb, list(group.items))
            return

        def chosen(items: list[Pending] | None) -> None:
            if items:
                self._answer(verb, items)

        self.push_screen(scope_picker(VERBS[verb], group.items), chosen)

    def _answer(self, verb: str, items: Sequence[Pending]) -> None:
        sup = self.supervisor
        if verb == "approve":
            self._answer_all(items, lambda i: sup.approve(i))
        elif verb == "modify":
            self._modify(items)
        elif verb == "reject":

            def reason_given(reason: str | None) -> None:
                if reason is None:
                    self.say("Nothing was rejected.")
                else:
                    self._answer_all(items, lambda i: sup.reject(i, reason=reason))

            self.push_screen(Ask("Why reject it? The agent reads the reason."), reason_given)

    def _modify(self, items: Sequence[Pending]) -> None:
        """The route in $EDITOR (the UI suspended), checked, then granted as edited."""
        try:
            before = self.supervisor.edit_text(items[0])
            with self.suspended():
                edited = click.edit(before, extension=".json", require_save=True)
            if edited is None:
                self.say("The route was not saved, so nothing was answered.")
                return
            route = self.supervisor.parse_edit(edited)
        except BotBottleError as exc:
            self.fail(exc)
            return
        self._answer_all(items, lambda i: self.supervisor.approve(i, route=route))

    def _answer_all(self, items: Sequence[Pending], act: Callable[[Pending], Answer]) -> None:
        def work() -> Outcome:
            done, failed = [], []
            for item in items:
                try:
                    done.append((item, act(item)))
                except BotBottleError as exc:
                    failed.append((item, str(exc)))
            return done, failed

        self.in_background(work, self._answered)

    def _answered(self, outcome: Outcome) -> None:
        text, failed = describe(outcome)
        self.say(text, error=failed)
        if isinstance(self.screen, ProposalDetail):
            self.pop_screen()
        self.refresh_now()
