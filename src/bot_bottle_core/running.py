"""Steps 3 to 5 of ``start`` and ``resume``: launch, attach, settle.

The preserve rule: an agent that exits 0 is done, so its bottle and state
go; any other exit (a crash, Ctrl-C's 130, a kill's 137) keeps the state
and the workspace, snapshots the transcript and prints how to resume.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence

from . import boundary, launch_record, terminal_identity
from .errors import BotBottleError
from .pause_hook import pausing
from .preparation import Prepared
from .state import StateStore

Echo = Callable[[str], None]


@contextlib.contextmanager
def _parent_ignores_sigint() -> Iterator[None]:
    # Ctrl-C belongs to the agent in the foreground; its exit status tells
    # the settle step what happened.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_foreground(argv: Sequence[str]) -> int:
    with _parent_ignores_sigint():
        try:
            return subprocess.call(list(argv))
        except FileNotFoundError as exc:
            raise BotBottleError(
                f"Cannot run {argv[0]!r} to attach to the bottle ({exc.strerror}). "
                "Install it and make sure it is on PATH."
            ) from None


def launch(prepared: Prepared, echo: Echo) -> None:
    """Launch the bottle and prove its boundary; a bottle that fails is gone on return."""
    req = prepared.request
    steps = prepared.provider.provision_steps(
        req.agent, supervise_url=prepared.plan.supervise_url, skills=req.skills
    )
    # Before anything exists: a launch killed from here on is told apart from
    # one still under way (see launch_record).
    launch_record.begin(req.state_dir)
    launched = prepared.backend.launch(req, prepared.plan, steps, pausing(echo))
    boundary.enforce(prepared.backend, req, launched, echo)
    mark_launched(prepared)


def mark_launched(prepared: Prepared) -> None:
    """The bottle is whole: from now on a gone launcher means detached, not incomplete."""
    launch_record.mark_completed(prepared.request.state_dir)


def attach(prepared: Prepared) -> int:
    req = prepared.request
    argv = prepared.provider.agent_argv(req.agent, req.mode)
    host_argv = prepared.backend.attach_argv(req.slug, argv, tty=sys.stdin.isatty())
    with terminal_identity.shown(req.agent):
        return run_foreground(host_argv)


def settle(prepared: Prepared, store: StateStore, code: int, echo: Echo) -> None:
    req = prepared.request
    backend = prepared.backend
    if code == 0 and not store.is_preserved(req.slug):
        backend.stop(req.slug, preserve=False, progress=echo)
        store.remove(req.slug)
        return
    if store.is_preserved(req.slug):
        # The operator approved a new image (capability): the bottle was stopped under
        # the agent, its transcript snapshotted and its state kept for `resume`.
        backend.stop(req.slug, preserve=True, progress=echo)
        echo(
            f"The bottle was stopped for its new image; its state and workspace are kept. "
            f"Continue with: bot-bottle resume {req.slug}"
        )
        return
    try:
        backend.snapshot(
            req.slug, prepared.provider.agent_transcript_dirs(), req.transcript_archive
        )
    except BotBottleError as exc:
        echo(f"warning: could not snapshot the transcript: {exc}")
    backend.stop(req.slug, preserve=True, progress=echo)
    store.mark_preserved(req.slug)
    echo(
        f"The agent exited with status {code}; its state and workspace are kept. "
        f"Continue with: bot-bottle resume {req.slug}"
    )


def attach_and_settle(prepared: Prepared, store: StateStore, echo: Echo) -> int:
    """Attach in the foreground, then settle by the agent's exit status."""
    try:
        code = attach(prepared)
    except BaseException:
        # Attaching itself failed: keep the state so the bottle can be resumed.
        settle(prepared, store, 1, echo)
        raise
    settle(prepared, store, code, echo)
    return code
