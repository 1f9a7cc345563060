"""The real Claude Code CLI in a real bottle; the only fake is the model.

The claude provider's image (the real CLI from npm) is launched through the
core like any bottle; then the agent command is attached in a pseudo-terminal,
as `bot-bottle start` does. Claude must reach its main screen, with the
bottle's label in its status line, without one question on the way (no
onboarding, no trust dialog, no bypass-permissions warning, no "use this API
key?"). The API key egress injects is nowhere in the bottle.

The model is scripted (``fake_upstream/fake_anthropic.py``), served by the fake
internet under ``api.anthropic.com``: claude talks to its real host name through
egress, which injects the real key, and nothing leaves the machine.
"""

from __future__ import annotations

import os
import uuid

import pytest
from claude_session import cli_terminal, exit_claude, messages, say, script
from fake_internet import BottleEnv, launched_bottle, slug_from, wait_for
from terminal import Terminal, screen_text

pytestmark = pytest.mark.docker

KEY_VAR = "BB_TEST_ANTHROPIC_KEY"
KEY = "sk-ant-api03-" + uuid.uuid4().hex
AGENT = """---
bottle: sec
provider: claude
label: bob
color: blue
auth_token: BB_TEST_ANTHROPIC_KEY
skills: [release-notes]
---
You are a careful engineer.
"""
SKILL_DESCRIPTION = "Write release notes from merged changes " + uuid.uuid4().hex
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


@pytest.fixture
def claude_env(upstream, base_image, tmp_path) -> BottleEnv:
    env = BottleEnv(tmp_path / "home", upstream, base_image)
    (env.home / "agents" / "coder.md").write_text(AGENT)
    skill = env.home / "skills" / "release-notes"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        f"---\nname: release-notes\ndescription: {SKILL_DESCRIPTION}\n---\nGroup by area.\n"
    )
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


def claude_p(bottle, prompt: str) -> str:
    argv = bottle.prepared.provider.agent_argv(bottle.prepared.request.agent, "fresh")
    result = bottle.agent.exec_run([*argv, "-p", prompt], workdir="/workspace")
    return result.output.decode(errors="replace")


def test_claude_p_gets_the_scripted_reply_with_the_real_key_injected(
    claude_env, docker_client, upstream
):
    m = uuid.uuid4().hex
    script(upstream, {"when": f"say {m}", "text": f"scripted reply {m}"})
    with launched_bottle(claude_env, docker_client, agent="coder") as bottle:
        out = claude_p(bottle, f"say {m}")
        # Nor in any log: the bundle's output, the agent's, the bottle's state.
        logs = bottle.sidecars.logs() + bottle.agent.logs()
        state = [
            p.read_bytes() for p in bottle.prepared.request.state_dir.rglob("*") if p.is_file()
        ]
    assert KEY.encode() not in logs and not [b for b in state if KEY.encode() in b]
    assert f"scripted reply {m}" in out, out
    asked = messages(upstream, f"say {m}")
    assert asked, "the model was never asked"
    # The real key arrived, put there by egress; the placeholder never left the bottle.
    assert {r["headers"].get("x-api-key") for r in asked} == {KEY}
    # The agent file's body went out as part of the system prompt, and claude
    # offered the model the agent's skill.
    assert any("You are a careful engineer." in r["body"] for r in asked)
    assert any(SKILL_DESCRIPTION in r["body"] for r in asked)
    everything = upstream.log.read_text()
    assert "bot-bottle-placeholder" not in everything


def test_a_scripted_tool_call_runs_in_the_bottle_and_meets_egress(
    claude_env, docker_client, upstream
):
    m = uuid.uuid4().hex
    command = (
        f"curl -s https://other.example.test/{m}-allowed; echo; "
        f"curl -s https://unrouted.example.test/{m}-refused"
    )
    script(
        upstream,
        {"when": f"fetch {m}", "tool_use": {"name": "Bash", "input": {"command": command}}},
        {"when": f"{m}-allowed", "text": f"done {m}"},
    )
    with launched_bottle(claude_env, docker_client, agent="coder") as bottle:
        out = claude_p(bottle, f"fetch {m}")
    assert f"done {m}" in out, out
    (follow_up,) = [r for r in messages(upstream, f"{m}-allowed") if "tool_result" in r["body"]]
    body = follow_up["body"]
    # The allowed request reached the fake internet (its echo is in the tool result) ...
    assert f'\\"path\\": \\"/{m}-allowed\\"' in body, body[-3000:]
    # ... and the refused one came back as egress's explanation.
    assert "request denied" in body and "unrouted.example.test" in body, body[-3000:]


def kill_agent(docker_client, slug: str) -> None:
    """The agent dies (as in a crash): its attach ends with 137 and the bottle is kept."""
    agent = docker_client.containers.get(f"bb-{slug}-agent")
    result = agent.exec_run(["pkill", "-KILL", "-x", "claude"])  # as its user: root has no CAP_KILL
    assert result.exit_code == 0, result.output


def test_start_and_resume_in_a_terminal_continue_the_conversation(
    claude_env, docker_client, upstream
):
    """`bot-bottle start` in a real pty asks nothing before claude's main screen,
    shows the label in the title and the status line, and resets the terminal
    when claude dies; `resume` continues the same conversation (--continue), so
    the scripted model receives what was said before the crash."""
    m = uuid.uuid4().hex[:12]
    script(
        upstream,
        {"when": f"remember {m}", "text": f"noted {m}"},
        {"when": f"recall {m}", "text": f"recalled {m}"},
    )
    slug = None
    term = cli_terminal(claude_env, "start", "coder", "--yes")
    try:
        plan = term.expect("plan for ", timeout=60) + term.expect("\n", timeout=10)
        slug = slug_from(plan)
        term.expect("\x1b]0;bob (coder)\x07", timeout=180)  # the title, as attach begins
        term.expect("bob (coder)", timeout=180)  # claude's status line
        seen = screen_text(term.seen)
        for question in QUESTIONS:
            assert question not in seen, seen[-2000:]
        say(term, f"remember {m}")
        term.expect(f"noted {m}", timeout=120)
        # Claude writes its transcript after it shows the reply: crash once it holds it.
        agent = docker_client.containers.get(f"bb-{slug}-agent")
        wait_for(
            lambda: (
                agent.exec_run(
                    ["grep", "-rq", f"noted {m}", "/home/agent/.claude/projects"]
                ).exit_code
                == 0
            ),
            "the reply in claude's transcript",
        )
        kill_agent(docker_client, slug)
        assert term.wait() == 137, term.tail()
        after = term.seen.rsplit(f"noted {m}".encode(), 1)[1]
        assert after.index(b"\x1b]104\x07\x1b]111\x07") < after.index(b"bot-bottle resume")
    finally:
        term.close()
    assert not docker_client.containers.list(filters={"label": f"bot-bottle.slug={slug}"})
    # What was kept (the transcript snapshot, logs, egress decisions) holds no key.
    kept = [p for p in (claude_env.home / "state" / slug).rglob("*") if p.is_file()]
    assert any(p.name == "transcript.tar" for p in kept), kept
    assert not [p for p in kept if KEY.encode() in p.read_bytes()]
    term = cli_terminal(claude_env, "resume", slug, "--yes")
    try:
        term.expect("\x1b]0;bob (coder)\x07", timeout=180)
        term.expect("bob (coder)", timeout=180)
        say(term, f"recall {m}")
        term.expect(f"recalled {m}", timeout=120)
        exit_claude(term)
    finally:
        term.close()
        if docker_client.containers.list(filters={"label": f"bot-bottle.slug={slug}"}):
            claude_env.run("stop", slug)
    (recall,) = messages(upstream, f"recall {m}")
    # The earlier conversation, restored from the snapshot, went out with the new turn.
    assert f"remember {m}" in recall["body"] and f"noted {m}" in recall["body"]
    # Exit 0: the bottle and its state are gone.
    assert not (claude_env.home / "state" / slug).exists()


def test_resume_without_a_transcript_starts_a_fresh_session(claude_env, docker_client):
    slug = None
    term = cli_terminal(claude_env, "start", "coder", "--yes")
    try:
        plan = term.expect("plan for ", timeout=60) + term.expect("\n", timeout=10)
        slug = slug_from(plan)
        term.expect("\x1b]0;bob (coder)\x07", timeout=180)
        term.expect("bob (coder)", timeout=180)
        kill_agent(docker_client, slug)  # before anything was said: no transcript
        assert term.wait() == 137, term.tail()
    finally:
        term.close()
    term = cli_terminal(claude_env, "resume", slug, "--yes")
    try:
        term.expect("\x1b]0;bob (coder)\x07", timeout=180)
        term.expect("bob (coder)", timeout=180)
        assert "Noconversationfound" not in screen_text(term.seen)
        exit_claude(term)
    finally:
        term.close()
        if slug and docker_client.containers.list(filters={"label": f"bot-bottle.slug={slug}"}):
            claude_env.run("stop", slug)
