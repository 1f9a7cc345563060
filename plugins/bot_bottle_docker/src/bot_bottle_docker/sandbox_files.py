"""Writing files into a running agent container so that its sandbox sees them.

Under gVisor the engine's writes into a running container's root filesystem
are not coherent with what the sandbox has already looked at: a file it has
read keeps its old content when the engine overwrites it, and a directory it
has seen can miss entries the engine adds (codex then fails to create its
database directory: "File exists"). A name the sandbox never looked up is
found. So the engine only drops one tar at a fresh random path, and a ``tar``
inside the bottle, run as the agent user, writes the files: the sandbox makes
them itself, and they can hold nothing that user could not have written.
"""

from __future__ import annotations

import secrets

from docker.models.containers import Container

from . import archive
from .errors import LaunchFailed


def unpack_inside(container: Container, user: str, tar: bytes, what: str) -> None:
    """Extract ``tar`` (members relative to ``/``) inside ``container`` as ``user``."""
    stage = f".bot-bottle-stage-{secrets.token_hex(8)}.tar"
    if not container.put_archive("/", archive.tar_of([(stage, tar, 0o644)], 0, 0)):
        raise LaunchFailed(f"{what} failed: could not copy into {container.name}.")
    try:
        # -p: keep the modes given (0600 stays 0600); --no-overwrite-dir: a
        # parent that exists (the home, owned by whoever) keeps its metadata.
        argv = ["tar", "-x", "-p", "--no-overwrite-dir", "-f", f"/{stage}", "-C", "/"]
        result = container.exec_run(argv, user=user)
        if result.exit_code in (126, 127):  # the engine could not run it
            raise LaunchFailed(
                f"{what} failed: the agent image of {container.name} cannot run tar, which "
                "bot-bottle uses to put files into the bottle. Install tar in the bottle's "
                "Dockerfile."
            )
        if result.exit_code != 0:
            out = result.output.decode(errors="replace").strip()
            raise LaunchFailed(
                f"{what} failed in {container.name} (tar exit {result.exit_code}): {out}"
            )
    finally:
        # Root owns / in the image, so root may unlink there without any capability.
        container.exec_run(["rm", "-f", f"/{stage}"], user="0")
