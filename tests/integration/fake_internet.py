"""The fake internet used by the integration tests and the benchmarks.

An echoing HTTPS/HTTP server (``fake_upstream/server.py``) on an internal
network the caller creates, a test CA, and a bot-bottle home wired to it:
the bottle's sidecars use that network as their way out and reach the
upstream by fixed host entries, so no packet leaves the machine.

The same container is the sidecars' DNS server: it answers ``DNS_NAME`` with
its own address (and any extra names it is given), NXDOMAIN for the rest, and
logs every query, so a test sees what the sidecars resolve (:func:`dns_queries`).
It also logs every TCP connection it accepts (:func:`connections`), on its HTTP
ports and on ``RAW_PORTS``, where it accepts and closes: a tunnel egress should
not have opened shows up there even when no request followed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace

from bot_bottle_testing.certs import make_certs

HERE = Path(__file__).parent
UPSTREAM_NAMES = (
    "api.example.test",
    "other.example.test",
    "api.fakeprov.test",
    "example.com",
    "ports.example.test",
    "api.anthropic.com",  # the scripted models (fake_upstream/fake_anthropic.py,
    "api.openai.com",  # fake_openai.py)
)
DNS_NAME = "dns.example.test"  # resolves (through the fake DNS only) to the upstream
# Routed in MANIFEST but not pinned: egress looks them up in the fake DNS, whose
# answers are all addresses egress must refuse to dial for a name.
PRIVATE_NAME = "private.example.test"  # the upstream's own (private) address
LOOPBACK_NAME = "loopback.example.test"  # 127.0.0.1
GATEWAY_NAME = "gateway.example.test"  # this machine's address on the upstream network
NX_NAME = "nx.example.test"  # routed, and the fake DNS answers NXDOMAIN
RAW_PORTS = (22, 8443)  # the upstream accepts, logs and closes connections there
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TOKEN_VAR = "BB_TEST_UPSTREAM_TOKEN"
TOKEN = "real-token-" + uuid.uuid4().hex


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    """Poll ``check`` with backoff until it is true (readiness, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


@contextlib.contextmanager
def running_upstream(
    docker_client, base_image: str, tmp: Path, dns: Mapping[str, str] | None = None
) -> Iterator[SimpleNamespace]:
    """The fake internet: an echoing HTTPS/HTTP and DNS server on a fresh internal network.

    ``dns`` adds ``{name: ipv4}`` answers to the DNS server's map (``self``: the
    upstream's address).
    """
    tag = uuid.uuid4().hex[:8]
    certs = tmp / "certs"
    log = tmp / "log"
    certs.mkdir()
    log.mkdir()
    os.chmod(log, 0o777)
    net = docker_client.networks.create(
        f"bbtest-internet-{tag}", internal=True, labels={"bot-bottle.test": "1"}
    )
    container = None
    try:
        pem = make_certs(certs, UPSTREAM_NAMES, ips=())
        net.reload()
        gateway = net.attrs["IPAM"]["Config"][0]["Gateway"]
        names = {
            DNS_NAME: "self",
            PRIVATE_NAME: "self",
            LOOPBACK_NAME: "127.0.0.1",
            GATEWAY_NAME: gateway,
            **(dns or {}),
        }
        container = docker_client.containers.run(
            base_image,
            [
                "python3",
                "/srv/server.py",
                f"/certs/{pem.server_cert.name}",
                f"/certs/{pem.server_key.name}",
                *(f"--dns={n}={ip}" for n, ip in names.items()),
                *(f"--raw-port={port}" for port in RAW_PORTS),
            ],
            name=f"bbtest-upstream-{tag}",
            network=net.name,
            volumes={
                str(HERE / "fake_upstream"): {"bind": "/srv", "mode": "ro"},
                str(certs): {"bind": "/certs", "mode": "ro"},
                str(log): {"bind": "/log", "mode": "rw"},
            },
            labels={"bot-bottle.test": "1"},
            detach=True,
        )
        wait_for(lambda: (log / "ready").exists(), "the fake upstream")
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]
        yield SimpleNamespace(
            network=net.name,
            ip=ip,
            ca=certs / "ca.pem",
            log=log / "requests.jsonl",
            dns_log=log / "dns.jsonl",
            connections=log / "connections.jsonl",
            gateway=gateway,
            container=container,
        )
    finally:
        if container is not None:
            container.remove(force=True)
        net.remove()


def requests_with(upstream, marker: str) -> list[dict]:
    """Requests the fake upstream received with ``marker`` in the path."""
    if not upstream.log.exists():
        return []
    rows = [json.loads(line) for line in upstream.log.read_text().splitlines()]
    return [r for r in rows if marker in r["path"]]


def dns_queries(upstream, name: str | None = None) -> list[dict]:
    """Queries the fake DNS server received (``{"name", "type", "transport"}``), or for ``name``."""
    if not upstream.dns_log.exists():
        return []
    rows = [json.loads(line) for line in upstream.dns_log.read_text().splitlines()]
    wanted = None if name is None else name.lower().rstrip(".")
    return [r for r in rows if wanted is None or (r["name"] or "").lower() == wanted]


def connections(upstream, peer: str | None = None) -> list[dict]:
    """TCP connections the fake upstream accepted (``{"peer", "port"}``), or from ``peer``."""
    if not upstream.connections.exists():
        return []
    rows = [json.loads(line) for line in upstream.connections.read_text().splitlines()]
    return [r for r in rows if peer is None or r["peer"] == peer]


NODE_DOCKERFILE = HERE / "node_agent" / "Dockerfile"

MANIFEST = f"""
settings:
  base_image: {{base_image}}
  build_ca_bundle: {HOST_CA_BUNDLE}
bottles:
  sec:
    env:
      VISIBLE_SETTING: "plain-value"
    egress:
      routes:
        - host: api.example.test
          path_allowlist: [/repos/a, /allowed]
          auth: {{{{scheme: Bearer, token_ref: {TOKEN_VAR}}}}}
        - host: other.example.test
          methods: [GET]
        - host: ports.example.test
          ports: [443, 53]
        - host: {PRIVATE_NAME}
        - host: {LOOPBACK_NAME}
        - host: {GATEWAY_NAME}
        - host: {NX_NAME}
  node:
    dockerfile: {NODE_DOCKERFILE}
    egress:
      routes:
        - host: other.example.test
          methods: [GET]
        - host: {NX_NAME}
"""


class BottleEnv:
    """A bot-bottle home wired to the fake internet, and the real CLI to drive it."""

    def __init__(self, home: Path, upstream, base_image: str) -> None:
        self.home = home
        self.upstream = upstream
        (home / "agents").mkdir(parents=True, exist_ok=True)
        (home / "manifest.yaml").write_text(MANIFEST.format(base_image=base_image))
        (home / "agents" / "probe.md").write_text("---\nbottle: sec\nprovider: shell\n---\n")
        (home / "agents" / "nodeprobe.md").write_text("---\nbottle: node\nprovider: shell\n---\n")
        hosts = ",".join(f"{n}={upstream.ip}" for n in UPSTREAM_NAMES)
        self.env = {
            "BOT_BOTTLE_HOME": str(home),
            "BOT_BOTTLE_DOCKER_EGRESS_NETWORK": upstream.network,
            "BOT_BOTTLE_DOCKER_EXTRA_HOSTS": hosts,
            # Whatever the sidecars resolve goes to the fake DNS, never further.
            "BOT_BOTTLE_DOCKER_SIDECAR_DNS": upstream.ip,
            "BOT_BOTTLE_EGRESS_UPSTREAM_CA": str(upstream.ca),
            TOKEN_VAR: TOKEN,
        }

    def run(self, *args: str, input: str = "", cwd: Path | None = None, timeout: float = 900):
        import subprocess
        import sys

        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
        env.update(self.env)
        return subprocess.run(
            [sys.executable, "-m", "bot_bottle_core", *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd or self.home,
            timeout=timeout,
        )


NOTHING_LEFT = {"containers": [], "networks": [], "volumes": []}


def bottle_resources(client, slug: str) -> dict[str, list[str]]:
    """Every container, network and volume labelled with ``slug``, by kind."""
    f = {"label": [f"bot-bottle.slug={slug}"]}
    return {
        "containers": sorted(c.name for c in client.containers.list(all=True, filters=f)),
        "networks": sorted(n.name for n in client.networks.list(filters=f)),
        "volumes": sorted(v.name for v in client.volumes.list(filters=f)),
    }


def slug_from(text: str) -> str:
    """The slug a ``start`` named in its plan line."""
    m = re.search(r"plan for ([a-z0-9_-]+-[0-9a-z]{5})", text)
    assert m, text
    return m.group(1)


@contextlib.contextmanager
def launched_bottle(bottle_env: BottleEnv, docker_client, agent: str = "probe"):
    """A running bottle launched through the core API; stopped and forgotten afterwards."""
    import pytest

    from bot_bottle_core import running
    from bot_bottle_core.bottle_keys import BottleKeys, tear_down
    from bot_bottle_core.config import load_config
    from bot_bottle_core.dispatch import Plugins
    from bot_bottle_core.home import Home
    from bot_bottle_core.preparation import choose_backend, find_agent, prepare_bottle
    from bot_bottle_core.state import StateStore

    with pytest.MonkeyPatch.context() as mp:
        for k, v in bottle_env.env.items():
            mp.setenv(k, v)
        home = Home.from_env()
        config = load_config(home, bottle_env.home)
        plugins = Plugins.load()
        store = StateStore(home.state_dir)
        backend = choose_backend(plugins, config, "docker")
        slug = store.mint(agent)
        log: list[str] = []
        try:
            prepared = prepare_bottle(
                plugins=plugins,
                config=config,
                slug=slug,
                state_dir=store.path(slug),
                agent=find_agent(config, agent),
                backend=backend,
                cwd=bottle_env.home,
                environ=dict(os.environ),
                ask=None,
            )
            running.launch(prepared, log.append)
            yield SimpleNamespace(
                slug=slug,
                agent=docker_client.containers.get(f"bb-{slug}-agent"),
                sidecars=docker_client.containers.get(f"bb-{slug}-sidecars"),
                log=log,
                prepared=prepared,
                store=store,
            )
        finally:
            # As the CLI's stop does: the containers, then the deploy keys they held.
            tear_down(
                backend,
                BottleKeys(plugins, store.path(slug)),
                slug,
                preserve=False,
                progress=log.append,
            )
            store.remove(slug)
