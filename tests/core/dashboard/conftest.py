"""A fleet for the dashboard's tests: a home, a fake engine behind real backend plugins.

The engine is two backend plugins ("alpha", "beta") installed by hand into a
site directory and loaded through the real plugin loading (entry points), so
the dashboard calls them exactly as it calls docker. Each keeps its running
bottles as files under ``FAKE_ENGINE_DIR/<backend>/`` and logs what it was asked
to do (stop, reload, attach) there too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path

import attrs
import pytest
from bot_bottle_sidecars.proposals import Proposal, Queue
from bot_bottle_sidecars.routes import parse_route

from bot_bottle_core import launch_record
from bot_bottle_core.launch_record import LaunchRecord
from bot_bottle_core.plan import egress_log_dir
from bot_bottle_core.process_stamp import ProcessStamp
from bot_bottle_core.routes_file import write_routes
from bot_bottle_core.state import Metadata, write_metadata
from bot_bottle_core.supervision import DECISIONS_FILE

FAKE_ENGINE = r'''
import json, os, sys
from pathlib import Path
from bot_bottle_core import hookimpl
from bot_bottle_core.plan import ActiveBottle, BackendPlan, BoundaryReport
from bot_bottle_sidecars.boundary import ProbeResult

# Run inside a bottle "attach": record it; hold the terminal when asked to.
ATTACH = """
import os, sys, time
slug, argv = sys.argv[1], sys.argv[2:]
with open(os.path.join(os.environ["FAKE_ENGINE_DIR"], "attaches"), "a") as f:
    f.write(slug + " " + " ".join(argv) + "\\n")
print("ATTACHED TO " + slug, flush=True)
if os.environ.get("FAKE_ATTACH_HOLD"):
    time.sleep(600)
"""


class FakeEngine:
    def __init__(self, name):
        self.name = name

    def _dir(self):
        d = Path(os.environ["FAKE_ENGINE_DIR"]) / self.name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _log(self, what, line):
        with open(Path(os.environ["FAKE_ENGINE_DIR"]) / what, "a") as f:
            f.write(line + "\n")

    @hookimpl
    def enumerate_active(self):
        control = Path(os.environ["FAKE_ENGINE_DIR"])
        if (control / "slow").exists():  # an engine that answers once the test lets it
            import time
            while (control / "slow").exists():
                time.sleep(0.01)
        if (control / "garbage").exists():  # a broken plugin's answer
            return ["not a bottle"]
        out = []
        for p in sorted(self._dir().glob("*.json")):
            b = json.loads(p.read_text())
            out.append(ActiveBottle(backend=self.name, slug=b["slug"], agent=b["agent"],
                                    label=b.get("label"), services=tuple(b["services"]),
                                    started_at=b["started_at"]))
        return out

    @hookimpl
    def prepare(self, request):
        image = "fake:" + request.provider
        return BackendPlan(backend=self.name, runtime="fake-runtime", image=image)

    @hookimpl
    def launch(self, request, plan, provision, progress):
        progress("fake engine: creating " + request.slug)
        (self._dir() / (request.slug + ".json")).write_text(json.dumps({
            "slug": request.slug, "agent": request.agent.name, "label": request.agent.label,
            "services": ["agent", "sidecars"], "started_at": "2025-06-01T09:30:00+00:00"}))
        self._log("launches", request.slug)
        held = ProbeResult("egress", "example.org", True, "refused")
        return BoundaryReport(request.slug, (held,))

    @hookimpl
    def attach_argv(self, slug, argv, tty):
        return [sys.executable, "-c", ATTACH, slug, *argv]

    @hookimpl
    def reload_routes(self, slug):
        self._log("reloads", slug)

    @hookimpl
    def stop(self, slug, preserve, progress):
        (self._dir() / (slug + ".json")).unlink(missing_ok=True)
        self._log("stops", slug)


alpha = FakeEngine("alpha")
beta = FakeEngine("beta")
'''

WHEN = "2025-06-01T09:00:00+00:00"


def route(obj):
    r, problems = parse_route(obj)
    assert not problems, problems
    return r


@attrs.define
class Fleet:
    """A home, its bottles on the fake engine, their queues and decision logs."""

    home: Path
    cwd: Path
    engine: Path
    site: Path
    env: dict[str, str]

    def bottle(
        self,
        slug: str,
        *,
        backend: str = "alpha",
        agent: str = "demo",
        label: str | None = None,
        started: str = "2025-06-01T08:15:00+00:00",
        services: tuple[str, ...] = ("agent", "sidecars"),
        launcher: ProcessStamp | None = None,
        completed: bool = True,
        running: bool = True,
        routes: tuple[dict, ...] = ({"host": "example.com"},),
    ) -> Path:
        """A bottle as ``start`` leaves it: state, live routes, a launch record, running."""
        state = self.home / "state" / slug
        state.mkdir(parents=True)
        write_metadata(
            state, Metadata(slug, agent, backend, "shell", "demo", str(self.cwd), label=label)
        )
        write_routes(state / "sidecar", [route(r) for r in routes])
        done = "2025-06-01T08:16:00+00:00" if completed else None
        launch_record.write(
            state, LaunchRecord(launcher or ProcessStamp.current(), "2025-06-01T08:15:00", done)
        )
        (self.home / "queue" / slug).mkdir(parents=True, exist_ok=True)
        if running:
            d = self.engine / backend
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{slug}.json").write_text(
                json.dumps(
                    {
                        "slug": slug,
                        "agent": agent,
                        "label": label,
                        "services": list(services),
                        "started_at": started,
                    }
                )
            )
        return state

    def ask(self, slug: str, obj: dict, why: str = "to do my job", when: str = WHEN) -> Proposal:
        proposal = dataclasses.replace(Proposal.egress(route(obj), why), created_at=when)
        return Queue(self.home / "queue" / slug).submit(proposal)

    def queue(self, slug: str) -> Queue:
        return Queue(self.home / "queue" / slug)

    def deny(self, slug: str, host: str, path: str = "/", when: str = "2025-06-01T08:59:00Z"):
        """A line of the bottle's egress decision log: a refused request."""
        record = {
            "time": when,
            "decision": "deny",
            "kind": "request",
            "host": host,
            "port": 443,
            "method": "GET",
            "path": path,
            "route": None,
            "reason": f"no route for {host}",
        }
        log = egress_log_dir(self.home / "state" / slug)  # where the bundle writes them
        log.mkdir(parents=True, exist_ok=True)
        with open(log / DECISIONS_FILE, "a") as f:
            f.write(json.dumps(record) + "\n")

    def live_routes(self, slug: str) -> list[dict]:
        path = self.home / "state" / slug / "sidecar" / "routes.json"
        return json.loads(path.read_text())["routes"]

    def log(self, what: str) -> list[str]:
        path = self.engine / what
        return path.read_text().splitlines() if path.exists() else []

    def cli_env(self, **extra: str) -> dict[str, str]:
        """The environment a bot-bottle subprocess runs with in this fleet."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_BOTTLE_", "TMUX"))}
        env.update(self.env, **extra)
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
        return env

    def agent(self, name: str, label: str | None = None) -> None:
        extra = f"label: {label}\n" if label else ""
        path = self.home / "agents" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\nbottle: demo\nprovider: shell\n{extra}---\n\nAn agent.\n")


@pytest.fixture
def fleet(tmp_path, monkeypatch, fake_dist) -> Fleet:
    site = fake_dist(
        tmp_path / "site",
        "bot-bottle-fake-engine",
        {"bot_bottle.backend": {"alpha": "fake_engine:alpha", "beta": "fake_engine:beta"}},
        {"fake_engine": FAKE_ENGINE},
    )
    home, cwd, engine = tmp_path / "home", tmp_path / "work", tmp_path / "engine"
    for d in (home, cwd, engine):
        d.mkdir()
    env = {
        "BOT_BOTTLE_HOME": str(home),
        # Only the fake engine: a real engine here (and what others run on it) stays out.
        "BOT_BOTTLE_PLUGINS": "alpha",
        "BOT_BOTTLE_DEMO_TOKEN": "demo-token",
        "FAKE_ENGINE_DIR": str(engine),
        "TZ": "UTC",
    }
    for k in [k for k in os.environ if k.startswith("BOT_BOTTLE_") or k in ("TMUX", "TMUX_PANE")]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    import time

    time.tzset()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.chdir(cwd)
    env["PYTHONPATH"] = str(site)
    return Fleet(home=home, cwd=cwd, engine=engine, site=site, env=env)


@pytest.fixture(autouse=True)
def _restore_tz():
    yield
    import time

    time.tzset()


class Driver:
    """Runs the real dashboard headless (Textual's pilot) against the fleet."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    def run(self, scenario, *, size=(150, 40), environ=None, **kwargs):
        """Run ``await scenario(app, pilot)`` once the first snapshot is shown; the app."""
        from bot_bottle_core.cli.context import AppContext
        from bot_bottle_core.dashboard.app import Dashboard

        app = Dashboard(AppContext(), environ=environ or {}, **kwargs)

        async def main():
            async with app.run_test(size=size) as pilot:
                await until(pilot, lambda: app.snapshots >= 1)
                await scenario(app, pilot)

        asyncio.run(main())
        return app


async def until(pilot, condition, timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds (a test failure after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


@pytest.fixture
def dash(fleet) -> Driver:
    return Driver(fleet)


@pytest.fixture
def wait():
    return until


def cells(pane, key: str) -> list[str]:
    return [str(c) for c in pane.get_row(key)]


@pytest.fixture
def row():
    return cells
