"""Property tests: no input, however odd, gets anything but a Config or a ConfigError."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot_bottle_core.config import Config, ConfigError, load_config
from bot_bottle_core.home import Home

KEYS = [
    "settings", "bottles", "default_backend", "base_image", "build_ca_bundle",
    "web", "demo", "env", "egress", "routes", "host", "path_allowlist", "methods",
    "auth", "scheme", "token_ref", "tls_passthrough", "git", "repos", "name",
    "upstream", "identity", "provisioned_key", "plugin", "api_url", "repo",
    "read_only", "protected_branches", "protected_paths", "allow_force_push", "dockerfile",
    "resources", "cpus", "memory",
    "bottle", "provider", "skills", "label", "color", "auth_token", "prompt", "source",
]  # fmt: skip

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        ["GET", "/", "/x", "example.com", "${HOME}", "?", "512m", "git@h:a/b", "#112233", "web"]
    )
)
KEY = st.sampled_from(KEYS) | st.text(max_size=8) | st.integers(-3, 3)
DOCS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEY, children, max_size=5),
    max_leaves=25,
)
# Documents shaped like a manifest, so the checks deep inside get exercised too.
MANIFESTS = st.fixed_dictionaries(
    {},
    optional={
        "settings": st.dictionaries(st.sampled_from(KEYS[2:5]) | KEY, DOCS, max_size=3),
        "bottles": st.dictionaries(
            st.sampled_from(["web", "demo", "Bad Name"]) | KEY,
            st.dictionaries(st.sampled_from(KEYS[6:32]), DOCS, max_size=5) | DOCS,
            max_size=3,
        ),
    },
)

VALID = """\
settings:
  default_backend: docker
bottles:
  web:
    env: {A: "x", B: "${HOME}", C: "?Ask"}
    egress:
      routes:
        - host: api.example.com
          path_allowlist: [/v1/]
          methods: [GET, POST]
          auth: {scheme: Bearer, token_ref: TOKEN}
        - {host: pass.example.com, tls_passthrough: true}
    git:
      repos:
        - name: app
          upstream: ssh://git@git.example.com:2222/a/app.git
          identity: ~/.ssh/key
          protected_branches: [main]
    resources: {cpus: 1.5, memory: 2g}
"""


def _fresh(tmp_path: Path) -> Home:
    root = tmp_path / "home"
    shutil.rmtree(root, ignore_errors=True)
    (root / "agents").mkdir(parents=True)
    for skill in ("a", "b"):  # the skills the agent file below lists
        (root / "skills" / skill).mkdir(parents=True)
        (root / "skills" / skill / "SKILL.md").write_text("---\nname: x\n---\n")
    return Home(config_dir=root, state_root=root)


def _check(home: Home, cwd: Path, needle: Path) -> None:
    try:
        result = load_config(home, cwd, include_builtin=False)
    except ConfigError as err:
        assert err.problems
        assert needle.name in str(err)
        assert "Traceback" not in str(err)
        # The catch-all safety net is for the unforeseen; none of these should need it.
        assert not any(p.message.startswith("could not be read") for p in err.problems), err
    else:
        assert isinstance(result, Config)


SETTINGS = settings(
    max_examples=int(os.environ.get("CONFIG_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(doc=DOCS | MANIFESTS)
def test_random_manifest_documents(tmp_path, doc):
    home = _fresh(tmp_path)
    home.manifest.write_text(yaml.safe_dump(doc), encoding="utf-8")
    _check(home, tmp_path, home.manifest)


@SETTINGS
@given(
    front=DOCS
    | st.fixed_dictionaries(
        {"bottle": st.sampled_from(["web", "nope"]) | DOCS},
        optional={k: DOCS for k in ["provider", "skills", "label", "color", "auth_token"]},
    ),
    body=st.text(max_size=30),
)
def test_random_agent_front_matter(tmp_path, front, body):
    home = _fresh(tmp_path)
    home.manifest.write_text("bottles: {web: {}}\n", encoding="utf-8")
    agent = home.agents_dir / "agent.md"
    agent.write_text(f"---\n{yaml.safe_dump(front)}---\n{body}", encoding="utf-8")
    _check(home, tmp_path, agent)


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace"]),
        st.integers(min_value=0, max_value=len(VALID.encode())),
        st.binary(min_size=1, max_size=3)
        | st.sampled_from([b":", b"-", b" ", b"\n", b"[", b"{", b"'", b'"', b"&", b"*", b"!"]),
    ),
    min_size=1,
    max_size=6,
)


def _mangle(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for op, pos, chunk in edits:
        pos = min(pos, len(buf))
        if op == "insert":
            buf[pos:pos] = chunk
        elif op == "delete":
            del buf[pos : pos + len(chunk)]
        else:
            buf[pos : pos + len(chunk)] = chunk
    return bytes(buf)


@SETTINGS
@given(edits=EDITS)
def test_mangled_valid_manifest(tmp_path, edits):
    home = _fresh(tmp_path)
    home.manifest.write_bytes(_mangle(VALID.encode(), edits))
    _check(home, tmp_path, home.manifest)


@SETTINGS
@given(edits=EDITS)
def test_mangled_agent_file(tmp_path, edits):
    home = _fresh(tmp_path)
    home.manifest.write_text(VALID, encoding="utf-8")
    agent = home.agents_dir / "bob.md"
    text = b"---\nbottle: web\nskills: [a, b]\nlabel: Bob\ncolor: red\n---\n\nYou are Bob.\n"
    agent.write_bytes(_mangle(text, edits))
    _check(home, tmp_path, agent)


def test_valid_manifest_used_by_the_mangler_loads(tmp_path):
    home = _fresh(tmp_path)
    home.manifest.write_text(VALID, encoding="utf-8")
    config = load_config(home, tmp_path, include_builtin=False)
    assert config.bottles["web"].egress.routes[0].host == "api.example.com"
