"""Test sessions for bot-bottle (run through uv).

    nox                           # every session: lint, tests(*), integration
    nox -s lint                   # ruff only
    nox -s "tests(dist='core')"   # one distribution's unit tests
    nox -s integration            # needs a Docker engine and the base image

Session venvs live in .nox/ and are reused between runs; each run still
re-syncs them (``uv sync`` against the workspace, a no-op when nothing
changed), so a new dependency is never missed.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "tests", "integration"]

ROOT = Path(__file__).resolve().parent
LINT_PATHS = ["src", "plugins", "sidecars", "tests", "bench", "noxfile.py"]
PLUGINS = ["docker", "smolvm", "macos-container", "claude", "codex", "gitea"]
# Distribution -> its own tests folder (the core's are tests/ itself).
TEST_DIRS = {
    **{p: f"plugins/bot_bottle_{p.replace('-', '_')}/tests" for p in PLUGINS},
    "sidecars": "sidecars/tests",
    # The supervise MCP server: its own environment (the dependency group "supervise"),
    # since the MCP SDK and mitmproxy 11 need different h11 versions.
    "supervise": "sidecars/supervise_tests",
}
GROUPS = {"supervise": "supervise"}  # distribution -> dependency group (default: dev)

# Exit code 5 means "no tests collected": tolerated only for a plugin whose
# tests/ folder is still empty. The core always has to run real tests.
NO_TESTS_COLLECTED = 5
PER_TEST_TIMEOUT_S = 300  # setup + call + teardown of one test


def _sync(session: nox.Session, group: str = "dev") -> None:
    """Install the whole workspace (editable) plus a dependency group into the session venv.

    Under CI=true a committed uv.lock must be up to date (``--locked``), so CI
    tests exactly the pinned versions.
    """
    locked = ["--locked"] if os.environ.get("CI") == "true" and (ROOT / "uv.lock").exists() else []
    session.run_install(
        "uv",
        "sync",
        "--no-default-groups",
        "--group",
        group,
        *locked,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


def _pytest_args(session: nox.Session) -> list[str]:
    # A hung test dumps every thread's traceback and ends the session instead
    # of stalling CI until its global limit.
    timeout = os.environ.get("BOT_BOTTLE_TEST_TIMEOUT", str(PER_TEST_TIMEOUT_S))
    return [
        "-p",
        "no:cacheprovider",
        "-o",
        f"faulthandler_timeout={timeout}",
        "-o",
        "faulthandler_exit_on_timeout=true",
        *session.posargs,
    ]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check + ruff format --check (ruff at the version uv.lock pins)."""
    _sync(session)
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


@nox.session
@nox.parametrize("dist", ["core", *TEST_DIRS])
def tests(session: nox.Session, dist: str) -> None:
    """Unit tests of one distribution (core = tests/ minus integration and packaging)."""
    _sync(session, GROUPS.get(dist, "dev"))
    if dist == "core":
        session.run(
            "pytest",
            "tests",
            "--ignore=tests/integration",
            "--ignore=tests/packaging",
            *_pytest_args(session),
        )
        return
    # Each plugin's tests are self-contained (own conftest), as a plugin
    # published on its own would be.
    session.run(
        "pytest",
        TEST_DIRS[dist],
        *_pytest_args(session),
        success_codes=[0, NO_TESTS_COLLECTED],
    )


@nox.session
def integration(session: nox.Session) -> None:
    """Docker engine isolation and fresh-install packaging tests."""
    _sync(session)
    session.run("pytest", "tests/integration", "tests/packaging", *_pytest_args(session))
