"""The core enforces the boundary self-check whatever the backend: kept, and fatal when breached."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from bot_bottle_sidecars.boundary import ProbeResult

from bot_bottle_core import boundary, hookimpl
from bot_bottle_core.dispatch import Plugins
from bot_bottle_core.errors import NotAvailableYet, PluginError
from bot_bottle_core.plan import BoundaryReport
from bot_bottle_core.plugins import _Candidate

HELD = ProbeResult("tcp", "outbound gateway 10.0.0.1:22", True, "Network is unreachable")
THROUGH = ProbeResult("tcp", "outbound gateway 10.0.0.1:443", False, "connected")


def backend(calls: list, *, check=None, implements_check=True):
    class Plugin:
        @hookimpl
        def stop(self, slug, preserve, progress):
            calls.append(("stop", slug, preserve))

    if implements_check:

        def check_boundary(self, slug):
            calls.append(("check", slug))
            if isinstance(check, Exception):
                raise check
            return check

        Plugin.check_boundary = hookimpl(check_boundary)
    plugins = Plugins.load(
        environ={}, candidates=[_Candidate("fake", "backend", "fake-backend", "1.0", Plugin)]
    )
    return plugins.backend("fake")


def request(tmp_path, mode="fresh"):
    return SimpleNamespace(slug="coder-abcde", state_dir=tmp_path, mode=mode)


def test_a_report_from_the_launch_is_kept_and_nothing_more_is_asked(tmp_path):
    calls: list = []
    report = BoundaryReport("coder-abcde", (HELD,))
    said: list[str] = []
    assert boundary.enforce(backend(calls), request(tmp_path), report, said.append) == report
    assert calls == []
    kept = json.loads((tmp_path / boundary.REPORT).read_text())
    assert kept["results"][0]["detail"] == "Network is unreachable"
    assert boundary.read(tmp_path) == report
    assert said == ["boundary proven: 1 probes held"]


def test_without_a_report_from_the_launch_the_core_asks_for_the_check(tmp_path):
    calls: list = []
    report = BoundaryReport("coder-abcde", (HELD,))
    boundary.enforce(backend(calls, check=report), request(tmp_path), None, print)
    assert calls == [("check", "coder-abcde")]


@pytest.mark.parametrize("mode,kept", [("fresh", False), ("resume", True)])
def test_a_probe_that_got_through_tears_the_bottle_down(tmp_path, mode, kept):
    calls: list = []
    report = BoundaryReport("coder-abcde", (HELD, THROUGH))
    with pytest.raises(boundary.BoundaryBreached) as caught:
        boundary.enforce(backend(calls), request(tmp_path, mode), report, print)
    assert calls == [("stop", "coder-abcde", kept)]
    message = str(caught.value)
    assert "1 of 2 probes got through" in message
    assert "GOT THROUGH  outbound gateway 10.0.0.1:443: connected" in message
    assert "10.0.0.1:22" not in message  # only what got through is listed
    assert ("bot-bottle resume coder-abcde" in message) is kept


def test_a_check_that_cannot_run_also_tears_the_bottle_down(tmp_path):
    calls: list = []
    with pytest.raises(PluginError, match="failed in check_boundary: RuntimeError: no probe"):
        boundary.enforce(
            backend(calls, check=RuntimeError("no probe")), request(tmp_path), None, print
        )
    assert calls[-1] == ("stop", "coder-abcde", False)


def test_a_backend_that_cannot_check_never_hands_a_bottle_over(tmp_path):
    calls: list = []
    with pytest.raises(NotAvailableYet, match="cannot check_boundary"):
        boundary.enforce(backend(calls, implements_check=False), request(tmp_path), None, print)
    assert calls == [("stop", "coder-abcde", False)]


def test_an_unreadable_report_reads_as_none(tmp_path):
    (tmp_path / boundary.REPORT).write_text("{not json")
    assert boundary.read(tmp_path) is None
    (tmp_path / boundary.REPORT).write_text('{"slug": 3}')
    assert boundary.read(tmp_path) is None
