"""The two mitmproxy patches egress relies on to answer denied uploads and
upstream failures with its own pages (``egress/patches.py``).

They reach into mitmproxy's internals: these tests fail when the pinned version
changes or a patch no longer applies, so an upgrade re-checks them. What they
achieve is tested through the real proxy (``test_egress_proxy.py``: a denied
3 MB upload gets the 403; ``test_egress_upstream.py``: failure pages).
"""

from __future__ import annotations

import pytest
from bot_bottle_sidecars.egress import patches, tuning

mitmproxy_version = pytest.importorskip("mitmproxy.version")


def test_both_patches_apply_to_the_pinned_mitmproxy():
    assert mitmproxy_version.VERSION == tuning.MITMPROXY_VERSION
    assert patches.apply() == {"answer_before_body": None, "error_responses": None}
    assert patches.active()
    assert patches.apply() == {"answer_before_body": None, "error_responses": None}  # idempotent


def test_another_mitmproxy_version_is_left_unpatched_and_said_so(monkeypatch, capsys):
    monkeypatch.setattr(mitmproxy_version, "VERSION", "99.0.0")
    assert patches.answer_before_body() == f"mitmproxy 99.0.0 is not {tuning.MITMPROXY_VERSION}"
    assert patches.error_responses() is not None
