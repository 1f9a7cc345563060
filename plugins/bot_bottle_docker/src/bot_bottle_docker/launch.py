"""Creating a bottle on Docker: images, networks, sidecars, agent, provisioning.

Everything created is recorded in an undo list; if any step fails, the
list runs backwards and the error propagates, so a failed launch leaves
nothing behind (a resumed bottle's workspace volume excepted: it holds the
agent's work).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import docker
from bot_bottle_sidecars import context_dir as sidecars_context
from bot_bottle_sidecars import layout
from docker.models.containers import Container

from bot_bottle_core.plan import (
    BackendPlan,
    BoundaryReport,
    PrepareRequest,
    ProvisionStep,
    RunCommand,
    WriteFile,
)
from bot_bottle_core.state import now_iso

from . import archive, boundary, images, ipv6, names, sandbox_files, subnets, workspace_copy
from .bundle_dirs import Operator, bundle_groups, writable_by_bundle
from .bundle_env import UPSTREAM_CA_FILE, sidecar_env
from .errors import LaunchFailed
from .options import DockerOptions

Progress = Callable[[str], None]

# Inside the sidecar bundle: the contract is bot_bottle_sidecars.layout.
SIDECAR_CONFIG_DIR = layout.CONFIG_DIR
EGRESS_READY = layout.EGRESS_READY_FILE
EGRESS_CA_CERT = layout.EGRESS_CA_CERT
# Inside the agent.
AGENT_CA = "/usr/local/share/ca-certificates/bot-bottle-egress.crt"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
WORKSPACE = "/workspace"
READY_TIMEOUT_S = 60.0
# Daemons the bundle runs; git-gate too when the bottle has repos.
SIDECARS = "egress,supervise"
GIT_GATE = "git-gate"
SIDECARS_MEMORY = "512m"


def daemons(request: PrepareRequest) -> str:
    return f"{SIDECARS},{GIT_GATE}" if request.bottle.git.repos else SIDECARS


@attrs.define
class Undo:
    """What a launch created, removed in reverse order on failure."""

    steps: list[tuple[str, Callable[[], None]]] = attrs.field(factory=list)

    def add(self, what: str, fn: Callable[[], None]) -> None:
        self.steps.append((what, fn))

    def run(self, progress: Progress) -> None:
        for what, fn in reversed(self.steps):
            try:
                fn()
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                progress(f"warning: could not remove {what}: {exc.explanation or exc}")
        self.steps.clear()


def agent_env(request: PrepareRequest) -> dict[str, str]:
    proxy = f"http://{names.SIDECAR_ALIASES[0]}:{names.EGRESS_PORT}"
    env = {
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "http_proxy": proxy,
        "https_proxy": proxy,
        "NO_PROXY": ",".join(("localhost", "127.0.0.1", "::1", *names.SIDECAR_ALIASES)),
        "SSL_CERT_FILE": SYSTEM_BUNDLE,
        "REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE,
        "CURL_CA_BUNDLE": SYSTEM_BUNDLE,
        "GIT_SSL_CAINFO": SYSTEM_BUNDLE,
        "NODE_EXTRA_CA_CERTS": AGENT_CA,
        "BOT_BOTTLE_SLUG": request.slug,
    }
    env["no_proxy"] = env["NO_PROXY"]
    env.update({v.name: v.value for v in request.env})
    return env


def wait_ready(
    container: Container, progress: Progress, then: str = "true", *, git_gate: bool = False
) -> str:
    """Poll (with backoff) until egress says it is ready, or fail with its logs.

    The exec that finds it ready also runs the shell snippet ``then``; its output
    is returned.
    """
    ready_files = [EGRESS_READY, layout.SUPERVISE_READY_FILE]
    if git_gate:
        ready_files.append(layout.GIT_GATE_READY_FILE)
    deadline = time.monotonic() + READY_TIMEOUT_S
    delay = 0.05
    while True:
        container.reload()
        if container.status not in ("created", "running"):
            logs = container.logs(tail=20).decode(errors="replace").strip()
            raise LaunchFailed(
                f"The sidecar bundle {container.name} stopped while starting "
                f"(status {container.status}). Its last output:\n{logs}"
            )
        ready = " && ".join(f"test -f {f}" for f in ready_files)
        probe = container.exec_run(["sh", "-c", f"{ready} || exit 1; {then}"])
        if probe.exit_code == 0:
            return probe.output.decode(errors="replace")
        if time.monotonic() > deadline:
            raise LaunchFailed(
                f"The sidecar bundle {container.name} was not ready after {READY_TIMEOUT_S:.0f} s."
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _exec(container: Container, argv: Sequence[str], *, user: str, what: str) -> str:
    result = container.exec_run(list(argv), user=user, workdir=WORKSPACE)
    if result.exit_code != 0:
        out = result.output.decode(errors="replace").strip()
        raise LaunchFailed(f"{what} failed in {container.name} (exit {result.exit_code}): {out}")
    return result.output.decode(errors="replace").strip()


@attrs.frozen
class AgentUser:
    uid: int
    gid: int

    @property
    def spec(self) -> str:
        return f"{self.uid}:{self.gid}"


def install_ca_and_probe(bundle: Container, agent: Container, bundle_image: str) -> None:
    """Make the agent trust this bottle's egress CA (the certificate only), and give
    it the boundary probe; both root-owned, in one copy."""
    cert = archive.read_file(bundle, EGRESS_CA_CERT)
    if b"PRIVATE KEY" in cert:  # never hand a key over, whatever the file holds
        raise LaunchFailed("The egress CA certificate file unexpectedly holds a private key.")
    files = [(AGENT_CA, cert, 0o644), *boundary.install_files(bundle, bundle_image)]
    if not agent.put_archive("/", archive.tar_at(files, 0, 0)):
        raise LaunchFailed(f"Could not copy the egress CA into {agent.name}.")
    _exec(
        agent,
        ["sh", "-c", f"mkdir -p /etc/ssl/certs && cat {AGENT_CA} >> {SYSTEM_BUNDLE}"],
        user="0",
        what="Trusting the egress CA",
    )


def prove_boundary(
    client: docker.DockerClient, agent: Container, slug: str
) -> tuple[AgentUser, BoundaryReport]:
    """Read the agent user and run the boundary self-check, in one exec as that user.

    The check runs before any provisioning step, so no command the provider
    asks for runs in a bottle whose boundary is not proven.
    """
    ids, report = boundary.run_probe(client, agent, slug, read_user=True)
    assert ids is not None
    return AgentUser(*ids), report


def provision(agent: Container, user: AgentUser, steps: Sequence[ProvisionStep]) -> None:
    """Apply ``steps`` in order: files in batches (one copy each), commands between them."""
    files: list[WriteFile] = []

    def write_files() -> None:
        if files:
            tar = archive.tar_at([(f.path, f.content.encode(), f.mode) for f in files], 0, 0)
            sandbox_files.unpack_inside(agent, user.spec, tar, "Provisioning")
            files.clear()

    for step in steps:
        if isinstance(step, WriteFile):
            files.append(step)
        elif isinstance(step, RunCommand):
            write_files()  # a command may read or extend what came before it
            _exec(agent, step.argv, user=user.spec, what=f"Provisioning {step.argv[0]}")
    write_files()


def restore_transcript(agent: Container, user: AgentUser, tar_path: Path) -> None:
    sandbox_files.unpack_inside(agent, user.spec, tar_path.read_bytes(), "Restoring the transcript")


@attrs.frozen
class Networks:
    internal: str  # the agent and the sidecars
    outbound: str  # the sidecars' way out
    egress_ip: str  # the bundle's fixed address on ``internal``, the only one egress listens on


def _create_networks(
    client: docker.DockerClient, request: PrepareRequest, opts: DockerOptions, undo: Undo
) -> Networks:
    slug, agent = request.slug, request.agent.name
    internal = subnets.create_network(
        client,
        name=names.internal_network(slug),
        driver="bridge",
        internal=True,
        # No address for the host on this bridge: the agent cannot reach it.
        options={"com.docker.network.bridge.inhibit_ipv4": "true"},
        labels=names.labels(slug, agent, names.ROLE_INTERNAL, home=request.home_id),
    )
    undo.add(f"network {internal.name}", internal.remove)
    egress_ip = subnets.fixed_address(subnets.subnet_of(internal))
    if opts.egress_network:
        return Networks(internal.name, opts.egress_network, egress_ip)
    outbound = subnets.create_network(
        client,
        name=names.outbound_network(slug),
        driver="bridge",
        internal=opts.outbound_internal,
        labels=names.labels(slug, agent, names.ROLE_OUTBOUND, home=request.home_id),
    )
    undo.add(f"network {outbound.name}", outbound.remove)
    return Networks(internal.name, outbound.name, egress_ip)


def _sidecars(
    client: docker.DockerClient,
    request: PrepareRequest,
    image: str,
    nets: Networks,
    opts: DockerOptions,
    undo: Undo,
) -> Container:
    slug = request.slug
    who = Operator.current()
    queue = writable_by_bundle(request.queue_dir, who)
    decisions = writable_by_bundle(request.egress_log_dir, who)
    volumes = {
        str(request.sidecar_dir.resolve()): {"bind": SIDECAR_CONFIG_DIR, "mode": "ro"},
        # Proposals and answers: supervise writes one, the operator's side the other.
        str(queue.resolve()): {"bind": layout.QUEUE_DIR, "mode": "rw"},
        # Egress's decisions, kept on the host beyond the bottle.
        str(decisions.resolve()): {"bind": layout.LOG_DIR, "mode": "rw"},
    }
    if opts.upstream_ca is not None:
        # A copy beside the routes: the bundle gets one read-only mount.
        (request.sidecar_dir / UPSTREAM_CA_FILE).write_bytes(opts.upstream_ca.read_bytes())
    container = client.containers.create(
        image,
        name=names.sidecars_container(slug),
        labels=names.labels(
            slug, request.agent.name, names.ROLE_SIDECARS, request.agent.label, request.home_id
        ),
        environment=sidecar_env(
            request, opts, daemons=daemons(request), listen_host=nets.egress_ip
        ),
        volumes=volumes,
        network=nets.outbound,
        extra_hosts=dict(opts.extra_hosts) or None,
        dns=list(opts.sidecar_dns) or None,
        # The agent can make mitmproxy buffer an endless header: bound what that costs
        # the host (egress idles near 70 MB and streams bodies with flat memory).
        mem_limit=SIDECARS_MEMORY,
        group_add=bundle_groups(who) or None,
        detach=True,
        init=True,
    )
    undo.add(f"container {container.name}", lambda: container.remove(force=True))
    # A fixed address, so egress can be told to listen there and nowhere else.
    client.networks.get(nets.internal).connect(
        container, aliases=list(names.SIDECAR_ALIASES), ipv4_address=nets.egress_ip
    )
    container.start()
    return container


def _agent(
    client: docker.DockerClient,
    request: PrepareRequest,
    plan: BackendPlan,
    internal: str,
    volume: str,
    sysctls: dict[str, str],
    undo: Undo,
) -> Container:
    res = request.bottle.resources
    kwargs: dict = {}
    if sysctls:
        kwargs["sysctls"] = sysctls
    if res.cpus:
        kwargs["nano_cpus"] = int(res.cpus * 1e9)
    if res.memory_mib:
        kwargs["mem_limit"] = f"{res.memory_mib}m"
    if plan.runtime != "runc":
        kwargs["runtime"] = plan.runtime
    container = client.containers.create(
        plan.image,
        command=["sleep", "infinity"],
        name=names.agent_container(request.slug),
        hostname=request.slug,
        labels={
            **names.labels(
                request.slug,
                request.agent.name,
                names.ROLE_AGENT,
                request.agent.label,
                request.home_id,
            ),
            names.LABEL_STARTED: now_iso(),
        },
        environment=agent_env(request),
        volumes={volume: {"bind": WORKSPACE, "mode": "rw"}},
        working_dir=WORKSPACE,
        network=internal,
        # Names the embedded DNS cannot answer go to nothing: no outside name
        # resolves, whatever the engine version forwards.
        dns=["127.0.0.1"],
        security_opt=["no-new-privileges:true"],
        # Not one capability, not even in the bounding set: the self-check proves it.
        cap_drop=["ALL"],
        init=True,
        detach=True,
        **kwargs,
    )
    undo.add(f"container {container.name}", lambda: container.remove(force=True))
    container.start()
    return container


def _workspace_volume(client: docker.DockerClient, request: PrepareRequest, undo: Undo) -> str:
    name = names.workspace_volume(request.slug)
    with contextlib.suppress(docker.errors.NotFound):
        client.volumes.get(name)
        return name  # resume: the agent's work is still there
    vol = client.volumes.create(
        name,
        labels=names.labels(
            request.slug, request.agent.name, names.ROLE_WORKSPACE, home=request.home_id
        ),
    )
    undo.add(f"volume {name}", lambda: vol.remove(force=True))
    return name


def launch(
    client: docker.DockerClient,
    request: PrepareRequest,
    plan: BackendPlan,
    steps: Sequence[ProvisionStep],
    progress: Progress,
    opts: DockerOptions,
) -> BoundaryReport:
    undo = Undo()
    try:
        base = images.base_with_ca(
            client, images.base_image(request.settings), request.settings.build_ca_bundle, progress
        )
        ctx = sidecars_context()
        sidecars_image = images.build(
            client,
            tag=images.sidecars_image_tag(ctx, base),
            context=ctx,
            dockerfile=ctx / "Dockerfile",
            base_image=base,
            progress=progress,
        )
        images.build(
            client,
            tag=plan.image,
            context=request.dockerfile.parent,
            dockerfile=request.dockerfile,
            base_image=base,
            progress=progress,
        )
        progress(f"creating networks for {request.slug}")
        nets = _create_networks(client, request, opts, undo)
        volume = _workspace_volume(client, request, undo)
        progress("starting sidecars")
        bundle = _sidecars(client, request, sidecars_image, nets, opts, undo)
        probed = wait_ready(
            bundle, progress, then=ipv6.PROBE, git_gate=bool(request.bottle.git.repos)
        )
        progress(f"starting agent ({plan.runtime})")
        sysctls = ipv6.agent_sysctls(ipv6.kernel_has_ipv6(probed))
        agent = _agent(client, request, plan, nets.internal, volume, sysctls, undo)
        install_ca_and_probe(bundle, agent, sidecars_image)
        user, proven = prove_boundary(client, agent, request.slug)
        if not proven.ok:
            return proven  # the core tears it down and says what got through
        if request.transcript_archive.is_file():
            progress("restoring the transcript")
            restore_transcript(agent, user, request.transcript_archive)
        if request.copy_cwd and request.mode == "fresh":
            progress(f"copying {request.cwd} into /workspace")
            workspace_copy.copy_cwd(agent, WORKSPACE, user.uid, user.gid, request.cwd, progress)
        progress("provisioning")
        provision(agent, user, steps)
        progress("ready")
        return proven
    except BaseException:
        undo.run(progress)
        raise
