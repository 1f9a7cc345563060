"""stop and attach_argv of a running smolvm bottle (the contract fake boots its VMs)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_bottle_smolvm import names, plugin
from bot_bottle_smolvm.leases import Leases
from bot_bottle_smolvm.smolvm_cli import Smolvm
from bot_bottle_testing.fake_smolvm import install_fake_smolvm

HOME = "home-stop"


@pytest.fixture
def fake(monkeypatch) -> Iterator[tuple[Smolvm, Leases, Path]]:
    root = Path(tempfile.mkdtemp(prefix="svt-", dir="/tmp"))
    root.chmod(0o755)  # the image directory must be reachable by the VMM's own uid
    (root / "rootfs").mkdir()
    shim = install_fake_smolvm(root / "bin")
    monkeypatch.setenv("PATH", f"{shim.parent}:/usr/bin:/bin")
    monkeypatch.setenv("BOT_BOTTLE_SMOLVM_STATE_DIR", str(root / "state"))
    monkeypatch.setenv("BOT_BOTTLE_SMOLVM_LEASES", str(root / "leases"))
    yield Smolvm(str(shim), root / "state"), Leases(root / "leases", base_port=44600), root
    shutil.rmtree(root, ignore_errors=True)


def running(cli: Smolvm, leases: Leases, root: Path, slug: str) -> str:
    name = names.machine(slug)
    labels = names.labels(slug, "claude", label=None, started_at="t", home=HOME)
    cli.create(name, str(root / "rootfs"), labels=labels)
    cli.start(name)
    leases.allocate(slug, home=HOME)
    leases.bind(slug)
    return name


def test_attach_runs_the_command_in_the_machine_as_the_agent_user(fake):
    cli, leases, root = fake
    name = running(cli, leases, root, "att-aaaaa")
    argv = plugin.attach_argv(slug="att-aaaaa", argv=["bash", "-l"], tty=True)
    assert argv[0] == cli.binary
    assert argv[argv.index("exec") :][:3] == ["exec", "--name", name]
    assert "-i" in argv and "-t" in argv
    assert argv[argv.index("--") + 1 :] == ["runuser", "-u", "agent", "--", "bash", "-l"]
    no_tty = plugin.attach_argv(slug="att-aaaaa", argv=["true"], tty=False)
    assert "-t" not in no_tty


@pytest.mark.docker
@pytest.mark.parametrize("preserve", [False, True])
def test_stop_removes_the_machine_or_keeps_it_stopped_and_gives_the_ports_back(fake, preserve):
    cli, leases, root = fake
    running(cli, leases, root, "stp-aaaaa")
    running(cli, leases, root, "other-bbbbb")
    said: list[str] = []
    plugin.stop(slug="stp-aaaaa", preserve=preserve, progress=said.append)
    machines = {m.name: m.state for m in cli.ls()}
    if preserve:  # its disk is the workspace, for resume
        assert machines == {"bb-stp-aaaaa": "stopped", "bb-other-bbbbb": "running"}
    else:
        assert machines == {"bb-other-bbbbb": "running"}
    assert [x.slug for x in leases.held()] == ["other-bbbbb"]
    assert any("smolvm machine bb-stp-aaaaa" in line for line in said)
    # Stopping again (a bottle already gone) is not an error.
    plugin.stop(slug="stp-aaaaa", preserve=False, progress=said.append)
    assert "bb-stp-aaaaa" not in {m.name for m in cli.ls()}


def test_the_attach_argv_really_execs(fake):
    cli, leases, root = fake
    running(cli, leases, root, "run-aaaaa")
    argv = cli.exec_argv(names.machine("run-aaaaa"), ["sh", "-c", "exit 3"])
    assert subprocess.run(argv, check=False, capture_output=True).returncode == 3
