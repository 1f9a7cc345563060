"""enumerate_active, prepare_cleanup and cleanup against the fake container CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from bot_bottle_macos_container import names, plugin
from bot_bottle_testing.fake_container import set_container_state

from bot_bottle_core.dispatch import Plugins
from bot_bottle_core.plan import ActiveBottle, CleanupItem

HOME = "home-aaaaaaaa"
OTHER_HOME = "home-bbbbbbbb"


@pytest.fixture
def make(container):
    """Create a container of this backend (``running`` or not) with its labels."""

    def make(slug: str, role: str, *, running: bool = True, home: str | None = HOME, **kw) -> str:
        name = f"bb-{slug}-{role}"
        labels = names.labels(slug, "demo", role, home=home, **kw)
        flags = [a for k, v in labels.items() for a in ("--label", f"{k}={v}")]
        verb = ["run", "-d"] if running else ["create"]
        r = container(*verb, "--name", name, *flags, "agent-image:1")
        assert r.returncode == 0, r.stderr
        return name

    return make


def listed(container) -> set[str]:
    return set(container("list", "--all", "--quiet").stdout.split())


def test_enumerate_active_lists_running_bottles_with_an_agent(make, container):
    make("alpha-1", names.ROLE_AGENT, label="bob")
    make("alpha-1", names.ROLE_SIDECARS)
    make("beta-2", names.ROLE_AGENT, running=False)  # stopped: not active
    make("gamma-3", names.ROLE_SIDECARS)  # no agent: not a bottle
    docker_labels = ["bot-bottle.slug=d-4", "bot-bottle.backend=docker", "bot-bottle.role=agent"]
    container("run", "-d", "--name", "theirs", *(f"--label={x}" for x in docker_labels), "img")
    container("run", "-d", "--name", "unlabelled", "img")
    [bottle] = plugin.enumerate_active()
    assert bottle == ActiveBottle(
        backend="macos-container",
        slug="alpha-1",
        agent="demo",
        label="bob",
        services=("sidecars",),
        started_at=bottle.started_at,
    )
    assert bottle.started_at  # the container's startedDate when no label says it


def test_prepare_cleanup_offers_only_dead_bottles_of_this_home(make, container):
    make("live-1", names.ROLE_AGENT)
    make("live-1", names.ROLE_SIDECARS)
    dead_agent = make("dead-2", names.ROLE_AGENT, running=False)
    dead_sidecars = make("dead-2", names.ROLE_SIDECARS)
    make("other-3", names.ROLE_AGENT, home=OTHER_HOME)  # another home's start under way
    no_home = make("old-4", names.ROLE_AGENT, home=None)  # made before homes were labelled
    container("create", "--name", "theirs", "--label", "bot-bottle.backend=docker", "img")
    container("create", "--name", "unlabelled", "img")

    items = plugin.prepare_cleanup(live_slugs=frozenset({"live-1"}), home_id=HOME)
    assert {(i.name, i.slug) for i in items} == {
        (dead_agent, "dead-2"),
        (dead_sidecars, "dead-2"),
        (no_home, "old-4"),
    }
    assert all(i.backend == "macos-container" and i.kind == "container" for i in items)
    # Offering removed nothing.
    assert len(listed(container)) == 8

    every_home = plugin.prepare_cleanup(live_slugs=frozenset({"live-1"}), home_id=None)
    assert {i.slug for i in every_home} == {"dead-2", "old-4", "other-3"}


def test_a_live_slug_is_never_offered_even_to_every_home(make):
    make("live-1", names.ROLE_AGENT, running=False)  # stopped, but its bottle is live
    assert plugin.prepare_cleanup(live_slugs=frozenset({"live-1"}), home_id=None) == []


def test_cleanup_removes_what_was_offered(make, container):
    keep = make("live-1", names.ROLE_AGENT)
    make("dead-2", names.ROLE_AGENT)
    make("dead-2", names.ROLE_SIDECARS, running=False)
    items = plugin.prepare_cleanup(live_slugs=frozenset({"live-1"}), home_id=HOME)
    said: list[str] = []
    outcomes = plugin.cleanup(items=items, progress=said.append)
    assert [o.ok for o in outcomes] == [True, True]
    assert listed(container) == {keep}
    assert said == [f"removing container {i.name}" for i in items]


def test_a_container_gone_between_prepare_and_cleanup_counts_as_removed(make, container):
    gone = make("dead-2", names.ROLE_AGENT)
    other = make("dead-2", names.ROLE_SIDECARS)
    items = plugin.prepare_cleanup(live_slugs=frozenset(), home_id=HOME)
    assert container("delete", "--force", gone).returncode == 0  # someone else's stop
    outcomes = plugin.cleanup(items=items, progress=lambda _: None)
    assert {o.item.name: (o.ok, o.error) for o in outcomes} == {
        gone: (True, None),
        other: (True, None),
    }
    assert listed(container) == set()


def test_one_failure_is_reported_and_the_others_still_go(make, container, fake_state: Path):
    first = make("dead-1", names.ROLE_AGENT)
    stuck = make("dead-2", names.ROLE_AGENT)
    last = make("dead-3", names.ROLE_AGENT)
    set_container_state(fake_state, stuck, "stopping")  # the service refuses to delete it
    items = plugin.prepare_cleanup(live_slugs=frozenset(), home_id=HOME)
    outcomes = {o.item.name: o for o in plugin.cleanup(items=items, progress=lambda _: None)}
    assert outcomes[first].ok and outcomes[last].ok
    assert not outcomes[stuck].ok
    assert f"container {stuck} is stopping and can not be deleted" in outcomes[stuck].error
    assert listed(container) == {stuck}


def test_an_item_of_a_kind_this_backend_never_makes_is_refused(fake_state: Path):
    item = CleanupItem("macos-container", "volume", "bb-x-workspace", "x")
    [outcome] = plugin.cleanup(items=[item], progress=lambda _: None)
    assert not outcome.ok and "does not make volumes" in outcome.error


def test_the_core_s_broadcast_reaches_it_on_macos(on_macos, make, container):
    make("dead-2", names.ROLE_AGENT)
    plugins = Plugins.load(environ={"BOT_BOTTLE_PLUGINS": "macos-container"})
    offered = plugins.prepare_cleanup(frozenset(), home_id=HOME)
    assert offered.answered == ["macos-container"] and offered.problems == []
    done = plugins.cleanup(offered.results, progress=lambda _: None)
    assert [o.ok for o in done.results] == [True]
    assert listed(container) == set()


def test_the_core_s_broadcast_skips_it_off_macos(make):
    make("dead-2", names.ROLE_AGENT)
    plugins = Plugins.load(environ={"BOT_BOTTLE_PLUGINS": "macos-container"})
    offered = plugins.prepare_cleanup(frozenset(), home_id=HOME)
    assert offered.results == [] and offered.skipped == ["macos-container"]
    assert "runs on macOS only" in offered.problems[0]


def test_a_container_in_an_unknown_state_may_run_and_is_never_a_leftover(
    make, container, fake_state: Path
):
    agent = make("odd-1", names.ROLE_AGENT)
    set_container_state(fake_state, agent, "unknown")  # the service lost track of it
    assert [b.slug for b in plugin.enumerate_active()] == ["odd-1"]
