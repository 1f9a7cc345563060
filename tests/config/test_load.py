"""Loading valid configuration: every field, layering, the built-in demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot_bottle_core.config import (
    Agent,
    Bottle,
    Egress,
    EnvValue,
    Git,
    GitRepo,
    ProvisionedKey,
    Resources,
    Route,
    RouteAuth,
    Settings,
    load_config,
)
from bot_bottle_core.config.load import BUILTIN_DIR

FULL_MANIFEST = """\
settings:
  default_backend: docker
  base_image: debian:bookworm-slim
  build_ca_bundle: certs/corp-ca.pem
bottles:
  web:
    env:
      PLAIN: "just text"
      TOKEN: "${HOST_TOKEN}"
      SECRET: "?Type the secret"
      ASKED: "?"
    egress:
      routes:
        - host: API.GitHub.com.
          path_allowlist: ["/repos/acme/", "/user"]
          methods: [get, Post]
          auth:
            scheme: Bearer
            token_ref: GITHUB_TOKEN
        - host: registry.npmjs.org
        - host: 10.0.0.7
        - host: "[::1]"
        - host: secure.example.com
          tls_passthrough: true
    git:
      repos:
        - name: app
          upstream: ssh://git@git.example.com:2222/acme/app.git
          identity: keys/deploy
          protected_branches: [main, release]
          protected_paths: [".github/workflows/**"]
          allow_force_push: true
        - name: lib.core
          upstream: git@github.com:acme/lib.git
          provisioned_key:
            plugin: gitea
            api_url: https://gitea.example.com/api/v1
            repo: acme/lib
            token_ref: GITEA_TOKEN
            read_only: false
    dockerfile: docker/Dockerfile.web
    resources:
      cpus: 2
      memory: 4g
"""

FULL_AGENT = """\
---
bottle: web
provider: codex
skills: [review, "deploy"]
label: implementer
color: "#A0B1C2"
auth_token: OPENAI_KEY
---

You implement things.

Carefully.
"""


def test_full_manifest_loads_every_field(cfg):
    manifest = cfg.manifest(FULL_MANIFEST)
    agent_file = cfg.agent("bob", FULL_AGENT)
    skills = {name: cfg.skill(name).parent for name in ("review", "deploy")}
    config = cfg.load()
    assert config.skills == skills

    base = manifest.parent
    assert config.files == (manifest, agent_file)
    assert config.settings == Settings(
        default_backend="docker",
        base_image="debian:bookworm-slim",
        build_ca_bundle=base / "certs/corp-ca.pem",
    )
    assert config.bottles == {
        "web": Bottle(
            name="web",
            source=manifest,
            env={
                "PLAIN": EnvValue("literal", "just text"),
                "TOKEN": EnvValue("host", "HOST_TOKEN"),
                "SECRET": EnvValue("prompt", "Type the secret"),
                "ASKED": EnvValue("prompt", "ASKED"),
            },
            egress=Egress(
                routes=(
                    Route(
                        host="api.github.com",
                        path_allowlist=("/repos/acme/", "/user"),
                        methods=("GET", "POST"),
                        auth=RouteAuth(scheme="Bearer", token_ref="GITHUB_TOKEN"),
                    ),
                    Route(host="registry.npmjs.org"),
                    Route(host="10.0.0.7"),
                    Route(host="::1"),
                    Route(host="secure.example.com", tls_passthrough=True),
                )
            ),
            git=Git(
                repos=(
                    GitRepo(
                        name="app",
                        upstream="ssh://git@git.example.com:2222/acme/app.git",
                        identity=base / "keys/deploy",
                        protected_branches=("main", "release"),
                        protected_paths=(".github/workflows/**",),
                        allow_force_push=True,
                    ),
                    GitRepo(
                        name="lib.core",
                        upstream="git@github.com:acme/lib.git",
                        provisioned_key=ProvisionedKey(
                            plugin="gitea",
                            api_url="https://gitea.example.com/api/v1",
                            repo="acme/lib",
                            token_ref="GITEA_TOKEN",
                            read_only=False,
                        ),
                    ),
                )
            ),
            dockerfile=base / "docker/Dockerfile.web",
            resources=Resources(cpus=2.0, memory="4g"),
        )
    }
    assert config.agents == {
        "bob": Agent(
            name="bob",
            source=agent_file,
            bottle="web",
            provider="codex",
            skills=("review", "deploy"),
            label="implementer",
            color="#a0b1c2",
            auth_token="OPENAI_KEY",
            prompt="You implement things.\n\nCarefully.\n",
        )
    }
    web = config.bottles["web"]
    assert [r.upstream_host_port for r in web.git.repos] == [
        "git.example.com:2222",
        "github.com:22",
    ]
    assert web.resources.memory_mib == 4096
    assert config.agents["bob"].display_name == "implementer (bob)"


def test_defaults_for_a_minimal_agent_and_bottle(cfg):
    cfg.manifest("bottles:\n  tiny: {}\n  empty:\n")
    cfg.agent("plain", "---\nbottle: tiny\n---\nHello")
    config = cfg.load()
    assert config.bottles["tiny"] == Bottle(name="tiny", source=cfg.home.manifest)
    assert config.bottles["empty"].egress == Egress()
    agent = config.agents["plain"]
    assert (agent.provider, agent.skills, agent.label, agent.color, agent.auth_token) == (
        "claude",
        (),
        None,
        None,
        None,
    )
    assert agent.prompt == "Hello"
    assert agent.display_name == "plain"


def test_empty_and_missing_files_are_fine(cfg):
    assert cfg.load().bottles == {}
    cfg.manifest("")
    config = cfg.load()
    assert config.bottles == {} and config.files == (cfg.home.manifest,)
    cfg.manifest("# only a comment\n")
    assert cfg.load().settings == Settings()


def test_project_layer_overrides_user_layer_by_name(cfg):
    user = cfg.manifest(
        """\
        bottles:
          web:
            egress: {routes: [{host: user.example.com}]}
          only-user: {}
        """
    )
    project = cfg.project_manifest(
        """\
        bottles:
          web:
            env: {FROM: project}
        """
    )
    user_agent = cfg.agent("bob", "---\nbottle: web\nlabel: user\n---\n")
    cfg.agent("alice", "---\nbottle: only-user\n---\n")
    project_agent = cfg.project_agent("bob", "---\nbottle: only-user\nlabel: project\n---\n")

    config = cfg.load()
    # A whole bottle is replaced, not merged field by field.
    assert config.bottles["web"].source == project
    assert config.bottles["web"].egress.routes == ()
    assert config.bottles["web"].env == {"FROM": EnvValue("literal", "project")}
    assert config.bottles["only-user"].source == user
    assert config.agents["bob"].source == project_agent
    assert config.agents["bob"].label == "project"
    assert config.agents["alice"].bottle == "only-user"
    assert config.files.index(user) < config.files.index(user_agent) < config.files.index(project)


def test_project_dir_is_found_from_a_subdirectory(cfg):
    project = cfg.cwd.parent / ".bot-bottle" / "manifest.yaml"
    project.parent.mkdir(parents=True)
    project.write_text("bottles: {up: {}}\n")
    config = load_config(cfg.home, cfg.cwd, include_builtin=False)
    assert config.bottles["up"].source == project


def test_agent_may_use_a_bottle_from_another_layer(cfg):
    cfg.manifest("bottles: {shared: {}}\n")
    cfg.project_agent("worker", "---\nbottle: shared\n---\n")
    assert cfg.load().agents["worker"].bottle == "shared"


def test_builtin_demo_loads(cfg):
    config = cfg.load(include_builtin=True)
    demo = config.bottles["demo"]
    assert demo.source == BUILTIN_DIR / "manifest.yaml"
    assert demo.env == {"GREETING": EnvValue("literal", "hello from the bottle")}
    assert demo.egress.routes == (
        Route(
            host="example.com",
            path_allowlist=("/",),
            methods=("GET", "HEAD"),
            auth=RouteAuth(scheme="Bearer", token_ref="BOT_BOTTLE_DEMO_TOKEN"),
        ),
    )
    agent = config.agents["demo"]
    assert (agent.bottle, agent.provider, agent.label) == ("demo", "shell", "demo")
    assert "API key" in agent.prompt
    assert config.files[:2] == (BUILTIN_DIR / "manifest.yaml", BUILTIN_DIR / "agents" / "demo.md")


def test_include_builtin_false_excludes_the_demo(cfg):
    config = cfg.load(include_builtin=False)
    assert "demo" not in config.bottles
    assert "demo" not in config.agents
    assert not any(BUILTIN_DIR in f.parents for f in config.files)


def test_user_bottle_overrides_builtin_demo(cfg):
    cfg.manifest("bottles:\n  demo:\n    env: {GREETING: mine}\n")
    config = cfg.load(include_builtin=True)
    assert config.bottles["demo"].env["GREETING"] == EnvValue("literal", "mine")
    assert config.agents["demo"].bottle == "demo"


def test_settings_override_field_by_field(cfg):
    cfg.manifest(
        """\
        settings:
          default_backend: smolvm
          base_image: user/base:1
        """
    )
    project = cfg.project_manifest(
        "settings:\n  base_image: project/base:2\n  build_ca_bundle: ~/ca.pem\n"
    )
    settings = cfg.load().settings
    assert settings.default_backend == "smolvm"
    assert settings.base_image == "project/base:2"
    assert settings.build_ca_bundle == Path("~/ca.pem").expanduser()
    assert project in cfg.load().files


def test_dockerfile_is_resolved_relative_to_its_manifest(cfg):
    cfg.manifest("bottles:\n  a: {dockerfile: Dockerfile}\n  b: {dockerfile: /abs/Dockerfile}\n")
    project = cfg.project_manifest("bottles:\n  c: {dockerfile: ../images/Dockerfile.c}\n")
    bottles = cfg.load().bottles
    assert bottles["a"].dockerfile == cfg.home.config_dir / "Dockerfile"
    assert bottles["b"].dockerfile == Path("/abs/Dockerfile")
    assert bottles["c"].dockerfile == project.parent / "../images/Dockerfile.c"


def test_project_dir_that_is_the_home_is_read_once(tmp_path, monkeypatch):
    from bot_bottle_core.home import Home

    home_dir = tmp_path / ".bot-bottle"
    monkeypatch.setenv("BOT_BOTTLE_HOME", str(home_dir))
    home = Home.from_env()
    home_dir.mkdir()
    home.manifest.write_text("bottles: {x: {}}\n")
    config = load_config(home, tmp_path, include_builtin=False)
    assert config.files == (home.manifest,)


def test_front_matter_details(cfg):
    cfg.manifest("bottles: {b: {}}\n")
    cfg.agent("crlf", "---\r\nbottle: b\r\n---\r\n\r\nBody line\r\n")
    cfg.agent("nobody", "---\nbottle: b\n---")
    cfg.agent("dashes", "---\nbottle: b\n---\nText\n---\nmore\n")
    agents = cfg.load().agents
    assert agents["crlf"].prompt == "Body line\r\n"
    assert agents["nobody"].prompt == ""
    assert agents["dashes"].prompt == "Text\n---\nmore\n"


def test_yaml_anchors_and_merge_keys_work(cfg):
    cfg.manifest(
        """\
        bottles:
          a:
            egress:
              routes: &routes
                - host: one.example.com
          b:
            egress:
              routes: *routes
            resources: &res {cpus: 1, memory: 512m}
          c:
            resources:
              <<: *res
              memory: 1.5g
        """
    )
    bottles = cfg.load().bottles
    assert bottles["b"].egress == bottles["a"].egress
    assert bottles["c"].resources == Resources(cpus=1.0, memory="1.5g")
    assert bottles["c"].resources.memory_mib == 1536


def test_environment_overrides_build_settings(tmp_path):
    from bot_bottle_core.config import ConfigError, load_config
    from bot_bottle_core.home import Home

    home = Home(config_dir=tmp_path, state_root=tmp_path)
    (tmp_path / "manifest.yaml").write_text("settings:\n  base_image: from-file:1\n")
    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    cfg = load_config(home, tmp_path, environ={})
    assert cfg.settings.base_image == "from-file:1"
    env = {"BOT_BOTTLE_BASE_IMAGE": "local/base:2", "BOT_BOTTLE_BUILD_CA_BUNDLE": str(ca)}
    cfg = load_config(home, tmp_path, environ=env)
    assert cfg.settings.base_image == "local/base:2"
    assert cfg.settings.build_ca_bundle == ca
    with pytest.raises(ConfigError, match=r"BOT_BOTTLE_BUILD_CA_BUNDLE: .*nope is not a file"):
        load_config(home, tmp_path, environ={"BOT_BOTTLE_BUILD_CA_BUNDLE": str(tmp_path / "nope")})
