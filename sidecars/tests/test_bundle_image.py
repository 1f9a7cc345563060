"""The sidecar bundle image, built and run on the real Docker engine.

Build: a derived base image first (the local base plus the host's CA bundle and
``PIP_CERT``/``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``/``NODE_EXTRA_CA_CERTS``, the way
the product's "extra CA for image builds" setting does it), then the bundle from
``context_dir()`` with ``BASE_IMAGE`` pointing at it. Both are tagged by a digest of
their inputs, so a rerun with nothing changed builds nothing.

Run: on an ``internal`` network the test creates, with the routes directory mounted
at ``/etc/bot-bottle``. Every probe runs inside the container (``exec``); no packet
leaves the machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from bot_bottle_sidecars import context_dir, layout

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TEST_LABEL = "bot-bottle.test"
READY_DEADLINE_S = 60
TOKEN = "tok-docker-5b1e-never-log-me"

CA_BASE_DOCKERFILE = """\
FROM {base}
COPY extra-ca.pem /usr/local/share/bot-bottle/extra-ca.pem
RUN cat /usr/local/share/bot-bottle/extra-ca.pem >> /etc/ssl/certs/ca-certificates.crt
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    NODE_EXTRA_CA_CERTS=/usr/local/share/bot-bottle/extra-ca.pem
"""


def _build(client, tag: str, log: list[str], **kwargs) -> None:
    for chunk in client.api.build(tag=tag, decode=True, rm=True, forcerm=True, **kwargs):
        if "stream" in chunk:
            log.append(chunk["stream"])
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error")
            tail = "".join(log)[-4000:]
            raise AssertionError(f"building {tag} failed: {detail}\n{tail}")


def _image_exists(client, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _context_digest() -> str:
    h = hashlib.sha256()
    root = context_dir()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@pytest.fixture(scope="module")
def ca_base_image(docker_client, base_image, tmp_path_factory) -> str:
    bundle = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.exists() else b""
    dockerfile = CA_BASE_DOCKERFILE.format(base=base_image)
    base_id = docker_client.images.get(base_image).id
    digest = hashlib.sha256(base_id.encode() + bundle + dockerfile.encode()).hexdigest()[:16]
    tag = f"bot-bottle-test/ca-base:{digest}"
    if not _image_exists(docker_client, tag):
        ctx = tmp_path_factory.mktemp("ca-base")
        (ctx / "Dockerfile").write_text(dockerfile)
        (ctx / "extra-ca.pem").write_bytes(bundle)
        _build(docker_client, tag, [], path=str(ctx), labels={TEST_LABEL: "ca-base"})
    return tag


@pytest.fixture(scope="module")
def bundle_image(docker_client, ca_base_image) -> str:
    base_id = docker_client.images.get(ca_base_image).id
    digest = hashlib.sha256((base_id + _context_digest()).encode()).hexdigest()[:16]
    tag = f"bot-bottle-test/sidecars:{digest}"
    if not _image_exists(docker_client, tag):
        started = time.monotonic()
        _build(
            docker_client,
            tag,
            [],
            path=str(context_dir()),
            buildargs={"BASE_IMAGE": ca_base_image},
            labels={TEST_LABEL: "sidecars"},
        )
        print(f"built {tag} in {time.monotonic() - started:.1f}s")
    return tag


def _exec(container, *argv: str) -> tuple[int, str]:
    code, out = container.exec_run(list(argv))
    return code, out.decode(errors="replace")


def _wait_ready(container) -> dict:
    deadline = time.monotonic() + READY_DEADLINE_S
    delay = 0.05
    while time.monotonic() < deadline:
        container.reload()
        if container.status not in ("created", "running"):
            raise AssertionError(f"bundle exited: {container.logs().decode(errors='replace')}")
        code, out = _exec(container, "cat", layout.EGRESS_READY_FILE)
        if code == 0 and out.strip():
            return json.loads(out)
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise AssertionError(f"not ready in {READY_DEADLINE_S}s: {container.logs().decode()}")


def _read_file(container, path: str) -> bytes:
    stream, _stat = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        assert member is not None
        f = tar.extractfile(member)
        assert f is not None
        return f.read()


@pytest.mark.docker
@pytest.mark.slow
def test_bundle_image_runs_egress_and_keeps_the_ca_key_inside(
    docker_client, bundle_image, tmp_path
):
    run = uuid.uuid4().hex[:8]
    routes_dir = tmp_path / "etc"
    routes_dir.mkdir()
    routes_file = routes_dir / "routes.json"
    routes_file.write_text(json.dumps({"routes": [{"host": "api.example.test"}]}))
    routes_dir.chmod(0o755)
    routes_file.chmod(0o644)
    labels = {TEST_LABEL: "bundle", f"{TEST_LABEL}.run": run}
    network = container = None
    try:
        network = docker_client.networks.create(
            f"bot-bottle-test-sidecars-{run}", driver="bridge", internal=True, labels=labels
        )
        started = time.monotonic()
        container = docker_client.containers.run(
            bundle_image,
            detach=True,
            name=f"bot-bottle-test-sidecars-{run}",
            network=network.name,
            labels=labels,
            environment={"EGRESS_TEST_TOKEN": TOKEN},
            volumes={str(routes_dir): {"bind": layout.CONFIG_DIR, "mode": "ro"}},
        )
        info = _wait_ready(container)
        ready_s = time.monotonic() - started
        print(f"bundle ready in {ready_s:.2f}s")
        # Not told where the bottle's internal network is: loopback only, never every interface.
        assert info["listen"] == [["127.0.0.1", layout.EGRESS_PORT]]
        assert info["ca_cert"] == layout.EGRESS_CA_CERT

        # Runs as the unprivileged sidecar user.
        code, status = _exec(container, "cat", "/proc/1/status")
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1] == str(layout.SIDECAR_UID)

        # The CA certificate is there for the backend to copy out; the key is private.
        cert = _read_file(container, layout.EGRESS_CA_CERT)
        assert cert.startswith(b"-----BEGIN CERTIFICATE-----")
        assert b"PRIVATE KEY" not in cert
        code, out = _exec(
            container, "stat", "-c", "%a %U %n", layout.EGRESS_CA_KEY, layout.EGRESS_CONFDIR
        )
        assert code == 0, out
        assert out.split("\n")[0] == f"600 sidecar {layout.EGRESS_CA_KEY}"
        assert out.split("\n")[1] == f"700 sidecar {layout.EGRESS_CONFDIR}"
        container.reload()
        mounts = [m["Destination"] for m in container.attrs["Mounts"]]
        assert mounts == [layout.CONFIG_DIR]
        for dest in mounts:
            assert not layout.EGRESS_CA_KEY.startswith(dest.rstrip("/") + "/")

        # The throughput tuning and the refusal patches are in effect (uvloop installed).
        code, out = _exec(
            container,
            "/opt/sidecars/bin/python",
            "-c",
            "import uvloop; from bot_bottle_sidecars.egress import tuning;"
            " assert tuning.enlarge_reads() is None;"
            " from bot_bottle_sidecars.egress import patches;"
            " assert not any(patches.apply().values())",
        )
        assert code == 0, out
        assert "not enabled" not in container.logs(stdout=False).decode()

        # The proxy answers, from inside the container only.
        code, out = _exec(
            container,
            "curl",
            "-sS",
            "-x",
            "http://127.0.0.1:8080",
            "http://unrouted.example.test/x",
        )
        assert "no route for host unrouted.example.test" in out and "egress-block" in out
        # Over HTTPS too: TLS completes with the bundle's CA and the 403 is read inside.
        code, out = _exec(
            container, "curl", "-s", "-w", "\n%{http_code}", "--cacert", layout.EGRESS_CA_CERT,
            "-x", "http://127.0.0.1:8080", "https://unrouted.example.test/",
        )  # fmt: skip
        assert out.endswith("\n403") and "no route for host unrouted.example.test" in out, out

        # SIGHUP reloads (a bad file first: kept; then a good one).
        routes_file.write_text("{broken")
        container.kill(signal="SIGHUP")
        routes_file.write_text(
            json.dumps({"routes": [{"host": "api.example.test"}, {"host": "new.example.test"}]})
        )
        deadline = time.monotonic() + 10
        reloads: list[dict] = []
        while time.monotonic() < deadline and not reloads:
            time.sleep(0.1)
            reloads = [
                r
                for r in map(json.loads, container.logs(stderr=False).decode().splitlines())
                if r.get("event") == "reload"
            ]
        assert reloads and reloads[0]["status"] == "error"
        container.kill(signal="SIGHUP")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(reloads) < 2:
            time.sleep(0.1)
            reloads = [
                r
                for r in map(json.loads, container.logs(stderr=False).decode().splitlines())
                if r.get("event") == "reload"
            ]
        assert reloads[1]["status"] == "ok" and reloads[1]["routes"] == 2
        container.reload()
        assert container.status == "running"

        # stdout holds only JSON lines, never the token.
        stdout = container.logs(stderr=False).decode()
        assert all(json.loads(line) for line in stdout.splitlines())
        assert TOKEN not in container.logs().decode()

        # A clean stop: the init forwards SIGTERM and exits 0.
        started = time.monotonic()
        container.stop(timeout=10)
        stop_s = time.monotonic() - started
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 0, container.logs().decode()
        assert stop_s < 8, stop_s
        print(f"bundle stopped in {stop_s:.2f}s")
    finally:
        if container is not None:
            container.remove(force=True)
        if network is not None:
            network.remove()


def test_context_dir_is_the_package_and_holds_the_dockerfile():
    root = context_dir()
    assert (root / "Dockerfile").is_file()
    assert (root / "init.py").is_file() and (root / "egress" / "addon.py").is_file()
    text = (root / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=debian:bookworm-slim" in text
    assert 'ENTRYPOINT ["/opt/sidecars/bin/python", "-m", "bot_bottle_sidecars.init"]' in text
    assert "mitmproxy==11.0.2" in text
    assert os.path.basename(root) == "bot_bottle_sidecars"
