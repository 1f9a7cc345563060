"""Files written into a running gVisor sandbox are what the sandbox then reads.

The engine's own writes into a running runsc container are not coherent with
what the sandbox has seen (see sandbox_files): these fail when provisioning or
the transcript restore write through the engine.
"""

from __future__ import annotations

import io
import tarfile

import pytest
from bot_bottle_docker.launch import AgentUser, provision, restore_transcript

from bot_bottle_core.plan import RunCommand, WriteFile

pytestmark = pytest.mark.docker
ROOT = AgentUser(0, 0)


@pytest.fixture
def sandbox(docker_client, base_image):
    if "runsc" not in docker_client.info().get("Runtimes", {}):
        pytest.skip("gVisor (runsc) is not registered with this engine")
    c = docker_client.containers.run(
        base_image, ["sleep", "300"], runtime="runsc", detach=True, labels={"bot-bottle.test": "1"}
    )
    try:
        c.exec_run(["mkdir", "/workspace"])  # where provisioning commands run
        yield c
    finally:
        c.remove(force=True)


def read(c, path: str) -> str:
    return c.exec_run(["cat", path]).output.decode()


def test_a_later_step_replaces_a_file_the_sandbox_has_read(sandbox):
    steps = [
        WriteFile("/root/conf/settings.toml", "one\n"),
        RunCommand(("cat", "/root/conf/settings.toml")),  # the sandbox reads it
        WriteFile("/root/conf/settings.toml", "two\n", 0o600),
    ]
    provision(sandbox, ROOT, steps)
    assert read(sandbox, "/root/conf/settings.toml") == "two\n"
    # (Not stat(1): coreutils' statx gets EINVAL from this gVisor.)
    mode = "import os; print(oct(os.stat('/root/conf/settings.toml').st_mode & 0o777))"
    assert sandbox.exec_run(["python3", "-c", mode]).output.decode().strip() == "0o600"


def test_a_restored_transcript_shows_in_a_directory_the_sandbox_has_listed(sandbox, tmp_path):
    listed = "import os, sys; print(sorted(os.listdir(sys.argv[1])))"
    sandbox.exec_run(["mkdir", "-p", "/root/.agent/sessions"])
    assert sandbox.exec_run(["python3", "-c", listed, "/root/.agent/sessions"]).exit_code == 0
    archive = tmp_path / "transcript.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in [("root/.agent/sessions/s1.jsonl", b"{}\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    restore_transcript(sandbox, ROOT, archive)
    out = sandbox.exec_run(["python3", "-c", listed, "/root/.agent/sessions"]).output.decode()
    assert out.strip() == "['s1.jsonl']"
    # The engine's staging copy is gone.
    left = sandbox.exec_run(["sh", "-c", "echo /.bot-bottle-stage-*"]).output.decode()
    assert left.strip() == "/.bot-bottle-stage-*"


def test_an_image_without_tar_is_named_with_what_to_do(sandbox):
    from bot_bottle_docker.errors import LaunchFailed

    assert sandbox.exec_run(["rm", "/usr/bin/tar", "/bin/tar"]).exit_code in (0, 1)
    with pytest.raises(LaunchFailed) as err:
        provision(sandbox, ROOT, [WriteFile("/root/x", "x")])
    assert "cannot run tar" in str(err.value) and "Dockerfile" in str(err.value)
