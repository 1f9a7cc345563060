"""The bundle's init: ``python -m bot_bottle_sidecars.init`` (the image's entrypoint).

* starts the daemons named in ``BOT_BOTTLE_SIDECARS`` (comma list, default
  ``egress``); an unknown name exits 1 before anything starts;
* forwards SIGHUP (reload), SIGTERM and SIGINT to every child;
* exits as soon as any child dies, after stopping the others: with the child's
  status if it failed, 1 if it exited 0 on its own (a daemon must not stop), and
  0 after a SIGTERM/SIGINT shutdown in which the children stopped cleanly;
* as PID 1 it also reaps orphaned processes.

Children stop within ``BOT_BOTTLE_INIT_GRACE`` seconds (default 8, under Docker's
10 s stop timeout) or get SIGKILL. On Linux each child gets SIGTERM if the init
itself dies. Children inherit stdout (their JSON log lines) and stderr; the
init's own messages go to stderr.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from bot_bottle_sidecars import layout

DEFAULT_GRACE_S = 8.0


def _egress_command(env: Mapping[str, str]) -> list[str]:
    from bot_bottle_sidecars.egress.run import command

    return command(env)


def _supervise_command(env: Mapping[str, str]) -> list[str]:
    # Its own venv (the MCP SDK and mitmproxy 11 cannot share one); this
    # interpreter where there is none (a test, a host install).
    python = env.get(layout.ENV_SUPERVISE_PYTHON) or layout.SUPERVISE_PYTHON
    if not os.path.exists(python):
        python = sys.executable
    return [python, "-m", "bot_bottle_sidecars.supervise"]


def _git_gate_command(env: Mapping[str, str]) -> list[str]:
    return [sys.executable, "-m", "bot_bottle_sidecars.git_gate"]


# name -> argv builder.
DAEMONS: dict[str, Callable[[Mapping[str, str]], list[str]]] = {
    "egress": _egress_command,
    "supervise": _supervise_command,
    "git-gate": _git_gate_command,
}
# Which daemon may see which secrets: the tokens (BOT_BOTTLE_SECRET_*) only the one that
# sends them, the git keys (BOT_BOTTLE_GIT_KEY_*) only the one that pushes with them.
SECRETS = {layout.ENV_TOKEN_PREFIX: "egress", layout.ENV_GIT_KEY_PREFIX: "git-gate"}


def daemon_env(name: str, env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if all(not k.startswith(prefix) or owner == name for prefix, owner in SECRETS.items())
    }


def _say(message: str) -> None:
    print(f"bot-bottle init: {message}", file=sys.stderr, flush=True)


def parse_names(value: str | None) -> list[str]:
    """``BOT_BOTTLE_SIDECARS`` → names; raises ``ValueError`` naming unknown ones."""
    if value is None or not value.strip():
        names = list(layout.DEFAULT_SIDECARS)
    else:
        names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in DAEMONS]
    if unknown:
        raise ValueError(
            f"unknown sidecar(s) {', '.join(unknown)} in {layout.ENV_SIDECARS}"
            f" (known: {', '.join(sorted(DAEMONS))})"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"{layout.ENV_SIDECARS} names a sidecar twice: {value}")
    return names


def _pdeathsig() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Init:
    def __init__(self, names: Sequence[str], env: Mapping[str, str], grace: float) -> None:
        self.names = list(names)
        self.env = dict(env)
        self.grace = grace
        self.children: dict[int, tuple[str, subprocess.Popen[bytes]]] = {}
        self.stopping: int | None = None  # the signal that asked us to stop
        self.results: list[tuple[str, int]] = []  # (name, exit code) of every child that ended
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # -- signals
    def _install(self) -> None:
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGHUP, self._forward)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _forward(self, signum: int, _frame: object = None) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _stop(self, signum: int, _frame: object = None) -> None:
        if self.stopping is None:
            self.stopping = signum
        self._forward(signum)

    # -- children
    def start(self) -> None:
        linux = sys.platform.startswith("linux")
        for name in self.names:
            argv = DAEMONS[name](self.env)
            proc = subprocess.Popen(
                argv,
                env=daemon_env(name, self.env),
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # signals reach children only through us
                preexec_fn=_pdeathsig if linux else None,
            )
            self.children[proc.pid] = (name, proc)
            _say(f"started {name} (pid {proc.pid})")

    def _reap(self) -> list[tuple[str, int]]:
        """Collect every exited process (ours and orphans); return ours as (name, status)."""
        exited = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            entry = self.children.pop(pid, None)
            if entry is not None:
                name, proc = entry
                code = os.waitstatus_to_exitcode(status)
                proc.returncode = code
                exited.append((name, code))
        return exited

    def _wait(self, timeout: float) -> None:
        with contextlib.suppress(InterruptedError):
            select.select([self._wake_r], [], [], timeout)
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_r, 512):
                pass

    def _shutdown(self) -> None:
        """SIGTERM the remaining children, SIGKILL them after the grace period."""
        self._forward(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while self.children and time.monotonic() < deadline:
            for name, code in self._reap():
                self.results.append((name, code))
                _say(f"{name} stopped ({_describe(code)})")
            if self.children:
                self._wait(min(0.2, max(0.0, deadline - time.monotonic())))
        for pid, (name, _proc) in list(self.children.items()):
            _say(f"{name} did not stop within {self.grace:g}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while self.children:
            self.results += self._reap()
            if self.children:
                self._wait(0.05)

    def run(self) -> int:
        self._install()
        try:
            self.start()
        except OSError as exc:
            _say(f"cannot start the sidecars: {exc}")
            self._shutdown()
            return 1
        while True:
            exited = self._reap()
            self.results += exited
            if self.stopping is not None:
                for name, code in exited:
                    _say(f"{name} stopped ({_describe(code)})")
                self._shutdown()
                ok = (0, -signal.SIGTERM, -signal.SIGINT, -self.stopping)
                return 0 if all(code in ok for _name, code in self.results) else 1
            if exited:
                name, code = exited[0]
                _say(f"{name} exited ({_describe(code)}); stopping the others")
                self._shutdown()
                return code if code > 0 else (128 - code if code < 0 else 1)
            if not self.children:
                return 1
            self._wait(1.0)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


def main(argv: Sequence[str] | None = None) -> int:
    env = dict(os.environ)
    try:
        names = parse_names(env.get(layout.ENV_SIDECARS))
    except ValueError as exc:
        _say(str(exc))
        return 1
    try:
        grace = float(env.get(layout.ENV_INIT_GRACE) or DEFAULT_GRACE_S)
    except ValueError:
        _say(f"{layout.ENV_INIT_GRACE} must be a number of seconds")
        return 1
    return Init(names, env, grace).run()


if __name__ == "__main__":
    sys.exit(main())
