"""The real dashboard in a real tmux server: the bell, coming forward, the right-hand pane.

Keys go in with ``send-keys``, the screen comes out with ``capture-pane``; the
bell is seen by tmux itself (its ``alert-bell`` hook). Needs the tmux binary.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Server:
    def __init__(self, socket, env) -> None:
        self.socket, self.env = socket, env

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    def screen(self, pane: str) -> str:
        return self("capture-pane", "-p", "-t", pane)

    def until(self, condition, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                panes = self("list-panes", "-a", "-F", "#{pane_id}")
                shots = "\n".join(f"--- {p}\n{self.screen(p)}" for p in panes.split())
                raise AssertionError(f"timed out waiting for {what}:\n{shots}")
            time.sleep(0.05)

    def panes(self, window: str) -> list[str]:
        return self("list-panes", "-t", window, "-F", "#{pane_id}").split()

    def active(self, fmt: str) -> str:
        return self("display-message", "-p", "-t", "dash", fmt).strip()


@pytest.fixture
def tmux(fleet, tmp_path):
    env = fleet.cli_env(FAKE_ATTACH_HOLD="1", TERM="xterm-256color")
    server = Server(tmp_path / "tmux.sock", env)
    bells = tmp_path / "bells"
    server(
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "dash",
        "-x",
        "220",
        "-y",
        "50",
        "-c",
        str(fleet.cwd),
        f"{sys.executable} -m bot_bottle_core dashboard",
    )
    server("set-option", "-g", "remain-on-exit", "on")
    server("set-hook", "-g", "alert-bell", f"run-shell 'echo bell >> {bells}'")
    server.bells = bells
    yield server
    subprocess.run(["tmux", "-S", str(server.socket), "kill-server"], capture_output=True)


def test_a_new_proposal_rings_and_brings_the_dashboard_forward(fleet, tmux):
    fleet.bottle("demo-aaaaa")
    (dashboard,) = tmux.panes("dash:0")
    tmux.until(lambda: "Agents (1)" in tmux.screen(dashboard), "the first picture")
    tmux("new-window", "-t", "dash:1")  # the operator is busy elsewhere
    assert tmux.active("#{window_index}") == "1"
    assert not tmux.bells.exists()

    p = fleet.ask("demo-aaaaa", {"host": "pypi.org"}, "pip install")

    tmux.until(tmux.bells.exists, "the bell")
    tmux.until(lambda: tmux.active("#{window_index}") == "0", "the dashboard's window")
    assert tmux.active("#{pane_id}") == dashboard
    # The picture reaches the terminal on Textual's next frame.
    tmux.until(lambda: "1 new!" in tmux.screen(dashboard), "the flash")
    screen = tmux.screen(dashboard)
    (line,) = [line for line in screen.splitlines() if p.id in line]
    assert "NEW" in line and "demo-aaaaa" in line


def test_enter_opens_the_right_pane_and_a_second_enter_reuses_it(fleet, tmux):
    fleet.bottle("demo-aaaaa")
    fleet.bottle("demo-bbbbb")
    (dashboard,) = tmux.panes("dash:0")
    tmux.until(lambda: "Agents (2)" in tmux.screen(dashboard), "the first picture")

    tmux("send-keys", "-t", dashboard, "Enter")
    tmux.until(lambda: len(tmux.panes("dash:0")) == 2, "a right-hand pane")
    right = next(p for p in tmux.panes("dash:0") if p != dashboard)
    tmux.until(lambda: "ATTACHED TO demo-aaaaa" in tmux.screen(right), "the attach")
    assert tmux.active("#{pane_id}") == right  # focus moved there
    assert tmux("display-message", "-p", "-t", right, "#{pane_left}") > "0"

    tmux("select-pane", "-t", dashboard)
    tmux("send-keys", "-t", dashboard, "Down", "Enter")
    tmux.until(lambda: "ATTACHED TO demo-bbbbb" in tmux.screen(right), "the second attach")
    assert tmux.panes("dash:0") == [dashboard, right]  # the same pane, respawned
    assert tmux.active("#{pane_id}") == right
    assert fleet.log("attaches") == ["demo-aaaaa bash --login", "demo-bbbbb bash --login"]


def test_a_crash_restores_the_terminal_and_says_where_the_traceback_is(fleet, tmux):
    (dashboard,) = tmux.panes("dash:0")
    tmux.until(lambda: "Agents (0)" in tmux.screen(dashboard), "the first picture")
    (fleet.engine / "garbage").write_text("")  # the backend starts answering nonsense
    log = fleet.home / "logs" / "dashboard-crash.log"
    tmux.until(
        lambda: tmux("display-message", "-p", "-t", dashboard, "#{pane_dead}") == "1\n",
        "the dashboard to exit",
    )
    assert tmux("display-message", "-p", "-t", dashboard, "#{alternate_on}") == "0\n"
    # With what scrolled up, wrapped lines joined.
    screen = tmux("capture-pane", "-p", "-J", "-S", "-", "-t", dashboard)
    assert "bot-bottle: the dashboard crashed (AttributeError" in screen
    assert str(log) in screen
    assert "Traceback" not in screen
    assert "Traceback (most recent call last)" in log.read_text()
