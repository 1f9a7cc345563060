"""The Textual app: refresh in the background, alert on new proposals, dispatch the keys.

Every second a worker thread gathers a :class:`~.model.Snapshot`; the UI thread
only compares it with the last one and redraws what changed. Work that waits on
an engine (answering, starting, stopping) runs in workers too; only what needs
the terminal (``$EDITOR``, an attach outside tmux) suspends the UI.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.worker import WorkerFailed

from ..cli.context import AppContext
from ..errors import BotBottleError
from .agent_actions import AgentActions
from .bottles import Bottles
from .crash import write_crash_log
from .gather import Gatherer
from .model import ProposalGroup, Snapshot
from .pickers import MODAL_CSS
from .proposal_actions import ProposalActions
from .screen import CSS as SCREEN_CSS
from .screen import MainScreen
from .supervising import Supervisor
from .tmux import Tmux

REFRESH_S = 1.0
FLASH_S = 5.0


class Dashboard(ProposalActions, AgentActions, App[int]):
    TITLE = "bot-bottle dashboard"
    ENABLE_COMMAND_PALETTE = False
    CSS = SCREEN_CSS + MODAL_CSS

    def __init__(
        self,
        ctx: AppContext,
        *,
        environ: Mapping[str, str],
        supervisor: Supervisor | None = None,
        refresh_s: float = REFRESH_S,
        flash_s: float = FLASH_S,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.supervisor = supervisor or Supervisor(ctx)
        self.bottles = Bottles(ctx)
        self.gatherer = Gatherer(ctx, self.supervisor)
        self.tmux = Tmux.from_env(environ)
        self.refresh_s = refresh_s
        self.flash_s = flash_s
        self.main = MainScreen()
        self.snapshot = Snapshot()
        self.snapshots = 0  # how many have been shown (tests wait on it)
        self.alerts = 0  # how many times a new proposal rang
        # Groups flashing, and until when (monotonic seconds).
        self._flash_until: dict[str, float] = {}
        self.messages: list[str] = []
        self.crash_log = None
        self.crash: BaseException | None = None
        self.tick_cpu: deque[float] = deque(maxlen=1000)  # CPU seconds of each refresh
        self._seen: frozenset[tuple[str, str]] | None = None
        self._gathering = False
        self._filled: tuple[bool, bool] | None = None
        self._leaving = threading.Event()

    # -- start and refresh

    def get_default_screen(self) -> Screen:
        return self.main

    def on_mount(self) -> None:
        self.refresh_now()
        self.set_interval(self.refresh_s, self.refresh_now)

    def on_unmount(self) -> None:
        self._leaving.set()  # a worker waiting on a modal gives up

    def refresh_now(self) -> None:
        if self._gathering:
            # The last one is still out: never pile up behind a slow engine (but
            # a flash ends on time).
            if self._flash_expired():
                self._draw()
            return
        self._gathering = True
        self.run_worker(self._gather, thread=True, group="gather")

    def _gather(self) -> None:
        started = time.thread_time()
        try:
            snap = self.gatherer()
        except BaseException:
            self._gathering = False
            raise
        spent = time.thread_time() - started
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.call_from_thread(self._show, snap, spent)

    def _show(self, snap: Snapshot, gather_cpu: float = 0.0) -> None:
        started = time.thread_time()
        self._gathering = False
        new = self._new_proposals(snap)
        # A flash starts and ends with a refresh's redraw, never in one of its own:
        # each redraw repaints every visible row of a changed table.
        expired = self._flash_expired(snap)
        until = time.monotonic() + self.flash_s
        self._flash_until.update((g.id, until) for g in new)
        if new or expired or snap != self.snapshot or not self.snapshots:
            self.snapshot = snap
            self._draw()
        if new:
            self._alert(new)
        self.snapshots += 1
        self.tick_cpu.append(gather_cpu + time.thread_time() - started)

    def _draw(self) -> None:
        snap, main = self.snapshot, self.main
        right = self.tmux.right_slug if self.tmux else None
        main.proposals.show(snap.groups, self.flashing)
        main.agents.show(snap.agents, frozenset(self.bottles.owned), right)
        new = len(self.flashing)
        main.proposals.title(
            f"Proposals ({snap.pending_count} pending" + (f", {new} new!)" if new else ")")
        )
        main.summary.set_class(bool(new), "flash")  # one line restyled, not a pane
        main.agents.title(f"Agents ({len(snap.agents)})")
        # Which keys apply depends on whether a pane has rows. The footer rebuilds
        # every key when told, so it is told only when that changed.
        filled = (main.proposals.row_count > 0, main.agents.row_count > 0)
        if filled != self._filled:
            self._filled = filled
            main.refresh_bindings()
        tags = " ".join(f"[{b}]" for b in snap.backends) or "no backend answered"
        main.summary.update(
            f"bot-bottle dashboard   {snap.pending_count} pending   "
            f"{len(snap.agents)} bottles   backends: {tags}"
        )
        if snap.problems and not self.messages:
            main.status.update("warning: " + snap.problems[0])

    # -- new proposals

    def _new_proposals(self, snap: Snapshot) -> list[ProposalGroup]:
        keys = snap.pending_keys()
        seen, self._seen = self._seen, keys
        if seen is None:
            return []  # what was waiting before the dashboard started is not news
        fresh = keys - seen
        return [g for g in snap.groups if any((i.slug, g.id) in fresh for i in g.items)]

    @property
    def flashing(self) -> frozenset[str]:
        return frozenset(self._flash_until)

    def _flash_expired(self, snap: Snapshot | None = None) -> bool:
        """Drop flashes whose time is up (and, given a snapshot, those no longer pending)."""
        now = time.monotonic()
        pending = None if snap is None else {g.id for g in snap.groups}
        over = [
            k
            for k, until in self._flash_until.items()
            if until <= now or (pending is not None and k not in pending)
        ]
        for k in over:
            del self._flash_until[k]
        return bool(over)

    def _alert(self, groups: list[ProposalGroup]) -> None:
        """Ring and take focus (the flash is drawn already); inside tmux, come forward."""
        self.alerts += 1
        self.bell()
        if self.screen is self.main:
            self.main.proposals.focus()
            self.main.proposals.move_to(groups[0].id)
        if self.tmux is not None:
            self.run_worker(self.tmux.come_forward, thread=True, group="tmux")

    # -- the status line

    def say(self, text: str, *, error: bool = False) -> None:
        self.messages.append(text)
        self.main.status.update(text)
        self.main.status.set_class(error, "error")

    def fail(self, exc: BaseException) -> None:
        self.say(str(exc), error=True)

    # -- helpers for the actions

    def group(self, key: str) -> ProposalGroup | None:
        return next((g for g in self.snapshot.groups if g.id == key), None)

    def running_counts(self) -> Counter[str]:
        return Counter(a.agent for a in self.snapshot.agents)

    def in_background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run ``work`` in a worker thread; ``done`` gets its result (or says its error)."""

        def run() -> None:
            try:
                result = work()
            except BotBottleError as exc:
                with contextlib.suppress(RuntimeError):
                    self.call_from_thread(self.fail, exc)
                return
            with contextlib.suppress(RuntimeError):
                self.call_from_thread(done, result)

        self.run_worker(run, thread=True, group="action")

    def ask_from_thread(self, screen: Screen[Any]) -> Any:
        """From a worker thread: show a modal and wait for its answer (None if the app closes)."""
        answered = threading.Event()
        box: list[Any] = []

        def got(result: Any) -> None:
            box.append(result)
            answered.set()

        self.call_from_thread(self.push_screen, screen, got)
        while not answered.wait(0.2):
            if self._leaving.is_set():
                return None
        return box[0]

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Hand the terminal over (an editor, an attach); headless, there is nothing to hand."""
        if self.is_headless:
            yield
            return
        with self.suspend():
            yield

    # -- crashes

    def _handle_exception(self, error: Exception) -> None:
        # Keep the traceback before Textual restores the terminal, where it would be lost.
        if self.crash is None:
            # A worker's failure wraps what went wrong; the log wants the cause.
            cause = error.error if isinstance(error, WorkerFailed) else error
            self.crash = cause
            self.crash_log = write_crash_log(self.ctx.home.logs_dir, cause)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        # Textual would print the traceback with local variables, which may hold
        # credentials from the environment; the log and one line say enough.
        self._close_messages_no_wait()
