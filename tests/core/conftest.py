"""Fixtures for the core's tests: an isolated home and a CLI runner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import pytest


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    def has_row(self, key: str, value: str) -> bool:
        """Whether the printed preflight has a row ``key  value`` (padding may vary)."""
        return re.search(rf"^\s+{key}\s+{re.escape(value)}$", self.out, re.M) is not None


# The built-in demo's route injects this host variable (see builtin_config).
DEMO_TOKEN = "demo-token-value-for-tests"


@attrs.define
class Env:
    """A bot-bottle home in a temp dir, and a way to run the real CLI in it."""

    home: Path
    cwd: Path
    extra: dict[str, str]

    def write(self, rel: str, text: str) -> Path:
        path = self.home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def manifest(self, text: str) -> Path:
        return self.write("manifest.yaml", text)

    def agent(self, name: str, text: str) -> Path:
        return self.write(f"agents/{name}.md", text)

    def state_entries(self) -> list[str]:
        state = self.home / "state"
        return sorted(p.name for p in state.iterdir()) if state.exists() else []

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
        full_env.update(BOT_BOTTLE_HOME=str(self.home), BOT_BOTTLE_DEMO_TOKEN=DEMO_TOKEN)
        full_env.update(self.extra)
        full_env.update(env or {})  # a call's own variables win
        proc = subprocess.run(
            [sys.executable, "-m", "bot_bottle_core", *args],
            cwd=self.cwd,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def bb(tmp_path: Path) -> Env:
    home = tmp_path / "home"
    cwd = tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    return Env(home=home, cwd=cwd, extra={})


def _fake_dist(
    root: Path, dist: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str]
) -> Path:
    """Install a tiny distribution by hand: a .dist-info on a sys.path entry.

    That is all importlib.metadata needs to see an installed plugin, so
    tests can add broken or conflicting plugins without pip.
    """
    info = root / f"{dist.replace('-', '_')}-9.9.9.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 9.9.9\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for mod, source in modules.items():
        (root / f"{mod}.py").write_text(textwrap.dedent(source))
    return root


@pytest.fixture
def fake_dist():
    return _fake_dist


PAPER_BACKEND = """
from bot_bottle_core import hookimpl
from bot_bottle_core.plan import BackendPlan

@hookimpl
def prepare(request):
    (request.state_dir / "paper-prepared").write_text(request.slug)
    return BackendPlan(backend="paper", runtime="paper-runtime", image="paper:" + request.provider,
                       details={"dockerfile": request.dockerfile.name})
"""


@pytest.fixture
def paper(bb, tmp_path, fake_dist):
    """A backend installed by hand that plans without creating anything."""
    site = fake_dist(
        tmp_path / "site",
        "bot-bottle-paper",
        {"bot_bottle.backend": {"paper": "paper_backend"}},
        {"paper_backend": PAPER_BACKEND},
    )
    bb.extra["PYTHONPATH"] = str(site)
    return bb


# ---- supervision: a home with one running bottle on a backend that records its calls


def _route(obj):
    from bot_bottle_sidecars.routes import parse_route

    r, problems = parse_route(obj)
    assert not problems, problems
    return r


SUPERVISED_SLUG = "bob-abcde"
GH_AUTH = {"scheme": "Bearer", "token_ref": "GITHUB_TOKEN"}

RELOADER = """
import os
from bot_bottle_core import hookimpl
from bot_bottle_core.errors import BotBottleError

@hookimpl
def reload_routes(slug):
    if os.environ.get("RELOAD_FAILS"):
        raise BotBottleError(f"bottle {slug} is not running.")
    with open(os.environ["RELOADS"], "a") as f:
        f.write(slug + "\\n")

@hookimpl
def snapshot(slug, paths, dest):
    dest.write_text("transcript of " + slug + ": " + " ".join(paths))
    with open(os.environ["RELOADS"], "a") as f:
        f.write("snapshot " + slug + "\\n")

@hookimpl
def stop(slug, preserve, progress):
    if os.environ.get("STOP_FAILS"):
        raise BotBottleError(f"the engine is gone.")
    with open(os.environ["RELOADS"], "a") as f:
        f.write(f"stop {slug} preserve={preserve}\\n")
"""


@pytest.fixture
def op(bb, tmp_path, fake_dist):
    """A home with one running bottle (backend 'paper') and its live routes."""
    site = fake_dist(
        tmp_path / "site",
        "bot-bottle-paper",
        {"bot_bottle.backend": {"paper": "paper_reloader"}},
        {"paper_reloader": RELOADER},
    )
    bb.extra["PYTHONPATH"] = str(site)
    bb.extra["RELOADS"] = str(tmp_path / "reloads")
    from bot_bottle_core.routes_file import write_routes
    from bot_bottle_core.state import Metadata, write_metadata

    state = bb.home / "state" / SUPERVISED_SLUG
    state.mkdir(parents=True)
    write_metadata(state, Metadata(SUPERVISED_SLUG, "bob", "paper", "shell", "web", str(bb.cwd)))
    write_routes(
        state / "sidecar",
        [_route({"host": "api.github.com", "path_allowlist": ["/repos/a"], "auth": GH_AUTH})],
    )
    (bb.home / "queue" / SUPERVISED_SLUG).mkdir(parents=True)
    return bb
