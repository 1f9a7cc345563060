"""docs/dashboard.svg is the main screen as the dashboard draws it today.

Two proposals (one asked by two bottles), three agents. The test draws it again
and fails when the committed picture is stale; UPDATE_DASHBOARD_SCREENSHOT=1
rewrites it.
"""

from __future__ import annotations

import os
from pathlib import Path

SVG = Path(__file__).resolve().parents[3] / "docs" / "dashboard.svg"


def test_the_committed_screenshot_is_current(fleet, dash):
    fleet.bottle("coder-k3x9p", agent="coder", label="cody", started="2025-06-01T08:02:11+00:00")
    fleet.bottle("coder-p2m7q", agent="coder", started="2025-06-01T08:40:52+00:00")
    fleet.bottle("reviewer-x8d4w", agent="reviewer", label="rita", services=("agent",))
    fleet.deny("coder-k3x9p", "pypi.org", "/simple/requests/", when="2025-06-01T08:58:03Z")
    fleet.deny("coder-p2m7q", "pypi.org", "/simple/flask/", when="2025-06-01T08:59:40Z")
    pypi = {"host": "pypi.org", "path_allowlist": ["/simple", "/packages"]}
    fleet.ask("coder-k3x9p", pypi, "pip install requests for the HTTP client", "2025-06-01T08:58Z")
    fleet.ask("coder-p2m7q", pypi, "pip install flask to run the app's tests", "2025-06-01T08:59Z")
    fleet.ask(
        "reviewer-x8d4w",
        {"host": "api.github.com", "path_allowlist": ["/repos/acme/app/pulls"]},
        "read the pull request I am asked to review",
        "2025-06-01T09:01:12Z",
    )
    shot: list[str] = []

    async def scenario(app, pilot):
        await pilot.pause()
        shot.append(app.export_screenshot(title="bot-bottle dashboard"))

    dash.run(scenario, size=(150, 24))
    if os.environ.get("UPDATE_DASHBOARD_SCREENSHOT"):
        SVG.parent.mkdir(exist_ok=True)
        SVG.write_text(shot[0])
    assert SVG.exists() and SVG.read_text() == shot[0], (
        f"{SVG} is stale: rerun this test with UPDATE_DASHBOARD_SCREENSHOT=1 and commit it"
    )
