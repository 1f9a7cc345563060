"""Building the agent and sidecar images, with progress and a build CA.

Images are tagged by a digest of what goes into them, so a warm start
reuses them and a changed Dockerfile never runs a stale one. When the
operator sets a CA bundle for builds (a corporate TLS proxy), a small
derived base image trusts it and every Dockerfile builds on that base.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import docker

from .errors import BuildFailed

DEFAULT_BASE_IMAGE = "debian:bookworm-slim"
CA_IN_IMAGE = "/usr/local/share/ca-certificates/bot-bottle-build-ca.crt"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

CA_BASE_DOCKERFILE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
COPY build-ca.crt {CA_IN_IMAGE}
# Appended now for this image; kept in ca-certificates' own directory so a
# later update-ca-certificates keeps it too.
RUN mkdir -p /etc/ssl/certs && cat {CA_IN_IMAGE} >> {SYSTEM_BUNDLE}
ENV PIP_CERT={SYSTEM_BUNDLE} REQUESTS_CA_BUNDLE={SYSTEM_BUNDLE} SSL_CERT_FILE={SYSTEM_BUNDLE} \\
    NODE_EXTRA_CA_CERTS={CA_IN_IMAGE} npm_config_cafile={SYSTEM_BUNDLE}
"""

Progress = Callable[[str], None]


def base_image(settings) -> str:
    return settings.base_image or DEFAULT_BASE_IMAGE


def effective_base_tag(settings) -> str:
    """The tag every Dockerfile builds FROM, known before anything is built."""
    base = base_image(settings)
    ca = settings.build_ca_bundle
    return ca_base_tag(base, ca) if ca is not None else base


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:12]


def context_digest(dockerfile: Path, base_image: str) -> str:
    """A short digest of the build context, the Dockerfile's name and the base image."""
    root = dockerfile.parent
    parts = [base_image.encode(), dockerfile.name.encode()]
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        parts += [str(path.relative_to(root)).encode(), path.read_bytes()]
    return _digest(*parts)


def agent_image_tag(provider: str, dockerfile: Path, base_image: str) -> str:
    return f"bot-bottle-agent-{provider}:{context_digest(dockerfile, base_image)}"


def sidecars_image_tag(context: Path, base_image: str) -> str:
    return f"bot-bottle-sidecars:{context_digest(context / 'Dockerfile', base_image)}"


def ca_base_tag(base_image: str, ca_bundle: Path) -> str:
    return f"bot-bottle-base-ca:{_digest(base_image.encode(), ca_bundle.read_bytes())}"


def exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _stream(client: docker.DockerClient, tag: str, progress: Progress, **kwargs) -> None:
    progress(f"building image {tag}")
    try:
        for chunk in client.api.build(tag=tag, decode=True, rm=True, forcerm=True, **kwargs):
            if "error" in chunk:
                raise BuildFailed(tag, chunk["error"].strip())
            line = (chunk.get("stream") or chunk.get("status") or "").rstrip()
            if line:
                progress(f"  {line}")
    except docker.errors.APIError as exc:
        raise BuildFailed(tag, exc.explanation or str(exc)) from None


def build(
    client: docker.DockerClient,
    *,
    tag: str,
    context: Path,
    dockerfile: Path,
    base_image: str,
    progress: Progress,
) -> str:
    """Build ``tag`` unless it exists; returns the tag."""
    if not exists(client, tag):
        _stream(
            client,
            tag,
            progress,
            path=str(context),
            dockerfile=str(dockerfile.relative_to(context)),
            buildargs={"BASE_IMAGE": base_image},
        )
    return tag


def base_with_ca(
    client: docker.DockerClient, base_image: str, ca_bundle: Path | None, progress: Progress
) -> str:
    """The base image every build uses: ``base_image`` itself, or one trusting ``ca_bundle``."""
    if ca_bundle is None:
        return base_image
    tag = ca_base_tag(base_image, ca_bundle)
    if exists(client, tag):
        return tag
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (
            ("Dockerfile", CA_BASE_DOCKERFILE.encode()),
            ("build-ca.crt", ca_bundle.read_bytes()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    _stream(
        client,
        tag,
        progress,
        fileobj=buf,
        custom_context=True,
        buildargs={"BASE_IMAGE": base_image},
    )
    return tag
