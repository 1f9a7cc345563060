"""A user's fresh install: ``pip install bot-bottle[docker,claude]`` into a new venv.

Wheels for the core and every plugin are built from this checkout. Every
``bot-bottle*`` distribution must come from those wheels, never from an index
(PyPI may hold unrelated packages with these names), so the install runs in
two steps:

1. the third-party requirements of the ``bot-bottle[docker,claude]`` closure
   (read from the built wheels' metadata) come from the package index;
2. ``bot-bottle[docker,claude]`` itself is installed with ``--no-index
   --find-links <wheels>``: the extras must resolve to the local plugin wheels.

Then the venv's own ``bot-bottle`` runs with an empty ``BOT_BOTTLE_HOME`` and
no ``BOT_BOTTLE_PLUGINS``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path
from types import SimpleNamespace

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = ("docker", "claude")
EXPECTED_DISTS = {"bot-bottle", "bot-bottle-docker", "bot-bottle-claude", "bot-bottle-sidecars"}
EXPECTED_PLUGINS = {"docker": "backend", "claude": "provider", "shell": "provider"}
PLUGIN_KEYS = {"name", "kind", "distribution", "version", "status", "available", "reason", "error"}
TIMEOUT_S = 600


def _ours(name: str) -> bool:
    return canonicalize_name(name).startswith("bot-bottle")


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv  # the PyPI "uv" package ships the binary

        return [uv.find_uv_bin()]
    except (ImportError, FileNotFoundError):
        msg = "uv is not installed (needed to build wheels)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)


def _base_python() -> str:
    return os.environ.get("BOT_BOTTLE_TEST_PYTHON") or getattr(
        sys, "_base_executable", sys.executable
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "BOT_BOTTLE_PLUGINS"}
        and not k.startswith("UV_PROJECT")
    }
    env.update(extra)
    return env


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess[str]:
    kw.setdefault("env", _clean_env())
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, **kw)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, argv))} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
    return proc


def _wheel_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        msg = Parser().parsestr(zf.read(meta).decode())
    return [Requirement(r) for r in msg.get_all("Requires-Dist") or []]


def _closure(wheels: dict[str, Path], root: str, extras: tuple[str, ...]) -> list[str]:
    """Third-party requirements of ``root[extras]``; every bot-bottle* one must be local."""
    third_party: list[str] = []
    todo = [(canonicalize_name(root), extras)]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        assert name in wheels, f"{name} is needed but was not built locally"
        for req in _wheel_requirements(wheels[name]):
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in ("", *wanted)):
                continue
            if _ours(req.name):
                todo.append((canonicalize_name(req.name), tuple(sorted(req.extras))))
            else:
                req.marker = None
                third_party.append(str(req))
    return sorted(set(third_party))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    uv = _uv()
    tmp = tmp_path_factory.mktemp("fresh-install")
    wheel_dir = tmp / "wheels"
    _run([*uv, "build", "--all-packages", "--wheel", "--out-dir", str(wheel_dir)], cwd=ROOT)
    wheels = {
        canonicalize_name(parse_wheel_filename(w.name)[0]): w for w in wheel_dir.glob("*.whl")
    }
    assert set(wheels) >= EXPECTED_DISTS, sorted(wheels)

    venv = tmp / "venv"
    work = tmp / "work"  # cwd for uv pip: no pyproject.toml, so no workspace sources apply
    work.mkdir()
    _run([*uv, "venv", "--python", _base_python(), "--no-project", str(venv)], cwd=work)
    py = venv / "bin" / "python"

    third_party = _closure(wheels, "bot-bottle", EXTRAS)
    if third_party:
        _run([*uv, "pip", "install", "--python", str(py), *third_party], cwd=work)
    _run(
        [
            *uv,
            "pip",
            "install",
            "--python",
            str(py),
            "--no-index",
            "--find-links",
            str(wheel_dir),
            f"bot-bottle[{','.join(EXTRAS)}]",
        ],
        cwd=work,
    )

    home = tmp / "home"
    home.mkdir()
    env = _clean_env(
        BOT_BOTTLE_HOME=str(home),
        BOT_BOTTLE_DEMO_TOKEN="demo-token",  # the built-in demo's route injects it
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
    )
    return SimpleNamespace(
        venv=venv, python=py, exe=venv / "bin" / "bot-bottle", env=env, cwd=work, wheels=wheels
    )


def _cli(fresh: SimpleNamespace, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([str(fresh.exe), *args], env=fresh.env, cwd=fresh.cwd)


def test_bot_bottle_dists_are_the_local_wheels(fresh: SimpleNamespace) -> None:
    script = (
        "import json, importlib.metadata as m, importlib.util as u;"
        "c = u.find_spec('bot_bottle_core');"  # locate without importing
        "print(json.dumps({'core': c.origin, 'dists': {d.metadata['Name']: d.version"
        " for d in m.distributions() if d.metadata['Name'].lower().startswith('bot-bottle')}}))"
    )
    out = json.loads(_run([str(fresh.python), "-c", script], env=fresh.env, cwd=fresh.cwd).stdout)
    assert Path(out["core"]).is_relative_to(fresh.venv), out["core"]
    dists = {canonicalize_name(n): v for n, v in out["dists"].items()}
    assert set(dists) == EXPECTED_DISTS
    for name, version in dists.items():
        assert str(parse_wheel_filename(fresh.wheels[name].name)[1]) == version


def test_help(fresh: SimpleNamespace) -> None:
    assert "Usage" in _cli(fresh, "--help").stdout


def test_plugins_list_json(fresh: SimpleNamespace) -> None:
    plugins = json.loads(_cli(fresh, "plugins", "list", "--json").stdout)
    assert isinstance(plugins, list)
    for p in plugins:
        assert set(p) >= PLUGIN_KEYS, p  # the contract's keys; additions are allowed
        assert p["kind"] in {"backend", "provider", "git_host"}, p
        assert p["status"] in {"ok", "broken", "conflict"}, p
        assert isinstance(p["available"], bool), p
        assert p["reason"] is None or isinstance(p["reason"], str), p
        assert p["error"] is None or isinstance(p["error"], str), p
    names = [p["name"] for p in plugins]
    assert sorted(names) == sorted(EXPECTED_PLUGINS), names
    for p in plugins:
        assert p["kind"] == EXPECTED_PLUGINS[p["name"]], p
        assert p["status"] == "ok" and p["error"] is None, p


def test_config_check(fresh: SimpleNamespace) -> None:
    _cli(fresh, "config", "check")


def test_start_dry_run(fresh: SimpleNamespace) -> None:
    _cli(fresh, "start", "demo", "--dry-run", "--backend", "docker")
