"""Plugin loading: entry points, broken and conflicting plugins, the env switches."""

from __future__ import annotations

from bot_bottle_core import hookimpl, known_backend_names
from bot_bottle_core.dispatch import Plugins
from bot_bottle_core.plugins import _Candidate

INSTALLED = {
    ("backend", "docker"),
    ("backend", "smolvm"),
    ("backend", "macos-container"),
    ("provider", "claude"),
    ("provider", "codex"),
    ("provider", "shell"),
    ("provider", "fakeprov"),
    ("git_host", "gitea"),
}


def by_name(rows):
    return {(r["kind"], r["name"]): r for r in rows}


def test_every_workspace_plugin_loads_from_its_entry_point():
    plugins = Plugins.load(environ={})
    assert {(r.kind, r.name) for r in plugins.records} == INSTALLED
    assert all(r.status == "ok" for r in plugins.records), plugins.records
    dists = {r.name: r.distribution for r in plugins.records}
    assert dists["docker"] == "bot-bottle-docker"
    assert dists["shell"] == "bot-bottle"
    assert dists["fakeprov"] == "bot-bottle-fake-provider"


def test_known_backend_names_is_the_set_of_loaded_backends(monkeypatch):
    monkeypatch.delenv("BOT_BOTTLE_PLUGINS", raising=False)
    monkeypatch.delenv("BOT_BOTTLE_DISABLE_PLUGINS", raising=False)
    assert known_backend_names() == {"docker", "smolvm", "macos-container"}
    monkeypatch.setenv("BOT_BOTTLE_DISABLE_PLUGINS", "smolvm,macos-container")
    assert known_backend_names() == {"docker"}


def test_plugins_list_json(bb):
    r = bb.run("plugins", "list", "--json")
    assert r.code == 0, r.err
    rows = by_name(r.json())
    assert set(rows) == INSTALLED
    docker = rows[("backend", "docker")]
    assert docker["distribution"] == "bot-bottle-docker"
    assert docker["version"] == "0.1.0"
    assert docker["status"] == "ok"
    assert isinstance(docker["available"], bool)
    assert set(docker) >= {"name", "kind", "distribution", "version", "available", "reason"}
    assert rows[("provider", "shell")]["builtin"] is True


def test_plugins_list_table_says_why_unavailable(bb, tmp_path, fake_dist):
    site = fake_dist(
        tmp_path / "site",
        "bot-bottle-offline",
        {"bot_bottle.backend": {"offline": "offline_backend"}},
        {
            "offline_backend": """
                from bot_bottle_core import hookimpl
                from bot_bottle_core.plan import Availability

                @hookimpl
                def is_available():
                    return Availability.no("its engine is not installed here")
            """
        },
    )
    bb.extra["PYTHONPATH"] = str(site)
    r = bb.run("plugins", "list")
    assert r.code == 0, r.err
    line = next(line for line in r.out.splitlines() if line.startswith("offline"))
    assert "no: its engine is not installed here" in line


def test_broken_plugin_is_listed_and_the_rest_keep_working(bb, tmp_path, fake_dist):
    site = fake_dist(
        tmp_path / "site",
        "bot-bottle-broken",
        {"bot_bottle.provider": {"broken": "broken_provider"}},
        {"broken_provider": "raise ImportError('needs libfoo 3')\n"},
    )
    bb.extra["PYTHONPATH"] = str(site)
    r = bb.run("plugins", "list", "--json")
    assert r.code == 0, r.err
    rows = by_name(r.json())
    broken = rows[("provider", "broken")]
    assert broken["status"] == "broken"
    assert broken["available"] is False
    assert "ImportError: needs libfoo 3" in broken["error"]
    assert broken["distribution"] == "bot-bottle-broken"
    assert rows[("backend", "docker")]["status"] == "ok"
    # Everything else still works: a dry run on the built-in demo goes through.
    r = bb.run("config", "check")
    assert r.code == 0, r.err
    # And asking for the broken one says why, without a traceback.
    bb.agent("b", "---\nbottle: demo\nprovider: broken\n---\n")
    r = bb.run("start", "b", "--dry-run")
    assert r.code == 1
    assert "provider plugin 'broken' is broken" in r.err
    assert "Traceback" not in r.err


def test_two_distributions_claiming_one_name_are_both_named(bb, tmp_path, fake_dist):
    site = fake_dist(
        tmp_path / "site",
        "evil-docker",
        {"bot_bottle.backend": {"docker": "evil_docker"}},
        {"evil_docker": "from bot_bottle_core import hookimpl\n"},
    )
    bb.extra["PYTHONPATH"] = str(site)
    r = bb.run("plugins", "list", "--json")
    assert r.code == 0, r.err
    dockers = [row for row in r.json() if row["name"] == "docker"]
    assert {d["distribution"] for d in dockers} == {"bot-bottle-docker", "evil-docker"}
    for d in dockers:
        assert d["status"] == "conflict"
        assert "bot-bottle-docker 0.1.0" in d["error"] and "evil-docker 9.9.9" in d["error"]
    r = bb.run("start", "demo", "--dry-run", "--backend", "docker")
    assert r.code == 1
    assert "claimed by" in r.err and "evil-docker" in r.err and "Traceback" not in r.err


def test_env_var_limits_and_disables_loading(bb):
    r = bb.run("plugins", "list", "--json", env={"BOT_BOTTLE_PLUGINS": "claude,docker"})
    rows = by_name(r.json())
    ok = {k for k, v in rows.items() if v["status"] == "ok"}
    assert ok == {("provider", "claude"), ("backend", "docker"), ("provider", "shell")}
    assert rows[("backend", "smolvm")]["status"] == "disabled"
    r = bb.run("plugins", "list", "--json", env={"BOT_BOTTLE_PLUGINS": ""})
    ok = {k for k, v in by_name(r.json()).items() if v["status"] == "ok"}
    assert ok == {("provider", "shell")}
    r = bb.run("plugins", "list", "--json", env={"BOT_BOTTLE_DISABLE_PLUGINS": "codex"})
    rows = by_name(r.json())
    assert rows[("provider", "codex")]["status"] == "disabled"
    assert rows[("provider", "claude")]["status"] == "ok"


def test_plugin_with_hooks_of_another_kind_is_refused():
    class Confused:
        @hookimpl
        def prepare(self, request):  # a backend hook, from a provider
            return None

    plugins = Plugins.load(
        environ={},
        candidates=[_Candidate("confused", "provider", "confused-dist", "1", Confused)],
    )
    rec = next(r for r in plugins.records if r.name == "confused")
    assert rec.status == "broken"
    assert "hook(s) of another kind: prepare" in rec.error


def test_plugin_with_a_misspelt_hook_is_refused():
    class Typo:
        @hookimpl
        def enumerate_actve(self):
            return []

    plugins = Plugins.load(
        environ={}, candidates=[_Candidate("typo", "backend", "typo-dist", "1", Typo)]
    )
    rec = next(r for r in plugins.records if r.name == "typo")
    assert rec.status == "broken" and "unknown hook(s): enumerate_actve" in rec.error


def test_plugin_with_a_wrong_argument_is_refused():
    class BadArgs:
        @hookimpl
        def prepare(self, reqest):
            return None

    plugins = Plugins.load(
        environ={}, candidates=[_Candidate("badargs", "backend", "b-dist", "1", BadArgs)]
    )
    rec = next(r for r in plugins.records if r.name == "badargs")
    assert rec.status == "broken" and "reqest" in rec.error
