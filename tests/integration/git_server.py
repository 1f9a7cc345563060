"""A real git upstream for the git gate's tests and benchmark: sshd and git in a container
on the fake internet's network, one repo (``app``: a README and a CI workflow on main),
and a key pair on the host that it accepts."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from bot_bottle_docker import images
from fake_internet import wait_for

HERE = Path(__file__).parent / "git_upstream"
GIT_HOST = "git.example.test"
UPSTREAM = f"ssh://git@{GIT_HOST}/srv/git/app.git"


@contextlib.contextmanager
def running_git_upstream(
    docker_client, base_image: str, network: str, tmp: Path
) -> Iterator[tuple[object, str, Path]]:
    """(container, its address on ``network``, the private key file it accepts)."""
    key = tmp / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (tmp / "keys").mkdir()
    (tmp / "keys" / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
    digest = hashlib.sha256(
        b"".join(p.read_bytes() for p in sorted(HERE.iterdir())) + base_image.encode()
    ).hexdigest()[:12]
    tag = f"bot-bottle-test/git-upstream:{digest}"
    images.build(
        docker_client,
        tag=tag,
        context=HERE,
        dockerfile=HERE / "Dockerfile",
        base_image=base_image,
        progress=lambda line: None,
    )
    container = docker_client.containers.run(
        tag,
        name=f"bbtest-git-{uuid.uuid4().hex[:8]}",
        network=network,
        volumes={str(tmp / "keys"): {"bind": "/keys", "mode": "ro"}},
        labels={"bot-bottle.test": "1"},
        detach=True,
    )
    try:
        wait_for(lambda: b"Server listening" in container.logs(), "the git upstream's sshd")
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
        yield container, ip, key
    finally:
        container.remove(force=True)
