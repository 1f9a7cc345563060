"""Steps 3 to 5 of ``start`` and ``resume``: launch, attach, settle.

The preserve rule: an agent that exits 0 is done, so its bottle and state
go; any other exit (a crash, Ctrl-C's 130, a kill's 137) keeps the state
and the workspace, snapshots the transcript and prints how to resume.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

import attrs

from . import boundary, git_gate, launch_record, terminal_identity
from .bottle_keys import tear_down
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


# After the bottle is gone, how long the attach command has to end by itself, then to
# end on SIGTERM, before it is killed.
ATTACH_GRACE_S = 3.0
TERM_GRACE_S = 2.0


def run_foreground(argv: Sequence[str], gone: Callable[[], bool] | None = None) -> int:
    """Run the attach command in the foreground; its exit status (128+N for signal N).

    ``gone`` blocks until the bottle stopped (False: cannot tell); then the command is
    ended if it has not ended by itself, and the terminal is given back as it was.
    """
    with _parent_ignores_sigint(), _terminal_kept():
        try:
            proc = subprocess.Popen(list(argv))
        except FileNotFoundError as exc:
            raise BotBottleError(
                f"Cannot run {argv[0]!r} to attach to the bottle ({exc.strerror}). "
                "Install it and make sure it is on PATH."
            ) from None
        if gone is not None:
            threading.Thread(target=_end_when_gone, args=(proc, gone), daemon=True).start()
        code = proc.wait()
    return 128 - code if code < 0 else code


def _end_when_gone(proc: subprocess.Popen, gone: Callable[[], bool]) -> None:
    try:
        if not gone():
            return
    except Exception:  # the attach goes on as before; this is only a safety net
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(ATTACH_GRACE_S)
        return
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(TERM_GRACE_S)
        return
    proc.kill()


@contextlib.contextmanager
def _terminal_kept() -> Iterator[None]:
    """An attach ended by a signal cannot restore the terminal mode it set: do it here."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    except (ImportError, OSError, ValueError):
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            with contextlib.suppress(OSError):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def launch(prepared: Prepared, echo: Echo) -> None:
    """Launch the bottle and prove its boundary; a bottle that fails is gone on return."""
    req = prepared.request
    steps = prepared.provider.provision_steps(
        req.agent, supervise_url=prepared.plan.supervise_url, skills=req.skills
    ) + git_gate.agent_steps(req.bottle.git.repos, prepared.provider.agent_guest_home())
    # Before anything exists: a launch killed from here on is told apart from
    # one still under way (see launch_record).
    launch_record.begin(req.state_dir)
    keys = prepared.keys.mint(req.slug, req.bottle.git.repos, os.environ)
    try:
        with_keys = attrs.evolve(req, git_keys={**req.git_keys, **keys})
        launched = prepared.backend.launch(with_keys, prepared.plan, steps, pausing(echo))
        boundary.enforce(prepared.backend, req, launched, echo)
    except BaseException:
        # The bottle is gone (the backend and the self-check clear up after themselves).
        try:
            prepared.keys.revoke()
        except BotBottleError as exc:
            echo(f"error: {exc}")
        raise
    mark_launched(prepared)


def mark_launched(prepared: Prepared) -> None:
    """The bottle is whole: from now on a gone launcher means detached, not incomplete."""
    launch_record.mark_completed(prepared.request.state_dir)


def attach(prepared: Prepared) -> int:
    req = prepared.request
    argv = prepared.provider.agent_argv(req.agent, req.mode)
    host_argv = prepared.backend.attach_argv(req.slug, argv, tty=sys.stdin.isatty())
    with terminal_identity.shown(req.agent):
        return run_foreground(host_argv, gone=lambda: prepared.backend.wait_stopped(req.slug))


def settle(prepared: Prepared, store: StateStore, code: int, echo: Echo) -> None:
    req = prepared.request
    backend = prepared.backend
    if code == 0 and not store.is_preserved(req.slug):
        tear_down(backend, prepared.keys, req.slug, preserve=False, progress=echo)
        store.remove(req.slug)
        return
    if store.is_preserved(req.slug):
        # The operator approved a new image (capability): the bottle was stopped under
        # the agent, its transcript snapshotted and its state kept for `resume`.
        tear_down(backend, prepared.keys, req.slug, preserve=True, progress=echo)
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
    store.mark_preserved(req.slug)
    tear_down(backend, prepared.keys, req.slug, preserve=True, progress=echo)
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
