from __future__ import annotations

from pathlib import Path

import pytest
from bot_bottle_docker import plugin
from bot_bottle_docker.images import agent_image_tag

from bot_bottle_core.config import Agent, Bottle, Settings
from bot_bottle_core.plan import PrepareRequest


def request(tmp_path: Path, dockerfile: Path, base: str | None = None) -> PrepareRequest:
    return PrepareRequest(
        slug="demo-abcde",
        agent=Agent(name="demo", source=tmp_path / "a.md", bottle="demo", provider="shell"),
        bottle=Bottle(name="demo", source=tmp_path / "m.yaml"),
        provider="shell",
        settings=Settings(base_image=base),
        state_dir=tmp_path,
        dockerfile=dockerfile,
        routes=(),
        env=(),
    )


def test_unreachable_engine_is_unavailable_with_a_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    avail = plugin.is_available()
    assert avail.available is False
    assert "Docker is not running or not reachable" in avail.reason


def test_image_tag_follows_the_build_context(tmp_path):
    df = tmp_path / "ctx" / "Dockerfile"
    df.parent.mkdir()
    df.write_text("FROM x\n")
    one = agent_image_tag("shell", df, "base:1")
    assert one == agent_image_tag("shell", df, "base:1")
    assert one != agent_image_tag("shell", df, "base:2")
    (df.parent / "extra.sh").write_text("echo\n")
    assert agent_image_tag("shell", df, "base:1") != one
    assert one.startswith("bot-bottle-agent-shell:")


@pytest.mark.docker
def test_prepare_plans_from_the_engine_and_creates_nothing(docker_client, tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM scratch\n")
    before = {c.id for c in docker_client.containers.list(all=True)}
    nets = {n.id for n in docker_client.networks.list()}
    plan = plugin.prepare(request(tmp_path, df, base="local/base:1"))
    runtimes = docker_client.info().get("Runtimes") or {}
    assert plan.runtime == ("runsc" if "runsc" in runtimes else "runc")
    assert plan.image == agent_image_tag("shell", df, "local/base:1")
    assert plan.details["base image"] == "local/base:1"
    assert {c.id for c in docker_client.containers.list(all=True)} == before
    assert {n.id for n in docker_client.networks.list()} == nets


def test_free_subnets_skip_what_is_taken():
    import ipaddress

    from bot_bottle_docker.subnets import free_subnets

    pool = ipaddress.IPv4Network("10.213.0.0/26")
    used = [ipaddress.IPv4Network("10.213.0.0/28"), ipaddress.IPv4Network("10.213.0.32/27")]
    assert [str(n) for n in free_subnets(pool, used)] == ["10.213.0.16/28"]


@pytest.mark.docker
def test_more_bottle_networks_than_the_default_pools_allow(docker_client):
    # Docker's default pools give out about 30 networks; bottles need two each.
    from bot_bottle_docker.subnets import create_network

    made = []
    try:
        for i in range(40):
            made.append(
                create_network(
                    docker_client,
                    name=f"bbtest-subnet-{i}",
                    internal=True,
                    labels={"bot-bottle.test": "1"},
                )
            )
        subnets = {n.attrs["IPAM"]["Config"][0]["Subnet"] for n in made}
        assert len(subnets) == 40
        assert all(s.endswith("/28") for s in subnets)
    finally:
        for n in made:
            n.remove()


def test_options_from_env(tmp_path):
    from bot_bottle_docker.options import DockerOptions

    from bot_bottle_core.errors import BotBottleError

    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    opts = DockerOptions.from_env(
        {
            "BOT_BOTTLE_DOCKER_EXTRA_HOSTS": "a.test=10.0.0.1, b.test=10.0.0.2",
            "BOT_BOTTLE_DOCKER_OUTBOUND_INTERNAL": "1",
            "BOT_BOTTLE_EGRESS_UPSTREAM_CA": str(ca),
            "BOT_BOTTLE_DOCKER_SIDECAR_DNS": "10.0.0.53, fd00::53",
        }
    )
    assert opts.extra_hosts == {"a.test": "10.0.0.1", "b.test": "10.0.0.2"}
    assert opts.outbound_internal and opts.upstream_ca == ca
    assert opts.sidecar_dns == ("10.0.0.53", "fd00::53")
    assert DockerOptions.from_env({}).sidecar_dns == ()
    with pytest.raises(BotBottleError, match=r"'dns\.corp', which is not an IP address"):
        DockerOptions.from_env({"BOT_BOTTLE_DOCKER_SIDECAR_DNS": "10.0.0.53,dns.corp"})
    with pytest.raises(BotBottleError, match="malformed entry 'nonsense'"):
        DockerOptions.from_env({"BOT_BOTTLE_DOCKER_EXTRA_HOSTS": "nonsense"})
    with pytest.raises(BotBottleError, match="not a file"):
        DockerOptions.from_env({"BOT_BOTTLE_EGRESS_UPSTREAM_CA": str(tmp_path / "nope")})


def test_the_workspace_tar_holds_directories_files_and_links_as_links():
    import io
    import tarfile

    from bot_bottle_docker.archive import tar_of
    from bot_bottle_docker.workspace_copy import parent_dirs

    files = [("src/app.py", b"print()\n", 0o644)]
    links = [("src/deep/readme", "../app.py")]
    dirs = parent_dirs(["src/app.py", "src/deep/readme"])
    assert dirs == ["src", "src/deep"]
    with tarfile.open(fileobj=io.BytesIO(tar_of(files, 1000, 1000, dirs=dirs, links=links))) as t:
        members = [(m.name, m.type, m.linkname, m.uid) for m in t.getmembers()]
    assert members == [
        ("src", tarfile.DIRTYPE, "", 1000),
        ("src/deep", tarfile.DIRTYPE, "", 1000),
        ("src/app.py", tarfile.REGTYPE, "", 1000),
        ("src/deep/readme", tarfile.SYMTYPE, "../app.py", 1000),
    ]


def test_attach_uses_an_interactive_exec_into_the_agent():
    assert plugin.attach_argv("bob-abcde", ["bash", "-l"], True) == [
        "docker",
        "exec",
        "-it",
        "bb-bob-abcde-agent",
        "bash",
        "-l",
    ]
    assert plugin.attach_argv("bob-abcde", ["x"], False)[2] == "-i"


def test_a_home_cleans_up_only_its_own_and_what_predates_homes():
    from bot_bottle_docker import names

    mine = names.labels("a-aaaaa", "a", names.ROLE_AGENT, home="h1")
    theirs = names.labels("b-bbbbb", "b", names.ROLE_AGENT, home="h2")
    old = names.labels("c-ccccc", "c", names.ROLE_AGENT)
    assert names.of_home(mine, "h1") and names.of_home(old, "h1")
    assert not names.of_home(theirs, "h1")
    assert all(names.of_home(x, None) for x in (mine, theirs, old))
