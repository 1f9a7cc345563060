"""Bad configuration is refused with the file, the path inside it and what is wrong."""

from __future__ import annotations

import pytest

from bot_bottle_core.config import ConfigError, Problem
from bot_bottle_core.errors import BotBottleError

OK_AGENT = "---\nbottle: web\n---\nprompt\n"


def _bottle(body: str) -> str:
    """A manifest with one bottle ``web`` whose YAML body is ``body``."""
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    return f"bottles:\n  web:\n{indented}"


def _route(route: str) -> str:
    return _bottle(f"egress:\n  routes:\n    - {route}")


# (id, manifest, {agent name: text}, file ("manifest" or agent name), path, fragment)
CASES = [
    (
        "unknown-top-level-key",
        "bottle:\n  web: {}\n",
        {},
        "manifest",
        "bottle",
        "unknown key 'bottle' (did you mean 'bottles'?); allowed keys: settings, bottles",
    ),
    (
        "unknown-route-key",
        _route("{host: a.example.com, path: /x}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].path",
        "unknown key 'path' (did you mean 'path_allowlist'?); "
        "allowed keys: host, path_allowlist, methods, ports, auth, tls_passthrough",
    ),
    (
        "missing-route-host",
        _route("{path_allowlist: [/x]}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].host",
        "required key 'host' is missing",
    ),
    (
        "path-allowlist-wrong-type",
        _route("{host: a.example.com, path_allowlist: /repos}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].path_allowlist",
        "must be a list of path prefixes, got a string ('/repos'); write it as a list: [/repos]",
    ),
    (
        "path-without-slash",
        _route("{host: a.example.com, path_allowlist: [/ok, repos/]}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].path_allowlist[1]",
        "path 'repos/' must start with '/'",
    ),
    (
        "empty-path-allowlist",
        _route("{host: a.example.com, path_allowlist: []}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].path_allowlist",
        "omit path_allowlist to allow the whole host",
    ),
    (
        "tls-passthrough-with-auth",
        _route(
            "{host: a.example.com, tls_passthrough: true, auth: {scheme: Bearer, token_ref: T}}"
        ),
        {},
        "manifest",
        "bottles.web.egress.routes[0].tls_passthrough",
        "tls_passthrough cannot be combined with auth",
    ),
    (
        "git-identity-and-provisioned-key",
        _bottle(
            "git:\n  repos:\n    - name: app\n      upstream: git@h.example.com:a/app.git\n"
            "      identity: ~/.ssh/key\n"
            "      provisioned_key:\n"
            "        {plugin: gitea, api_url: 'https://h', repo: a/app, token_ref: T}"
        ),
        {},
        "manifest",
        "bottles.web.git.repos[0]",
        "set exactly one of identity or provisioned_key, not both",
    ),
    (
        "git-no-key",
        _bottle("git:\n  repos:\n    - {name: app, upstream: 'git@h.example.com:a/app.git'}"),
        {},
        "manifest",
        "bottles.web.git.repos[0]",
        "the repo needs a key: set identity",
    ),
    (
        "git-https-upstream",
        _bottle(
            "git:\n  repos:\n    - {name: app, upstream: 'https://h.example.com/a.git', "
            "identity: k}"
        ),
        {},
        "manifest",
        "bottles.web.git.repos[0].upstream",
        "'https' URLs are not supported",
    ),
    (
        "git-empty-protected-path",
        _bottle(
            "git:\n  repos:\n    - {name: app, upstream: 'git@h.example.com:a.git', "
            "identity: k, protected_paths: ['.github/**', '/']}"
        ),
        {},
        "manifest",
        "bottles.web.git.repos[0].protected_paths[1]",
        "must name a path inside the repository",
    ),
    (
        "agent-missing-bottle",
        _bottle("env: {}"),
        {"bob": "---\nbottle: api\n---\n"},
        "bob",
        "bottle",
        "bottle 'api' is not defined in any manifest; known bottles: web",
    ),
    (
        "yaml-syntax-error",
        "bottles:\n  web:\n    env: {A: 'x'\n  other: {}\n",
        {},
        "manifest",
        "",
        "invalid YAML at line 4, column",
    ),
    (
        "yaml-syntax-error-in-front-matter",
        _bottle("env: {}"),
        {"bob": "---\nbottle: web\nlabel: a: b\n---\n"},
        "bob",
        "",
        "invalid YAML at line 3, column 9: mapping values are not allowed here",
    ),
    (
        "duplicate-key",
        "bottles:\n  web: {}\n  web: {}\n",
        {},
        "manifest",
        "",
        "invalid YAML at line 3, column 3: found duplicate key 'web'",
    ),
    (
        "bad-env-name",
        _bottle("env: {MY-VAR: x}"),
        {},
        "manifest",
        "bottles.web.env.MY-VAR",
        "env name 'MY-VAR' is not a valid environment variable name",
    ),
    (
        "non-string-env-value",
        _bottle("env: {PORT: 8080}"),
        {},
        "manifest",
        "bottles.web.env.PORT",
        'env values must be strings, got a number (8080); put it in quotes: "8080"',
    ),
    (
        "partial-env-reference",
        _bottle("env: {URL: 'https://${HOST}/x'}"),
        {},
        "manifest",
        "bottles.web.env.URL",
        "only a whole value like '${NAME}'",
    ),
    (
        "bad-memory",
        _bottle("resources: {memory: lots}"),
        {},
        "manifest",
        "bottles.web.resources.memory",
        "memory 'lots' is not a size",
    ),
    (
        "zero-cpus",
        _bottle("resources: {cpus: 0}"),
        {},
        "manifest",
        "bottles.web.resources.cpus",
        "cpus must be more than 0",
    ),
    (
        "agent-without-front-matter",
        _bottle("env: {}"),
        {"bob": "You are bob.\n"},
        "bob",
        "",
        "has no front matter",
    ),
    (
        "agent-front-matter-not-closed",
        _bottle("env: {}"),
        {"bob": "---\nbottle: web\n"},
        "bob",
        "",
        "the front matter is not closed",
    ),
    (
        "agent-unknown-key",
        _bottle("env: {}"),
        {"bob": "---\nbottle: web\nmodel: opus\n---\n"},
        "bob",
        "model",
        "unknown key 'model'; allowed keys: bottle, provider, skills, label, color, auth_token",
    ),
    (
        "agent-missing-bottle-key",
        _bottle("env: {}"),
        {"bob": "---\nlabel: Bob\n---\n"},
        "bob",
        "bottle",
        "required key 'bottle' is missing",
    ),
    (
        "agent-bad-name",
        _bottle("env: {}"),
        {"Bob Smith": OK_AGENT},
        "Bob Smith",
        "",
        "agent name 'Bob Smith' is not allowed",
    ),
    (
        "agent-bad-color",
        _bottle("env: {}"),
        {"bob": "---\nbottle: web\ncolor: mauve\n---\n"},
        "bob",
        "color",
        "unknown color 'mauve'; use one of red, green",
    ),
    (
        "bad-method",
        _route("{host: a.example.com, methods: [GET, FETCH]}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].methods[1]",
        "unknown HTTP method 'FETCH'",
    ),
    (
        "duplicate-host",
        _bottle("egress:\n  routes:\n    - host: a.example.com\n    - host: A.Example.com."),
        {},
        "manifest",
        "bottles.web.egress.routes[1].host",
        "duplicate host 'a.example.com': already routed by bottles.web.egress.routes[0]",
    ),
    (
        "routes-not-a-list",
        _bottle("egress:\n  routes: {host: a.example.com}"),
        {},
        "manifest",
        "bottles.web.egress.routes",
        "expected a list of mappings, got a mapping",
    ),
    (
        "host-with-scheme",
        _route("{host: 'https://a.example.com/v1'}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].host",
        "host must be a bare host name without a scheme: write 'a.example.com'",
    ),
    (
        "host-with-port",
        _route("{host: 'a.example.com:8443'}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].host",
        "must not include a port",
    ),
    (
        "bad-token-ref",
        _route("{host: a.example.com, auth: {scheme: Bearer, token_ref: 'my token'}}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].auth.token_ref",
        "token_ref 'my token' is not a valid environment variable name",
    ),
    (
        "bool-not-bool",
        _route("{host: a.example.com, tls_passthrough: sometimes}"),
        {},
        "manifest",
        "bottles.web.egress.routes[0].tls_passthrough",
        "expected true or false, got a string ('sometimes')",
    ),
    (
        "manifest-not-a-mapping",
        "- web\n- api\n",
        {},
        "manifest",
        "",
        "the manifest must be a mapping with the keys settings and bottles, got a list",
    ),
    (
        "bad-bottle-name",
        "bottles:\n  Web_Server!: {}\n",
        {},
        "manifest",
        "bottles['Web_Server!']",
        "bottle name 'Web_Server!' is not allowed",
    ),
    (
        "settings-unknown-key",
        "settings:\n  backend: docker\n",
        {},
        "manifest",
        "settings.backend",
        "unknown key 'backend'; allowed keys: default_backend, base_image, build_ca_bundle",
    ),
    (
        "yaml-tag",
        _bottle("env: {A: !!python/object:os.system x}"),
        {},
        "manifest",
        "",
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'",
    ),
    (
        "provisioned-key-bad-api-url",
        _bottle(
            "git:\n  repos:\n    - name: app\n      upstream: ssh://h.example.com/a.git\n"
            "      provisioned_key: {plugin: gitea, api_url: 'gitea.local', repo: a, token_ref: T}"
        ),
        {},
        "manifest",
        "bottles.web.git.repos[0].provisioned_key.api_url",
        "api_url must start with http:// or https://",
    ),
]


@pytest.mark.parametrize(
    ("manifest", "agents", "where", "path", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_config_names_file_path_and_problem(cfg, manifest, agents, where, path, fragment):
    files = {"manifest": cfg.manifest(manifest)}
    for name, text in agents.items():
        files[name] = cfg.agent(name, text)

    err = cfg.error()

    assert isinstance(err, BotBottleError)
    assert len(err.problems) == 1, str(err)
    (problem,) = err.problems
    assert problem.file == files[where]
    assert problem.path == path
    assert fragment in problem.message, problem.message
    text = str(err)
    assert text.startswith(f"Configuration error in {files[where]}: ")
    if path:
        assert f": {path}: " in text
    assert "Traceback" not in text
    assert text.endswith("Fix the file and run `bot-bottle config check`.")
    assert "\n" not in text


def test_every_case_has_its_own_message(cfg):
    messages = []
    for _id, manifest, agents, _where, _path, _fragment in CASES:
        for old in cfg.home.agents_dir.glob("*.md"):
            old.unlink()
        cfg.manifest(manifest)
        for name, text in agents.items():
            cfg.agent(name, text)
        messages.append(cfg.error().problems[0].message)
    assert len(CASES) >= 10
    assert len(set(messages)) == len(messages)


def test_all_problems_are_collected_across_files(cfg):
    manifest = cfg.manifest(
        """\
        settings:
          default_backend: [docker]
        bottles:
          web:
            egress:
              routes:
                - host: a.example.com
                  methods: [GET, FETCH]
                - host: 'b.example.com:443'
          api:
            resources: {cpus: -1}
        """
    )
    bob = cfg.agent("bob", "---\nbottle: missing\ncolor: mauve\n---\n")
    eve = cfg.agent("eve", "no front matter\n")
    err = cfg.error()
    assert [(p.file, p.path) for p in err.problems] == [
        (bob, "bottle"),
        (bob, "color"),
        (eve, ""),
        (manifest, "bottles.api.resources.cpus"),
        (manifest, "bottles.web.egress.routes[0].methods[1]"),
        (manifest, "bottles.web.egress.routes[1].host"),
        (manifest, "settings.default_backend"),
    ]
    text = str(err)
    lines = text.splitlines()
    assert lines[0] == "Configuration errors (7):"
    assert lines[-1] == "Fix the file and run `bot-bottle config check`."
    assert all(str(p) in text for p in err.problems)


def test_problems_sort_indexes_numerically(cfg):
    routes = "".join(f"        - host: h{i}.example.com\n" for i in range(11))
    routes += "        - host: 'bad host'\n"
    routes = routes.replace("h2.example.com", "'bad:host'")
    cfg.manifest(f"bottles:\n  web:\n    egress:\n      routes:\n{routes}")
    paths = [p.path for p in cfg.error().problems]
    assert paths == ["bottles.web.egress.routes[2].host", "bottles.web.egress.routes[11].host"]


def test_broken_bottle_does_not_also_count_as_missing(cfg):
    manifest = cfg.manifest(_bottle("egress: {routes: [{hots: a.example.com}]}"))
    cfg.agent("bob", OK_AGENT)
    err = cfg.error()
    assert {p.file for p in err.problems} == {manifest}


def test_problem_str():
    from pathlib import Path

    assert str(Problem(Path("/m.yaml"), "bottles.a", "bad")) == "/m.yaml: bottles.a: bad"
    assert str(Problem(Path("/m.yaml"), "", "bad")) == "/m.yaml: bad"


def test_config_error_single_problem_paragraph():
    from pathlib import Path

    err = ConfigError([Problem(Path("/m.yaml"), "bottles.a.env.X", "something is off")])
    assert str(err) == (
        "Configuration error in /m.yaml: bottles.a.env.X: something is off. "
        "Fix the file and run `bot-bottle config check`."
    )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"bottles:\n  web: {}\n\xff\xfe\n", "is not UTF-8 text"),
        (b'bottles:\n  web: {env: {A: "\x07"}}\n', "invalid YAML"),
        (
            b"bottles: !!binary aGVsbG8=\n",
            "expected a mapping of bottle names to bottles, got binary data",
        ),
        (
            b"bottles:\n  web:\n    resources: {cpus: " + b"9" * 400 + b"}\n",
            "the number is too large",
        ),
        (b"bottles:\n  web:\n    resources: {cpus: .inf}\n", "expected a finite number"),
        (b"bottles:\n  web:\n    env: {A: 2024-01-01}\n", "got a date"),
        (b"bottles:\n  web:\n    env: {? [a, b] : x}\n", "unhashable"),
        (b"bottles:\n  web:\n    env: null\n    egress: {routes: [null]}\n", "got nothing (null)"),
        (b'bottles:\n  "\\u202e\\u0000": {}\n', "is not allowed"),
        (b"[" * 5000, "invalid YAML"),
        (b"settings: 3\n", "expected a mapping (key: value lines), got a number (3)"),
    ],
)
def test_odd_input_is_a_config_error_never_a_traceback(cfg, data, fragment):
    manifest = cfg.manifest(data)
    err = cfg.error()
    assert all(p.file == manifest for p in err.problems)
    assert fragment in str(err)


def test_unreadable_agents_dir_that_is_a_file(cfg):
    cfg.home.config_dir.mkdir(parents=True)
    cfg.home.agents_dir.write_text("oops")
    err = cfg.error()
    assert err.problems == (
        Problem(cfg.home.agents_dir, "", "should be a directory of agent files (NAME.md)"),
    )


def test_tilde_of_unknown_user(cfg):
    cfg.manifest(_bottle("dockerfile: ~no-such-user-here/Dockerfile"))
    (problem,) = cfg.error().problems
    assert problem.path == "bottles.web.dockerfile"
    assert "cannot expand '~'" in problem.message
