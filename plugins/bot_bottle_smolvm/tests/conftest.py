"""Fixtures of the smolvm contract tests (their helpers: bot_bottle_testing.smolvm_contract)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from bot_bottle_testing.fake_smolvm_machine import BOOT_FAILS_ENV
from bot_bottle_testing.smolvm_contract import Smolvm, make_smolvm


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A state dir short enough for smolvm's Unix sockets (pytest's tmp_path is not)."""
    path = Path(tempfile.mkdtemp(prefix="smolvm-", dir="/tmp"))
    path.chmod(0o755)  # an image directory under it must be reachable by the VMM's own uid
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["real", "fake"])
def smolvm(request: pytest.FixtureRequest, short_dir: Path) -> Smolvm:
    return make_smolvm(request.param, short_dir / request.param)


@pytest.fixture
def fake(short_dir: Path) -> Smolvm:
    """The fake with VMs that boot (no fault on), for the boot-dependent paths."""
    cli = make_smolvm("fake", short_dir / "fake")
    env = {k: v for k, v in cli.env.items() if k != BOOT_FAILS_ENV}
    return attrs.evolve(cli, env=env)


@pytest.fixture
def rootfs(short_dir: Path) -> Path:
    """An unpacked root file system directory, the cheapest local image."""
    root = short_dir / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("bottle\n")
    return root
