"""The CLI surface: the dry-run preflight, honest stubs, clean errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot_bottle_core import launch_record
from bot_bottle_core.launch_record import LaunchRecord
from bot_bottle_core.process_stamp import ProcessStamp

SECRET = "s3cr3t-value-that-must-never-print"
LITERAL_SECRET = "literal-pa55word-in-manifest"


def test_help_shows_the_whole_surface(bb):
    r = bb.run("--help")
    assert r.code == 0
    for cmd in (
        "start",
        "resume",
        "attach",
        "stop",
        "list",
        "cleanup",
        "plugins",
        "config",
        "dashboard",
        "supervise",
        "routes",
        "audit",
    ):
        assert f"  {cmd} " in r.out, cmd
    r = bb.run("supervise", "--help")
    for cmd in ("list", "show", "approve", "modify", "reject"):
        assert f"  {cmd} " in r.out
    assert (
        "  show " in bb.run("routes", "--help").out and "  edit " in bb.run("routes", "--help").out
    )
    assert "  verify " in bb.run("audit", "--help").out


def test_dry_run_prints_the_real_plan_and_creates_nothing(paper):
    r = paper.run("start", "demo", "--dry-run", "--backend", "paper")
    assert r.code == 0, r.err
    out = r.out
    assert "bot-bottle start: plan for demo-" in out
    assert "demo (demo)  (provider shell)" in out
    assert r.has_row("backend", "paper")
    assert r.has_row("runtime", "paper-runtime")
    assert r.has_row("image", "paper:shell")
    assert r.has_row("egress", "example.com / [GET,HEAD] [auth:Bearer]")
    assert r.has_row("env", "GREETING")
    assert "hello from the bottle" not in out
    assert "demo-token-value-for-tests" not in out + r.err
    assert "nothing was created" in out
    assert paper.state_entries() == []


def test_the_demo_names_its_missing_token(paper):
    r = paper.run(
        "start", "demo", "--dry-run", "--backend", "paper", env={"BOT_BOTTLE_DEMO_TOKEN": ""}
    )
    assert r.code == 1
    assert "BOT_BOTTLE_DEMO_TOKEN (for example.com)" in r.err
    assert "Traceback" not in r.err
    assert paper.state_entries() == []


KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAAB-not-a-real-key-but-secret-all-the-same"


def write_secret_config(bb):
    bb.write(
        "keys/deploy",
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    bb.manifest(
        f"""
        bottles:
          web:
            env:
              GH_TOKEN: "${{HOST_GH}}"
              DB_PASSWORD: "{LITERAL_SECRET}"
            egress:
              routes:
                - host: api.github.com
                  path_allowlist: [/repos/me/app/]
                  auth: {{scheme: Bearer, token_ref: HOST_GH}}
            git:
              repos:
                - name: app
                  upstream: ssh://git@git.example.test:2222/me/app.git
                  identity: keys/deploy
                  protected_branches: [main]
        """
    )
    bb.agent(
        "coder",
        "---\nbottle: web\nprovider: claude\nauth_token: HOST_CLAUDE\nlabel: bob\n---\n"
        "Be careful.\n",
    )
    bb.agent("third", "---\nbottle: web\nprovider: fakeprov\nauth_token: HOST_FAKE\n---\n")


@pytest.mark.parametrize(
    ("agent", "route", "hidden"),
    [
        ("coder", "api.anthropic.com (all paths) [auth:x-api-key]", "ANTHROPIC_API_KEY"),
        ("third", "api.fakeprov.test (all paths) [auth:Token]", "FAKEPROV_TOKEN"),
    ],
)
def test_preflight_shows_names_never_values_for_any_provider(paper, agent, route, hidden):
    write_secret_config(paper)
    env = {"HOST_GH": SECRET, "HOST_CLAUDE": SECRET, "HOST_FAKE": SECRET}
    r = paper.run("start", agent, "--dry-run", "--backend", "paper", env=env)
    assert r.code == 0, r.err
    assert "api.github.com /repos/me/app/ [auth:Bearer]" in r.out
    assert route in r.out
    assert "app → git-gate → git.example.test:2222 [protected: main]" in r.out
    assert r.has_row("env", "DB_PASSWORD, GH_TOKEN")
    assert hidden not in r.out
    for text in (r.out, r.err):
        assert SECRET not in text and LITERAL_SECRET not in text and KEY_BODY not in text
    assert paper.state_entries() == []


def test_the_hosts_codex_login_is_forwarded_unseen(paper, tmp_path):
    """No auth_token: the key in the host's ~/.codex/auth.json is the injected token."""
    write_secret_config(paper)
    paper.agent("cx", "---\nbottle: web\nprovider: codex\n---\n")
    (tmp_path / "user" / ".codex").mkdir(parents=True)
    (tmp_path / "user" / ".codex" / "auth.json").write_text(f'{{"OPENAI_API_KEY": "{SECRET}"}}')
    env = {"HOST_GH": "x", "HOME": str(tmp_path / "user")}
    r = paper.run("start", "cx", "--dry-run", "--backend", "paper", env=env)
    assert r.code == 0, r.err
    assert "api.openai.com (all paths) [auth:Bearer]" in r.out
    assert "OPENAI_API_KEY" not in r.out
    assert SECRET not in r.out + r.err


def test_label_and_color_flags_override_the_agent(paper):
    r = paper.run("start", "demo", "--dry-run", "--backend", "paper", "--label", "alice")
    assert r.code == 0, r.err
    assert "alice (demo)" in r.out


def test_missing_host_variable_is_named_and_nothing_is_left(paper):
    write_secret_config(paper)
    r = paper.run("start", "coder", "--dry-run", "--backend", "paper", env={"HOST_CLAUDE": "x"})
    assert r.code == 1
    assert "HOST_GH" in r.err and "Traceback" not in r.err
    assert paper.state_entries() == []


def test_start_without_launch_is_not_available_and_leaves_nothing(paper):
    r = paper.run("start", "demo", "--yes", "--backend", "paper")
    assert r.code == 2
    assert "not available yet" in r.err and r.err.count("\n") == 1
    assert paper.state_entries() == []


def test_unknown_agent(bb):
    r = bb.run("start", "nobody", "--dry-run")
    assert r.code == 1
    assert "Unknown agent 'nobody'. Known agents: demo." in r.err
    assert "Traceback" not in r.err


def test_unknown_backend(bb):
    r = bb.run("start", "demo", "--dry-run", "--backend", "k8s")
    assert r.code == 1
    assert "Unknown backend 'k8s'. Installed backends: docker, macos-container, smolvm." in r.err


def test_unavailable_backend_says_why(bb, tmp_path, fake_dist):
    install_listing_backends(bb, tmp_path, fake_dist, "offline")
    r = bb.run("start", "demo", "--dry-run", "--backend", "offline")
    assert r.code == 1
    assert "backend 'offline' is not available here: its engine is not installed here" in r.err


def test_docker_not_running_is_one_clear_paragraph(bb, tmp_path):
    r = bb.run(
        "start",
        "demo",
        "--dry-run",
        "--backend",
        "docker",
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-such-docker.sock"},
    )
    assert r.code == 1
    assert "Docker is not running or not reachable" in r.err
    assert "Traceback" not in r.err
    assert bb.state_entries() == []


@pytest.mark.parametrize("cmd", ["resume", "attach", "stop"])
def test_unknown_slug(bb, cmd):
    r = bb.run(cmd, "ghost-zzzzz")
    assert r.code == 1
    assert "Unknown slug 'ghost-zzzzz'" in r.err and "Traceback" not in r.err


def test_config_check_lists_what_it_loaded_without_values(bb):
    write_secret_config(bb)
    r = bb.run("config", "check")
    assert r.code == 0, r.err
    assert "Configuration is valid." in r.out
    assert "web  (" in r.out and "coder" in r.out and "bob (coder)" in r.out
    assert "GH_TOKEN (${HOST_GH})" in r.out and "DB_PASSWORD (literal)" in r.out
    assert LITERAL_SECRET not in r.out
    data = json.loads(bb.run("config", "check", "--json").out)
    assert data["agents"]["third"]["provider"] == "fakeprov"
    assert LITERAL_SECRET not in json.dumps(data)


def test_config_mistake_is_a_clean_error(bb):
    bb.manifest("bottles:\n  web:\n    egres: {}\n")
    for args in (("config", "check"), ("start", "demo", "--dry-run")):
        r = bb.run(*args)
        assert r.code == 1
        assert "manifest.yaml" in r.err and "egres" in r.err
        assert "Traceback" not in r.err


LISTING_BACKENDS = """
from bot_bottle_core import hookimpl
from bot_bottle_core.plan import ActiveBottle, Availability, CleanupItem, CleanupOutcome


class Online:
    @hookimpl
    def enumerate_active(self):
        return []

    @hookimpl
    def prepare_cleanup(self, live_slugs, preserved_slugs):
        return []

    @hookimpl
    def cleanup(self, items, progress):
        return [CleanupOutcome(i, ok=True) for i in items]


    @hookimpl
    def stop(self, slug, preserve, progress):
        import os

        with open(os.environ["STOPPED_LOG"], "a") as f:
            f.write(slug + "\\n")


class Live(Online):
    @hookimpl
    def enumerate_active(self):
        return [ActiveBottle(backend="live", slug="demo-zzzzz", agent="demo")]


class Failing(Online):
    @hookimpl
    def enumerate_active(self):
        from bot_bottle_core.errors import BotBottleError

        raise BotBottleError("its engine refused the list call")


# Cannot list what runs, yet offers leftovers: demo-zzzzz is running in fact.
class Unlisted(Failing):
    @hookimpl
    def prepare_cleanup(self, live_slugs, preserved_slugs):
        return [CleanupItem("unlisted", "box", "box-demo-zzzzz", "demo-zzzzz")]

    @hookimpl
    def cleanup(self, items, progress):
        raise AssertionError(f"asked to remove {items}")


# Runs demo-xxxxx and demo-zzzzz; demo-yyyyy has its sidecars but no agent yet.
class Halfway(Online):
    @hookimpl
    def enumerate_active(self):
        return [
            ActiveBottle(backend="halfway", slug=s, agent="demo", services=("sidecars",))
            for s in ("demo-xxxxx", "demo-zzzzz")
        ]

    @hookimpl
    def prepare_cleanup(self, live_slugs, preserved_slugs):
        slugs = ("demo-xxxxx", "demo-yyyyy", "demo-zzzzz")
        return [CleanupItem("halfway", "box", "box-" + s, s)
                for s in slugs if s not in live_slugs]


class Offline(Online):
    @hookimpl
    def is_available(self):
        return Availability.no("its engine is not installed here")


online = Online()
offline = Offline()
live = Live()
failing = Failing()
unlisted = Unlisted()
halfway = Halfway()
"""


def install_listing_backends(bb, tmp_path, fake_dist, *names: str) -> None:
    """Install the backends of LISTING_BACKENDS called ``names`` for ``bb``'s CLI."""
    site = fake_dist(
        tmp_path / "site",
        "bot-bottle-listing",
        {"bot_bottle.backend": {name: f"listing:{name}" for name in names}},
        {"listing": LISTING_BACKENDS},
    )
    bb.extra["PYTHONPATH"] = str(site)
    # Only these: a real engine here (and what others run on it) stays out of the test.
    bb.extra["BOT_BOTTLE_PLUGINS"] = ",".join(names)


def test_list_active_says_when_it_could_not_ask(bb, tmp_path, fake_dist):
    install_listing_backends(bb, tmp_path, fake_dist, "offline", "live", "failing")

    def listing(plugins: str):
        return bb.run("list", "active", "--json", env={"BOT_BOTTLE_PLUGINS": plugins})

    r = listing("offline")  # nothing could be asked: an empty list would be a lie
    assert r.code == 1 and r.out == ""
    assert "No backend could list running bottles here" in r.err
    assert "its engine is not installed here" in r.err and "Traceback" not in r.err
    r = listing("offline,live")  # one backend answered: its list, a warning for the other
    assert r.code == 0, r.err
    assert [b["slug"] for b in r.json()] == ["demo-zzzzz"]
    assert "warning: offline: skipped, not available" in r.err
    r = listing("live,failing")  # a backend failed: the list may be short
    assert r.code == 1
    assert [b["slug"] for b in r.json()] == ["demo-zzzzz"]
    assert "warning: failing: its engine refused the list call" in r.err


def test_stop_of_a_running_bottle_without_state_here(bb, tmp_path, fake_dist):
    install_listing_backends(bb, tmp_path, fake_dist, "online", "live")
    bb.extra["STOPPED_LOG"] = str(tmp_path / "stopped")
    r = bb.run("stop", "demo-zzzzz")  # listed by 'live', no state dir in this home
    assert r.code == 0, r.err
    assert "stopped demo-zzzzz (it had no state in" in r.err
    assert (tmp_path / "stopped").read_text() == "demo-zzzzz\n"  # only the backend that runs it
    r = bb.run("stop", "demo-yyyyy")  # neither state nor running anywhere
    assert r.code == 1 and "Unknown slug 'demo-yyyyy'" in r.err


def bottle_state(bb, slug: str, backend: str, preserved: bool = False) -> Path:
    """A bottle's state directory as ``start`` leaves it."""
    path = bb.home / "state" / slug
    path.mkdir(parents=True)
    meta = {
        "slug": slug,
        "agent": "demo",
        "backend": backend,
        "provider": "shell",
        "bottle": "demo",
        "cwd": "/",
    }
    (path / "metadata.json").write_text(json.dumps(meta))
    if preserved:
        (path / ".preserve").touch()
    return path


def test_cleanup_reaps_orphan_state_but_not_an_unreachable_backends(bb, tmp_path, fake_dist):
    install_listing_backends(bb, tmp_path, fake_dist, "online", "offline")
    state = bb.home / "state"

    def bottle(slug: str, backend: str, preserved: bool = False) -> None:
        bottle_state(bb, slug, backend, preserved)

    bottle("demo-aaaaa", "online")  # orphan: its backend says it is not running
    bottle("demo-bbbbb", "offline")  # may still run where that backend can be asked
    bottle("demo-ccccc", "online", preserved=True)  # kept for resume
    (state / "demo-ddddd").mkdir()  # no metadata at all: garbage
    r = bb.run("cleanup", "--yes")
    assert r.code == 0, r.err
    assert "offline: skipped, not available (its engine is not installed here)" in r.err
    assert bb.state_entries() == ["demo-bbbbb", "demo-ccccc"]


def test_cleanup_leaves_alone_a_backend_that_could_not_list_its_bottles(bb, tmp_path, fake_dist):
    install_listing_backends(bb, tmp_path, fake_dist, "unlisted", "online")
    bottle_state(bb, "demo-zzzzz", "unlisted")
    for args in (("--dry-run",), ("--yes",)):
        r = bb.run("cleanup", *args)
        assert r.code == 1, r.err
        assert "box-demo-zzzzz" not in r.out and "Traceback" not in r.err
        assert "unlisted: its leftovers are left alone this time" in r.err
        assert "state directories are left alone" in r.err
    assert bb.state_entries() == ["demo-zzzzz"]


ALIVE = ProcessStamp.current()  # this test process: it outlives every CLI run
GONE = ProcessStamp(os.getpid(), "another-boot:1")  # a live pid, but not the launcher's


def launched(path: Path, launcher: ProcessStamp, completed: bool) -> None:
    done = "2025-01-01T00:01:00+00:00" if completed else None
    launch_record.write(path, LaunchRecord(launcher, "2025-01-01T00:00:00+00:00", done))


@pytest.fixture
def halfway(bb, tmp_path, fake_dist):
    install_listing_backends(bb, tmp_path, fake_dist, "halfway")
    return bb


def test_list_active_has_a_header_and_says_how_to_reenter_a_detached_bottle(halfway):
    launched(bottle_state(halfway, "demo-xxxxx", "halfway"), ALIVE, completed=True)
    launched(bottle_state(halfway, "demo-zzzzz", "halfway"), GONE, completed=True)
    r = halfway.run("list", "active")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["BACKEND", "SLUG", "AGENT", "STATUS", "SERVICES", "STARTED"]
    assert lines[1].split()[:5] == ["halfway", "demo-xxxxx", "demo", "attached", "sidecars"]
    assert lines[2].split()[:5] == ["halfway", "demo-zzzzz", "demo", "detached", "sidecars"]
    assert lines[3:] == ["", "Re-enter a detached bottle with: bot-bottle attach demo-zzzzz"]
    r = halfway.run("list", "active", "--json")
    assert [(b["slug"], b["status"]) for b in r.json()] == [
        ("demo-xxxxx", "attached"),
        ("demo-zzzzz", "detached"),
    ]


def test_list_active_without_bottles_says_so(bb, tmp_path, fake_dist):
    install_listing_backends(bb, tmp_path, fake_dist, "online")
    r = bb.run("list", "active")
    assert r.code == 0, r.err
    assert r.out == "No bottles are running.\n"


def test_an_interrupted_launch_is_incomplete_and_cleanup_takes_it(halfway):
    launched(bottle_state(halfway, "demo-xxxxx", "halfway"), GONE, completed=True)
    launched(bottle_state(halfway, "demo-zzzzz", "halfway"), GONE, completed=False)
    r = halfway.run("list", "active", "--json")
    assert r.code == 0, r.err
    assert [(b["slug"], b["status"]) for b in r.json()] == [
        ("demo-xxxxx", "detached"),
        ("demo-zzzzz", "incomplete"),
    ]
    r = halfway.run("list", "active")
    assert "demo-zzzzz never finished starting: `bot-bottle cleanup` removes what it left" in r.out

    r = halfway.run("attach", "demo-zzzzz")
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        "bot-bottle: The bottle demo-zzzzz never finished starting (the bot-bottle that launched "
        "it is gone): `bot-bottle cleanup` removes what it left."
    ]

    r = halfway.run("cleanup", "--dry-run")
    assert r.code == 0, r.err
    offered = [line.strip() for line in r.out.splitlines() if line.startswith("  ")]
    # demo-yyyyy has no state here and no agent: a leftover as before.
    assert offered == [
        "[halfway] box box-demo-yyyyy",
        "[halfway] box box-demo-zzzzz",
        "[state] state dir demo-zzzzz",
    ]


def test_cleanup_leaves_a_launch_under_way_alone_before_the_backend_lists_it(halfway):
    launched(bottle_state(halfway, "demo-yyyyy", "halfway"), ALIVE, completed=False)
    r = halfway.run("cleanup", "--dry-run")
    assert r.code == 0, r.err
    assert r.out == "Nothing to clean up.\n"
    r = halfway.run("attach", "demo-yyyyy")
    assert r.code == 1
    assert "demo-yyyyy is still starting" in r.err and "Traceback" not in r.err
    r = halfway.run("cleanup", "--yes")
    assert (halfway.home / "state" / "demo-yyyyy").is_dir()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "No such file or directory"),
        ("ssh-ed25519 AAAAC3Nz... me@host\n", "is not a private key"),
    ],
    ids=["missing", "public-key"],
)
def test_a_repo_identity_that_cannot_be_used_is_refused_before_anything_exists(
    paper, content, fragment
):
    write_secret_config(paper)
    key = paper.home / "keys" / "deploy"
    if content is None:
        key.unlink()
    else:
        key.write_text(content)
    env = {"HOST_GH": "x", "HOST_CLAUDE": "x"}
    r = paper.run("start", "coder", "--dry-run", "--backend", "paper", env=env)
    assert r.code == 1 and "repo 'app'" in r.err and fragment in r.err, r.err
    assert "Traceback" not in r.err and paper.state_entries() == []
