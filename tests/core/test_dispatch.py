"""Targeted hooks reach one plugin; broadcast hooks reach every available one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot_bottle_core import hookimpl
from bot_bottle_core.dispatch import Plugins
from bot_bottle_core.errors import NotAvailableYet, PluginError
from bot_bottle_core.plan import (
    ActiveBottle,
    Availability,
    BackendPlan,
    CleanupItem,
    CleanupOutcome,
)
from bot_bottle_core.plugins import _Candidate


def backend(name: str, calls: list, *, available=True, active=(), boom=False):
    class Plugin:
        @hookimpl
        def is_available(self):
            return Availability.yes() if available else Availability.no(f"{name} is off")

        @hookimpl
        def prepare(self, request):
            calls.append((name, "prepare"))
            return BackendPlan(backend=name, runtime="runc", image=f"{name}-img")

        @hookimpl
        def enumerate_active(self):
            calls.append((name, "enumerate_active"))
            if boom:
                raise RuntimeError(f"{name} exploded")
            return [ActiveBottle(backend=name, slug=s, agent="a") for s in active]

        @hookimpl
        def prepare_cleanup(self, live_slugs):
            return [CleanupItem(backend=name, kind="container", name=f"{name}-left")]

        @hookimpl
        def cleanup(self, items, progress):
            calls.append((name, "cleanup", tuple(i.name for i in items)))
            return [CleanupOutcome(i, ok=True) for i in items]

    return _Candidate(name, "backend", f"fake-{name}", "1.0", Plugin)


def load(*cands) -> Plugins:
    return Plugins.load(environ={}, candidates=list(cands))


def test_targeted_call_reaches_only_the_named_backend():
    calls: list = []
    plugins = load(backend("one", calls), backend("two", calls))
    plan = plugins.backend("two").prepare(SimpleNamespace())
    assert plan.backend == "two"
    assert calls == [("two", "prepare")]


def test_targeted_call_to_unimplemented_hook_is_not_available_yet():
    plugins = load(backend("one", []))
    with pytest.raises(NotAvailableYet, match="backend 'one' cannot launch yet"):
        plugins.backend("one").launch(None, None, [], print)


def test_unknown_backend_names_the_installed_ones():
    plugins = load(backend("one", []), backend("two", []))
    with pytest.raises(PluginError, match=r"Unknown backend 'nope'. Installed backends: one, two"):
        plugins.backend("nope")


def test_broadcast_merges_skips_unavailable_and_survives_a_raising_backend():
    calls: list = []
    plugins = load(
        backend("one", calls, active=["a-11111"]),
        backend("two", calls, active=["a-22222"], available=False),
        backend("three", calls, boom=True),
        backend("four", calls, active=["a-44444", "a-44445"]),
    )
    found = plugins.enumerate_active()
    assert sorted(b.slug for b in found.results) == ["a-11111", "a-44444", "a-44445"]
    assert ("two", "enumerate_active") not in calls
    assert any("two: skipped, not available (two is off)" in p for p in found.problems)
    assert any("three" in p and "exploded" in p for p in found.problems)
    assert (found.skipped, found.failed) == (["two"], ["three"])


def test_cleanup_gives_each_backend_only_its_own_items():
    calls: list = []
    plugins = load(backend("one", calls), backend("two", calls))
    items = plugins.prepare_cleanup(frozenset()).results
    outcome = plugins.cleanup(items, progress=lambda _: None)
    assert all(o.ok for o in outcome.results)
    assert ("one", "cleanup", ("one-left",)) in calls
    assert ("two", "cleanup", ("two-left",)) in calls


def test_broadcast_with_no_implementing_backend_is_not_available_yet():
    plugins = load()
    with pytest.raises(NotAvailableYet):
        plugins.enumerate_active()


def test_plugin_crash_in_a_hook_becomes_a_plugin_error():
    class Plugin:
        @hookimpl
        def prepare(self, request):
            raise KeyError("oops")

    plugins = load(_Candidate("bad", "backend", "bad-dist", "0.1", Plugin))
    with pytest.raises(
        PluginError, match=r"backend plugin 'bad' \(bad-dist 0.1\) failed in prepare"
    ):
        plugins.backend("bad").prepare(None)
