"""``n``, Enter, ``x`` and ``e`` on the agents pane."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..errors import BotBottleError
from .pickers import AgentPicker, Ask, Confirm, backend_picker, preflight

if TYPE_CHECKING:
    from ..preparation import Prepared


class AgentActions:
    """Mixed into the app (see :mod:`.app` for the attributes it uses)."""

    # -- Enter: attach

    def attach(self, slug: str) -> None:
        """Inside tmux in the right-hand pane (reused); otherwise here, the UI suspended."""
        try:
            target = self.bottles.attach_target(slug)
        except BotBottleError as exc:
            self.fail(exc)
            return
        if self.tmux is not None:
            if self.tmux.show(slug, self.bottles.attach_command(slug), self.ctx.cwd) is not None:
                self.say(f"{slug} is in the right-hand pane.")
                self._draw()
                return
            self.say("tmux could not open a pane; attaching here.")
        with self.suspended():
            code = self.bottles.attach_here(target)
        self.say(f"Left {slug} (exit status {code}); it keeps running.")
        self.refresh_now()

    # -- x: stop

    def stop_agent(self, slug: str) -> None:
        if slug not in self.bottles.owned:
            self.say(
                f"{slug} was not started by this dashboard; `bot-bottle stop {slug}` stops it.",
                error=True,
            )
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                self.say(f"{slug} keeps running.")
                return
            self.say(f"Stopping {slug}…")
            self.in_background(lambda: self.bottles.stop(slug, self._echo), self._stopped)

        self.push_screen(
            Confirm(f"Stop {slug}", "", "Tear it down and delete its state?"), confirmed
        )

    def _stopped(self, line: str) -> None:
        if self.tmux is not None:
            self.tmux.forget(line.split()[1])
        self.say(line)
        self.refresh_now()

    # -- e: routes

    def edit_routes(self, slug: str) -> None:
        """The live routes in $EDITOR (the UI suspended), then as `bot-bottle routes edit`:
        checked, audited, egress reloaded."""
        try:
            before = self.supervisor.supervision.routes_text(slug)
            with self.suspended():
                edited = click.edit(before, extension=".json", require_save=True)
            if edited is None:
                self.say("The routes were not saved, so nothing was changed.")
                return
        except BotBottleError as exc:
            self.fail(exc)
            return

        def work() -> str:
            return self.supervisor.edit_routes(slug, edited)

        def done(diff: str) -> None:
            self.say(
                f"The routes of {slug} are changed and egress reloaded."
                if diff
                else "The routes are unchanged."
            )

        self.in_background(work, done)

    # -- n: a new agent

    def new_agent(self) -> None:
        try:
            names = self.bottles.agent_names()
        except BotBottleError as exc:
            self.fail(exc)
            return
        self.push_screen(AgentPicker(names, self.running_counts()), self._agent_picked)

    def _agent_picked(self, agent: str | None) -> None:
        if agent is None:
            self.say("No agent started.")
            return
        backends = self.bottles.launch_backends()
        if not backends:
            self.say(
                "No backend here can start a bottle; `bot-bottle plugins list` says why.",
                error=True,
            )
        elif len(backends) == 1:
            self._start(agent, backends[0])
        else:
            self.push_screen(backend_picker(agent, backends), lambda b: self._start(agent, b))

    def _start(self, agent: str, backend: str | None) -> None:
        if backend is None:
            self.say("No agent started.")
            return
        self.say(f"Planning {agent} on [{backend}]…")
        self.in_background(
            lambda: self.bottles.start(
                agent, backend, ask=self._ask_value, confirm=self._confirm_plan, echo=self._echo
            ),
            self._started,
        )

    # These three run in the start's worker thread.
    def _confirm_plan(self, prepared: Prepared) -> bool:
        from ..preflight import render_preflight  # only once a start is planned

        plan = render_preflight(prepared)
        return bool(self.ask_from_thread(preflight(prepared.request.slug, plan)))

    def _ask_value(self, name: str, prompt: str) -> str:
        value = self.ask_from_thread(Ask(f"{prompt} ({name})", secret=True))
        if value is None:
            raise BotBottleError(f"Not started: no value was given for {name}.")
        return value

    def _echo(self, line: str) -> None:
        self.call_from_thread(self.say, line)

    def _started(self, prepared: Prepared | None) -> None:
        if prepared is None:
            self.say("Not started; the plan was discarded.")
            return
        slug = prepared.request.slug
        self.say(f"Started {slug}.")
        self.refresh_now()
        self.attach(slug)
