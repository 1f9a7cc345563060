"""The environment and network attachment the docker backend gives the sidecar bundle."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

from bot_bottle_docker import launch
from bot_bottle_docker.bundle_env import sidecar_env
from bot_bottle_docker.options import DockerOptions
from bot_bottle_sidecars import layout

from bot_bottle_core.config import Agent, Bottle, Route, RouteAuth, Settings
from bot_bottle_core.plan import PrepareRequest


def request(tmp_path: Path, routes: tuple[Route, ...], tokens: dict[str, str]) -> PrepareRequest:
    return PrepareRequest(
        slug="demo-abcde",
        agent=Agent(name="demo", source=tmp_path / "a.md", bottle="demo", provider="shell"),
        bottle=Bottle(name="demo", source=tmp_path / "m.yaml"),
        provider="shell",
        settings=Settings(),
        state_dir=tmp_path / "state" / "demo-abcde",
        dockerfile=tmp_path / "Dockerfile",
        routes=routes,
        env=(),
        tokens=tokens,
    )


def auth(ref: str) -> RouteAuth:
    return RouteAuth(scheme="Bearer", token_ref=ref)


ROUTES = (
    Route(host="api.example.test", auth=auth("GH_TOKEN")),
    Route(host="uploads.example.test", auth=auth("GH_TOKEN")),
    Route(host="model.example.test", auth=auth("MODEL_KEY")),
    Route(host="open.example.test"),
)
TOKENS = {"GH_TOKEN": "gh-secret", "MODEL_KEY": "model-secret", "UNUSED": "unused-secret"}


def env_of(
    tmp_path: Path,
    routes: tuple[Route, ...] = (),
    tokens: dict[str, str] | None = None,
    opts: DockerOptions | None = None,
) -> dict[str, str]:
    return sidecar_env(
        request(tmp_path, routes, tokens or {}),
        opts or DockerOptions(),
        daemons="egress",
        listen_host="10.213.0.14",
    )


def test_each_token_sits_in_a_slot_bound_to_its_routes_hosts(tmp_path):
    env = env_of(tmp_path, ROUTES, TOKENS)
    # No token under its bare ref name, and none that no route uses.
    assert not set(TOKENS) & set(env)
    assert "unused-secret" not in env.values()
    assert env[f"{layout.ENV_TOKEN_PREFIX}GH_TOKEN"] == "gh-secret"
    assert env[f"{layout.ENV_TOKEN_PREFIX}MODEL_KEY"] == "model-secret"
    assert json.loads(env[layout.ENV_TOKEN_SLOTS]) == {
        "GH_TOKEN": ["api.example.test", "uploads.example.test"],
        "MODEL_KEY": ["model.example.test"],
    }
    secrets = {k for k, v in env.items() if v in TOKENS.values()}
    assert secrets == {f"{layout.ENV_TOKEN_PREFIX}GH_TOKEN", f"{layout.ENV_TOKEN_PREFIX}MODEL_KEY"}


def test_egress_listens_on_the_address_it_is_given(tmp_path):
    env = env_of(tmp_path)
    assert env[layout.ENV_EGRESS_LISTEN_HOST] == "10.213.0.14"
    assert env[layout.ENV_SIDECARS] == "egress"
    assert json.loads(env[layout.ENV_TOKEN_SLOTS]) == {}


def test_the_operators_fixed_names_are_egress_pins(tmp_path):
    opts = DockerOptions(extra_hosts={"api.example.test": "10.0.0.5", "v6.example.test": "fd00::5"})
    env = env_of(tmp_path, opts=opts)
    assert json.loads(env[layout.ENV_EGRESS_RESOLVE]) == {
        "api.example.test": "10.0.0.5",
        "v6.example.test": "[fd00::5]",
    }
    plain = env_of(tmp_path)
    assert layout.ENV_EGRESS_RESOLVE not in plain


class FakeClient:
    """Records what launch asks the engine for the bundle container."""

    def __init__(self) -> None:
        self.created: dict = {}
        self.connected: list[tuple[str, dict]] = []
        self.started = False
        client = self

        class Container:
            name = "bb-demo-abcde-sidecars"

            def start(self) -> None:
                client.started = True

            def remove(self, force: bool = False) -> None:
                pass

        class Network:
            def __init__(self, name: str) -> None:
                self.name = name

            def connect(self, container, **kw) -> None:
                assert not client.started, "attach before start, or the address is not there"
                client.connected.append((self.name, kw))

        def create(image, **kw):
            client.created = kw
            return Container()

        self.containers = SimpleNamespace(create=create)
        self.networks = SimpleNamespace(get=Network)


def test_the_bundle_keeps_host_entries_takes_its_dns_and_joins_at_its_fixed_address(tmp_path):
    (tmp_path / "state" / "demo-abcde" / "sidecar").mkdir(parents=True)
    client = FakeClient()
    opts = DockerOptions(extra_hosts={"api.example.test": "10.0.0.5"}, sidecar_dns=("10.0.0.53",))
    nets = launch.Networks("bb-demo-abcde-int", "bb-demo-abcde-out", "10.213.0.14")
    launch._sidecars(client, request(tmp_path, ROUTES, TOKENS), "img", nets, opts, launch.Undo())
    kw = client.created
    assert kw["network"] == "bb-demo-abcde-out"
    # Other sidecars resolve through /etc/hosts; egress dials the same names as pins.
    assert kw["extra_hosts"] == {"api.example.test": "10.0.0.5"}
    assert kw["dns"] == ["10.0.0.53"]
    assert kw["mem_limit"] == launch.SIDECARS_MEMORY
    assert json.loads(kw["environment"][layout.ENV_EGRESS_RESOLVE]) == {
        "api.example.test": "10.0.0.5"
    }
    assert kw["environment"][layout.ENV_EGRESS_LISTEN_HOST] == "10.213.0.14"
    # supervise listens at the same address and answers only to the agent's name for it.
    assert kw["environment"][layout.ENV_SUPERVISE_LISTEN_HOST] == "10.213.0.14"
    assert kw["environment"][layout.ENV_SUPERVISE_HOSTS] == "supervise"
    assert "GH_TOKEN" not in kw["environment"]
    queue = tmp_path / "queue" / "demo-abcde"
    assert kw["volumes"][str(queue)] == {"bind": layout.QUEUE_DIR, "mode": "rw"}
    assert queue.is_dir()
    # Egress keeps its decisions in a host directory beside the state, not in it.
    decisions = tmp_path / "logs" / "demo-abcde"
    assert kw["volumes"][str(decisions)] == {"bind": layout.LOG_DIR, "mode": "rw"}
    assert kw["environment"][layout.ENV_EGRESS_DECISIONS] == layout.EGRESS_DECISIONS
    if os.geteuid() == 0:
        assert queue.stat().st_uid == layout.SIDECAR_UID
        assert decisions.stat().st_uid == layout.SIDECAR_UID
        assert kw["group_add"] is None
    else:
        assert kw["group_add"] == [str(os.getegid())]
    assert client.connected == [
        (
            "bb-demo-abcde-int",
            {"aliases": ["egress", "git-gate", "supervise"], "ipv4_address": "10.213.0.14"},
        )
    ]
    assert client.started
