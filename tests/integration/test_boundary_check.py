"""Every start proves its own boundary, and `bot-bottle check SLUG` proves it again.

A normal bottle passes every probe. Bottles deliberately built wrong (the agent
also on the way out, a capability, no ``no_new_privs``, the engine's socket, a
resolver that answers, egress that lets the unrouted host through) are each
caught by the probe that covers the mistake: the start fails, says which probe
got through and what it reached, and leaves nothing behind.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from bot_bottle_sidecars.boundary import PROBE_IN_AGENT, UNROUTED_HOST
from docker.models.containers import ContainerCollection
from fake_internet import NOTHING_LEFT, bottle_resources, launched_bottle

from bot_bottle_core.boundary import REPORT, BoundaryBreached
from bot_bottle_core.config import Route

pytestmark = pytest.mark.docker

KINDS = {"route", "capabilities", "no_new_privs", "engine-socket", "tcp", "udp", "dns", "egress"}


def _report(bottle_env, slug: str) -> tuple[int, dict]:
    done = bottle_env.run("check", slug, "--json")
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_a_normal_bottle_passes_every_probe_and_keeps_the_report(bottle_env, launched):
    code, report = _report(bottle_env, launched.slug)
    assert code == 0, report
    results = report["results"]
    assert {r["probe"] for r in results} == KINDS
    assert all(r["held"] for r in results), [r for r in results if not r["held"]]
    # The outbound side, this host and egress's upstream side were all tried.
    targets = " ".join(r["target"] for r in results)
    for label in ("outbound network gateway", "egress upstream side", "default bridge gateway"):
        assert label in targets
    egress = [r for r in results if r["probe"] == "egress"]
    assert len(egress) == 2 and all("refused by egress" in r["detail"] for r in egress)
    kept = json.loads((launched.store.path(launched.slug) / REPORT).read_text())
    assert kept["results"] == results
    # The start itself ran the same check and said so.
    assert any(line.startswith("boundary proven") for line in launched.log)


def test_check_fails_on_a_live_bottle_whose_agent_gained_a_way_out(
    bottle_env, docker_client, upstream
):
    with launched_bottle(bottle_env, docker_client) as bottle:
        docker_client.networks.get(upstream.network).connect(bottle.agent)
        done = bottle_env.run("check", bottle.slug)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "GOT THROUGH" in done.stdout
        assert f"bot-bottle stop {bottle.slug}" in done.stdout
        assert "outbound network gateway" in done.stdout


def test_the_agent_cannot_stop_or_forge_a_live_check(bottle_env, docker_client):
    """`check` runs the probe as a user no agent process runs as: an agent stopping
    every process named like the probe (and writing into its output) gets nowhere."""
    # Matched on how the command line starts, so the loop never stops itself.
    stopper = (
        "while true; do for p in /proc/[0-9]*; do "
        "case \"$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\" in "
        f"{PROBE_IN_AGENT}*) "
        "kill -STOP ${p#/proc/} 2>/dev/null && echo stopped > /tmp/stopped; "
        'echo \'{"probe":"route","target":"x","held":true,"detail":"forged"}\' > $p/fd/1; '
        ";; esac; done; done"
    )
    with launched_bottle(bottle_env, docker_client) as bottle:
        bottle.agent.exec_run(["sh", "-c", stopper], detach=True)
        done = bottle_env.run("check", bottle.slug, "--json", timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        results = json.loads(done.stdout)["results"]
        assert all(r["held"] for r in results)
        assert "forged" not in done.stdout
        assert bottle.agent.exec_run(["test", "-e", "/tmp/stopped"]).exit_code == 1


def test_a_missing_loopback_resolver_is_no_way_out(bottle_env, docker_client, monkeypatch):
    """A nameserver that refuses (nothing listening) is the boundary holding."""

    _agent_created_with(monkeypatch, _resolv_conf("127.0.0.1"))
    with launched_bottle(bottle_env, docker_client) as bottle:
        assert any(line.startswith("boundary proven") for line in bottle.log)


def test_check_of_an_unknown_slug_is_one_clear_error(bottle_env):
    done = bottle_env.run("check", "probe-zzzzz")
    assert done.returncode == 1
    assert "Unknown slug 'probe-zzzzz'" in done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- built wrong


def _agent_created_with(monkeypatch, change: Callable[[dict], None], after=None) -> None:
    """Let the next agent container be created with ``change`` applied to its options."""
    original = ContainerCollection.create

    def create(self, image, command=None, **kwargs):
        is_agent = str(kwargs.get("name", "")).endswith("-agent")
        if is_agent:
            change(kwargs)
        container = original(self, image, command, **kwargs)
        if is_agent and after is not None:
            after(self.client, container)
        return container

    monkeypatch.setattr(ContainerCollection, "create", create)


def _also_on_the_way_out(upstream, dns: bool = False):
    def change(kwargs: dict) -> None:
        if dns:
            kwargs["dns"] = [upstream.ip]  # a resolver that answers outside names

    def after(client, container) -> None:
        client.networks.get(upstream.network).connect(container)

    return change, after


def _launch_expecting_breach(bottle_env, docker_client) -> tuple[str, BoundaryBreached]:
    with pytest.raises(BoundaryBreached) as caught, launched_bottle(bottle_env, docker_client):
        pass
    slug = str(caught.value).split()[1]  # "The bottle SLUG failed ..."
    return slug, caught.value


def _engine_socket(kw: dict) -> None:
    # gVisor refuses to mount a host socket at all; runc does as it is told.
    kw.pop("runtime", None)
    kw["volumes"]["/var/run/docker.sock"] = {"bind": "/run/docker.sock", "mode": "rw"}


def _no_nnp(kw: dict) -> None:
    # gVisor sets no_new_privs on every process whatever the engine asks: on runc
    # leaving the option out really leaves it unset.
    kw.pop("runtime", None)
    kw["security_opt"] = None


def _engine_socket_in_a_directory(kw: dict) -> None:
    kw.pop("runtime", None)  # as above: gVisor mounts no host socket
    kw["volumes"]["/var/run"] = {"bind": "/host-run", "mode": "ro"}


def _resolv_conf(nameserver: str) -> Callable[[dict], None]:
    """An agent whose resolv.conf names ``nameserver`` only."""

    def change(kw: dict) -> None:
        conf = Path(tempfile.mkdtemp()) / "resolv.conf"
        conf.write_text(f"nameserver {nameserver}\n")
        conf.parent.chmod(0o755)
        conf.chmod(0o644)
        kw["volumes"][str(conf)] = {"bind": "/etc/resolv.conf", "mode": "ro"}

    return change


WRONG = {
    "capability": (lambda kw: kw.update(cap_drop=None, cap_add=["NET_RAW"]), None, "capabilities"),
    "no_new_privs": (_no_nnp, None, "no_new_privs"),
    "engine socket": (_engine_socket, None, "engine-socket"),
    "engine socket in a mounted directory": (_engine_socket_in_a_directory, None, "engine-socket"),
    # A documentation address: the probe must report it without sending it anything.
    "outside nameserver": (_resolv_conf("192.0.2.53"), None, "dns"),
}


@pytest.mark.parametrize("mistake", sorted(WRONG))
def test_a_bottle_built_wrong_is_refused_and_removed(
    bottle_env, docker_client, monkeypatch, mistake
):
    change, after, probe = WRONG[mistake]
    _agent_created_with(monkeypatch, change, after)
    slug, breach = _launch_expecting_breach(bottle_env, docker_client)
    message = str(breach)
    assert "failed its boundary self-check" in message
    failed = [line.split()[0] for line in message.splitlines() if "GOT THROUGH" in line]
    assert failed == [probe], message
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT


@pytest.mark.parametrize("with_dns", [False, True], ids=["network", "resolver"])
def test_an_agent_also_on_the_way_out_is_caught_by_the_network_probes(
    bottle_env, docker_client, monkeypatch, upstream, with_dns
):
    change, after = _also_on_the_way_out(upstream, dns=with_dns)
    _agent_created_with(monkeypatch, change, after)
    slug, breach = _launch_expecting_breach(bottle_env, docker_client)
    lines = [line for line in str(breach).splitlines() if "GOT THROUGH" in line]
    got = {line.split()[0] for line in lines}
    # This host on its TCP and UDP ports, and egress's upstream side.
    assert {"tcp", "udp"} <= got, lines
    assert any("egress upstream side" in line and "answered" in line for line in lines), lines
    assert any("outbound network gateway" in line for line in lines), lines
    assert any("this host, port" in line and "arrived" in line for line in lines), lines
    if with_dns:
        assert any(line.split()[0] == "dns" and "resolved" in line for line in lines), lines
    else:
        assert "dns" not in got
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT


def test_a_host_address_on_the_internal_bridge_is_caught_by_the_route_probe(
    bottle_env, docker_client, monkeypatch
):
    """Without ``inhibit_ipv4`` the host holds the internal network's gateway: the
    default route Docker gives the agent then leads somewhere."""
    from docker.models.networks import NetworkCollection

    original = NetworkCollection.create

    def create(self, name, *args, **kwargs):
        if name.endswith("-int"):
            kwargs["options"] = None
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(NetworkCollection, "create", create)
    slug, breach = _launch_expecting_breach(bottle_env, docker_client)
    lines = [line for line in str(breach).splitlines() if "GOT THROUGH" in line]
    assert any(
        line.split()[0] == "route" and "a route to 0.0.0.0/0.0.0.0 via" in line for line in lines
    )
    assert any("internal network gateway" in line for line in lines), lines
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT


def test_routes_out_that_are_not_a_default_route_are_caught(
    bottle_env, docker_client, monkeypatch, upstream
):
    """Two /1 routes through a host that answers do what a default route does."""
    import subprocess

    from docker.models.containers import Container

    def on_runc_and_the_way_out(kw: dict) -> None:
        kw.pop("runtime", None)  # the routes are set in the namespace gVisor would not read

    def after(client, container) -> None:
        client.networks.get(upstream.network).connect(container)

    original_start = Container.start

    def start(self, *args, **kwargs):
        out = original_start(self, *args, **kwargs)
        if self.name.endswith("-agent"):
            self.reload()
            pid = str(self.attrs["State"]["Pid"])
            for half in ("0.0.0.0/1", "128.0.0.0/1"):
                subprocess.run(
                    ["nsenter", "-t", pid, "-n", "ip", "route", "add", half, "via", upstream.ip],
                    check=True,
                )
            subprocess.run(["nsenter", "-t", pid, "-n", "ip", "route", "del", "default"])
        return out

    _agent_created_with(monkeypatch, on_runc_and_the_way_out, after)
    monkeypatch.setattr(Container, "start", start)
    slug, breach = _launch_expecting_breach(bottle_env, docker_client)
    lines = [line for line in str(breach).splitlines() if "GOT THROUGH" in line]
    assert any(f"a route to 0.0.0.0/128.0.0.0 via {upstream.ip}" in line for line in lines), lines
    assert any(
        f"route lookup to 192.0.2.1: the kernel routes it via {upstream.ip}" in line
        for line in lines
    ), lines
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT


def test_egress_that_lets_the_unrouted_host_through_is_caught(
    bottle_env, docker_client, monkeypatch
):
    from bot_bottle_core import preparation

    original = preparation.write_routes

    def with_the_probe_host(sidecar_dir, routes, *rest):
        return original(sidecar_dir, (*routes, Route(host=UNROUTED_HOST)), *rest)

    monkeypatch.setattr(preparation, "write_routes", with_the_probe_host)
    slug, breach = _launch_expecting_breach(bottle_env, docker_client)
    lines = [line for line in str(breach).splitlines() if "GOT THROUGH" in line]
    assert lines and all(line.split()[0] == "egress" for line in lines), lines
    assert any("egress did not refuse it" in line for line in lines), lines
    assert bottle_resources(docker_client, slug) == NOTHING_LEFT


def test_start_through_the_cli_says_the_boundary_was_proven(bottle_env):
    done = bottle_env.run("start", "probe", "--yes", input="exit 0\n", timeout=600)
    assert done.returncode == 0, done.stderr
    assert "boundary proven" in done.stderr
