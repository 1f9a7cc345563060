from __future__ import annotations

import subprocess
from pathlib import Path

from bot_bottle_codex import plugin

from bot_bottle_core.config import Agent


def agent(**kw) -> Agent:
    return Agent(name="cx", source=Path("cx.md"), bottle="web", provider="codex", **kw)


def test_fresh_argv_bypasses_approvals():
    assert plugin.agent_argv(agent(), "fresh") == ["codex", plugin.BYPASS]


def test_resume_uses_last_session_only_when_one_exists(tmp_path):
    argv = plugin.agent_argv(agent(), "resume")
    script = (
        argv[2].replace(plugin.SESSIONS, str(tmp_path / "s")).replace("exec codex", "echo codex")
    )
    run = lambda: subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout  # noqa: E731
    assert run().strip() == f"codex {plugin.BYPASS}"
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "2026").mkdir()
    assert run().strip() == f"codex resume --last {plugin.BYPASS}"


def test_forwarded_credential_is_injected_not_exposed():
    auth = plugin.provision_auth(agent(auth_token="OPENAI_TOKEN"))
    (route,) = auth.routes
    assert route.host == "api.openai.com" and route.auth.token_ref == "OPENAI_TOKEN"
    assert all(e.hidden for e in auth.env)
