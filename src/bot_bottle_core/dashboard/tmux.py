"""The dashboard inside tmux: one right-hand pane for agents, and coming forward when asked.

Every call is best effort: tmux missing or refusing returns ``False``/``None``
and the dashboard falls back to attaching in its own terminal.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

# What a command in the right pane needs of the dashboard's environment: tmux
# starts it with the tmux server's environment, not ours (another home, a
# narrowed plugin set). No credential is among them: attaching needs none.
PASSED_ENV = (
    "BOT_BOTTLE_HOME",
    "BOT_BOTTLE_PLUGINS",
    "BOT_BOTTLE_DISABLE_PLUGINS",
    "BOT_BOTTLE_DEBUG",
    "PATH",
    "PYTHONPATH",
    "VIRTUAL_ENV",
)


def inside(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("TMUX")) and bool(environ.get("TMUX_PANE"))


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        done = subprocess.run(
            ["tmux", *argv], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done if done.returncode == 0 else None


@attrs.define
class Tmux:
    """The dashboard's own pane (``$TMUX_PANE``) and the right-hand pane it reuses."""

    own_pane: str
    environ: Mapping[str, str]
    right_pane: str | None = None
    # Which bottle the right pane shows (the agents pane marks it).
    right_slug: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Tmux | None:
        return cls(environ["TMUX_PANE"], environ) if inside(environ) else None

    def _env_args(self) -> list[str]:
        args = []
        for name in PASSED_ENV:
            if name in self.environ:
                args += ["-e", f"{name}={self.environ[name]}"]
        return args

    def _alive(self, pane: str) -> bool:
        done = _run(["list-panes", "-t", self.own_pane, "-F", "#{pane_id}"])
        return done is not None and pane in done.stdout.split()

    def show(self, slug: str, argv: Sequence[str], cwd: Path) -> str | None:
        """Run ``argv`` in the right-hand pane (respawned when it exists) and focus it."""
        common = [*self._env_args(), "-c", str(cwd)]
        pane = self.right_pane
        if pane is not None and self._alive(pane):
            if _run(["respawn-pane", "-k", "-t", pane, *common, *argv]) is None:
                pane = None
        else:
            pane = None
        if pane is None:
            split = ["split-window", "-h", "-t", self.own_pane, "-P", "-F", "#{pane_id}"]
            done = _run([*split, *common, *argv])
            if done is None or not done.stdout.strip():
                return None
            pane = done.stdout.strip()
        self.right_pane, self.right_slug = pane, slug
        _run(["select-pane", "-t", pane])
        return pane

    def come_forward(self) -> None:
        """Select the dashboard's window and pane, wherever the operator is in tmux."""
        _run(["select-window", "-t", self.own_pane])
        _run(["select-pane", "-t", self.own_pane])

    def forget(self, slug: str) -> None:
        if self.right_slug == slug:
            self.right_slug = None
