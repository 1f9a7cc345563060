"""The real Claude Code CLI in a real bottle: its first start asks nothing.

The claude provider's image (the real CLI from npm) is launched through the
core like any bottle; then the agent command is attached in a pseudo-terminal,
as `bot-bottle start` does. Claude must reach its main screen, with the
bottle's label in its status line, without one question on the way (no
onboarding, no trust dialog, no bypass-permissions warning, no "use this API
key?"). The API key egress injects is nowhere in the bottle.

No model answers here (the Anthropic API host is routed, and egress finds no
such name on the fake internet): the scripted model comes with the provider
tests that talk to it.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
from fake_internet import BottleEnv, launched_bottle
from terminal import Terminal

pytestmark = pytest.mark.docker

KEY_VAR = "BB_TEST_ANTHROPIC_KEY"
KEY = "sk-ant-api03-" + uuid.uuid4().hex
AGENT = """---
bottle: sec
provider: claude
label: bob
color: blue
auth_token: BB_TEST_ANTHROPIC_KEY
---
You are a careful engineer.
"""
# What claude asks when something is not pre-seeded, with the spaces its
# screen drawing turns into cursor moves taken out.
QUESTIONS = (
    "Doyouwanttousethis",  # the API key
    "Doyoutrust",  # the workspace
    "Yes,Iaccept",  # bypass permissions
    "Choosethetextstyle",  # onboarding: theme
    "Selectloginmethod",
    "Pressentertocontinue",
)
ESCAPES = re.compile(
    rb"\x1b(\[[0-9;?>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-B]|[78=>])"
)


def screen_text(raw: bytes) -> str:
    return re.sub(r"\s+", "", ESCAPES.sub(b"", raw).decode(errors="replace"))


@pytest.fixture
def claude_env(upstream, base_image, tmp_path) -> BottleEnv:
    env = BottleEnv(tmp_path / "home", upstream, base_image)
    (env.home / "agents" / "coder.md").write_text(AGENT)
    env.env[KEY_VAR] = KEY
    return env


def test_claude_starts_asking_nothing_with_its_label_in_the_status_line(claude_env, docker_client):
    with launched_bottle(claude_env, docker_client, agent="coder") as bottle:
        argv = bottle.prepared.provider.agent_argv(bottle.prepared.request.agent, "fresh")
        attach = bottle.prepared.backend.attach_argv(bottle.slug, argv, tty=True)
        env = dict(os.environ, TERM="xterm-256color")
        term = Terminal(attach, env, claude_env.home)
        try:
            term.expect("bob (coder)", timeout=120)
            seen = screen_text(term.seen + term._pending)
            assert "bypasspermissionson" in seen, seen[-2000:]
            for question in QUESTIONS:
                assert question not in seen, seen[-2000:]
        finally:
            term.close()
        # The key egress injects never entered the bottle: not its environment,
        # not a file claude wrote, not a process's command line.
        probes = ("env", f"grep -rl {KEY} /home /workspace /tmp /etc", "cat /proc/[0-9]*/cmdline")
        for probe in probes:
            result = bottle.agent.exec_run(["sh", "-c", probe], user="0")
            assert KEY not in result.output.decode(errors="replace"), probe
        env_out = bottle.agent.exec_run(["env"]).output.decode()
        assert "ANTHROPIC_API_KEY=bot-bottle-placeholder" in env_out
