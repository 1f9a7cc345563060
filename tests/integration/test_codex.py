"""The real Codex CLI in a real bottle; the only fake is the model.

The codex provider's image (the real CLI from npm) is launched through the core
like any bottle; the agent command runs in it as `bot-bottle start` runs it, in a
pseudo-terminal, or as `codex exec`. Codex must reach its main screen without one
question (trust, login, onboarding, full-access warning), and the API key egress
injects is nowhere in the bottle.

The model is scripted (``fake_upstream/fake_openai.py``), served by the fake
internet under ``api.openai.com``: codex talks to its real host name through
egress, first over the Responses WebSocket and, when that is refused, over HTTPS
streaming; the fake logs which transport carried each request.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

import pytest
from codex_shell import shell
from fake_internet import BottleEnv, launched_bottle, requests_with, slug_from
from terminal import Terminal, screen_text

pytestmark = pytest.mark.docker

KEY_VAR = "BB_TEST_OPENAI_KEY"
KEY = "sk-proj-" + uuid.uuid4().hex
AGENT = f"""---
bottle: sec
provider: codex
label: bob
color: blue
auth_token: {KEY_VAR}
skills: [release-notes]
---
You are a careful engineer.
"""
SKILL_DESCRIPTION = "Write release notes from merged changes " + uuid.uuid4().hex


def write_skill(home) -> None:
    skill = home / "skills" / "release-notes"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        f"---\nname: release-notes\ndescription: {SKILL_DESCRIPTION}\n---\nGroup by area.\n"
    )


HOME = "/home/agent"
# What codex shows when something is not pre-seeded, whitespace taken out.
QUESTIONS = (
    "Doyoutrust",  # the workspace
    "SigninwithChatGPT",  # login
    "Provideyourownapikey",
    "WelcometoCodex",  # onboarding
    "fullaccess",  # the full-access warning
    "Updateavailable",
)


@pytest.fixture(scope="module")
def codex(upstream, base_image, docker_client, tmp_path_factory):
    """One running codex bottle for the module (agent 'cx', bottle 'sec')."""
    env = BottleEnv(tmp_path_factory.mktemp("codex-home"), upstream, base_image)
    (env.home / "agents" / "cx.md").write_text(AGENT)
    write_skill(env.home)
    env.env[KEY_VAR] = KEY
    with launched_bottle(env, docker_client, agent="cx") as bottle:
        yield bottle


def script(upstream, *turns: dict) -> None:
    """Add turns to the scripted model's script (see fake_upstream/fake_openai.py)."""
    path = upstream.log.parent / "openai-script.json"
    old = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(old + list(turns)))
    path.chmod(0o644)


def asked(upstream, needle: str) -> list[dict]:
    """Requests to the Responses API (HTTPS bodies, WebSocket messages) holding ``needle``."""
    rows = [r for r in requests_with(upstream, "/v1/responses") if needle in r["body"]]
    return [r for r in rows if r["headers"].get("host") == "api.openai.com"]


def argv(bottle, mode: str = "fresh") -> list[str]:
    return bottle.prepared.provider.agent_argv(bottle.prepared.request.agent, mode)


def codex_exec(bottle, prompt: str) -> str:
    """``codex exec`` with the provider's flags (``exec`` runs no background server anyway)."""
    codex, *flags = argv(bottle)
    flags.remove("--no-daemon")
    command = [codex, "exec", *flags, "--skip-git-repo-check", prompt]
    result = bottle.agent.exec_run(command, workdir="/workspace")
    return result.output.decode(errors="replace")


def terminal(bottle, command: list[str]) -> Terminal:
    attach = bottle.prepared.backend.attach_argv(bottle.slug, command, tty=True)
    return Terminal(attach, dict(os.environ, TERM="xterm-256color"), "/")


def test_codex_exec_gets_the_scripted_reply_over_the_websocket(codex, upstream):
    m = uuid.uuid4().hex
    script(upstream, {"when": f"say {m}", "text": f"scripted reply {m}"})
    out = codex_exec(codex, f"say {m}")
    assert f"scripted reply {m}" in out, out[-3000:]
    (turn,) = asked(upstream, f"say {m}")
    assert turn["transport"] == "websocket"
    # The real key arrived as a bearer token, put there by egress on the upgrade.
    upgrades = [r for r in requests_with(upstream, "/v1/responses") if r["method"] == "GET"]
    assert upgrades and {r["headers"]["authorization"] for r in upgrades} == {f"Bearer {KEY}"}
    assert turn["headers"]["authorization"] == f"Bearer {KEY}"
    # The agent file's body went out as codex's user instructions (~/.codex/AGENTS.md),
    # and codex offered the model the agent's skill.
    assert "You are a careful engineer." in turn["body"]
    assert SKILL_DESCRIPTION in turn["body"]
    assert "bot-bottle-placeholder" not in upstream.log.read_text()


def test_when_the_websocket_is_refused_codex_falls_back_to_https(codex, upstream):
    m = uuid.uuid4().hex
    script(upstream, {"when": f"say {m}", "text": f"fallback reply {m}"})
    refuse = upstream.log.parent / "openai-no-websocket"
    refuse.touch()
    try:
        out = codex_exec(codex, f"say {m}")
    finally:
        refuse.unlink()
    assert f"fallback reply {m}" in out, out[-3000:]
    (turn,) = asked(upstream, f"say {m}")
    assert turn["transport"] == "https" and turn["method"] == "POST"
    assert json.loads(turn["body"])["stream"] is True
    assert turn["headers"]["authorization"] == f"Bearer {KEY}"
    refused = [r for r in requests_with(upstream, "/v1/responses") if r.get("refused")]
    assert refused, "codex never tried the websocket"


def test_a_scripted_tool_call_runs_in_the_bottle_and_meets_egress(codex, upstream):
    m = uuid.uuid4().hex
    command = (
        f"curl -s https://other.example.test/{m}-allowed; echo; "
        f"curl -s https://unrouted.example.test/{m}-refused"
    )
    # codex 0.171 runs shell commands through its `exec` tool (JavaScript).
    script(
        upstream,
        {"when": f"fetch {m}", "custom_tool_call": {"name": "exec", "input": shell(command)}},
        {"when": f"{m}-allowed", "text": f"done {m}"},
    )
    out = codex_exec(codex, f"fetch {m}")
    assert f"done {m}" in out, out[-3000:]
    follow_ups = [
        r for r in asked(upstream, f"{m}-allowed") if "custom_tool_call_output" in r["body"]
    ]
    assert follow_ups, "the tool's output never reached the model"
    body = follow_ups[-1]["body"]
    # The allowed request reached the fake internet (its echo is in the tool output) ...
    assert f'\\"path\\": \\"/{m}-allowed\\"' in body, body[-3000:]
    # ... and the refused one came back as egress's explanation.
    assert "request denied" in body and "unrouted.example.test" in body, body[-3000:]


def test_codex_starts_asking_nothing(codex):
    term = terminal(codex, argv(codex))
    try:
        # The main screen, with approvals and the sandbox bypassed.
        term.expect_drawn("Ask Codex to do anything", "YOLO mode", "for shortcuts", timeout=120)
        seen = screen_text(term.seen)
        for question in QUESTIONS:
            assert question not in seen, seen[-2000:]
        # Codex leaves the terminal title alone: it carries the bottle's label.
        assert b"\x1b]0;" not in term.seen and b"\x1b]2;" not in term.seen
        term.type("\x03")
        assert term.wait(60) == 0
    finally:
        term.close()


@pytest.fixture
def codex_env(upstream, base_image, tmp_path) -> BottleEnv:
    env = BottleEnv(tmp_path / "home", upstream, base_image)
    (env.home / "agents" / "cx.md").write_text(AGENT)
    write_skill(env.home)
    env.env[KEY_VAR] = KEY
    return env


def cli_terminal(bottle_env: BottleEnv, *args: str) -> Terminal:
    """``bot-bottle ARGS`` on a real pseudo-terminal, as a user types it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
    env.update(bottle_env.env, TERM="xterm-256color")
    return Terminal([sys.executable, "-m", "bot_bottle_core", *args], env, bottle_env.home)


def main_screen(term: Terminal) -> None:
    term.expect("\x1b]0;bob (cx)\x07", timeout=180)  # the title, as attach begins
    term.expect_drawn("Ask Codex to do anything", "YOLO mode", timeout=180)


def idle(term: Terminal, timeout: float = 120) -> None:
    """Until codex's last state signal (OSC 7501) says idle: typed while it is still
    loading (a resumed session), a prompt is drawn around its hints."""
    deadline = time.monotonic() + timeout
    while True:
        last = term.seen.rfind(b"7501;state=")
        if last >= 0 and term.seen.startswith(b"7501;state=idle", last):
            return
        term._read_into_pending(deadline, "codex to be idle")


def say(term: Terminal, prompt: str, reply: str) -> None:
    idle(term)
    term.type(prompt)
    term.expect_drawn(prompt, timeout=30)
    term.type("\r")
    term.expect(reply, timeout=120)
    term.expect("7501;state=done", timeout=60)  # codex's own end-of-turn signal


def crash(docker_client, slug: str) -> None:
    agent = docker_client.containers.get(f"bb-{slug}-agent")
    result = agent.exec_run(["pkill", "-KILL", "-x", "codex"])  # as its user: root has no CAP_KILL
    assert result.exit_code == 0, result.output


def test_start_crash_and_resume_continue_the_last_session(codex_env, docker_client, upstream):
    """Through `bot-bottle start` and `resume`: the session codex kept (rollouts and
    its SQLite index, snapshotted when it died, restored into the new bottle) is the
    one `resume --last` continues, so the model receives the earlier turns."""
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    reply1, reply2 = uuid.uuid4().hex, uuid.uuid4().hex  # the screen shows the prompts too
    script(
        upstream,
        {"when": f"say {first}", "text": f"reply {reply1}"},
        {"when": f"say {second}", "text": f"reply {reply2}"},
    )
    term = cli_terminal(codex_env, "start", "cx", "--yes")
    slug = None
    try:
        slug = slug_from(term.expect("plan for ", timeout=60) + term.expect("\n", timeout=10))
        main_screen(term)
        say(term, f"say {first}", reply1)
        crash(docker_client, slug)
        assert term.wait() == 137, term.tail()
    finally:
        term.close()
    term = cli_terminal(codex_env, "resume", slug, "--yes")
    try:
        main_screen(term)
        say(term, f"say {second}", reply2)
        term.type("\x03")  # Ctrl-C on an idle composer quits
        assert term.wait() == 0, term.tail()
    finally:
        term.close()
        if docker_client.containers.list(filters={"label": f"bot-bottle.slug={slug}"}):
            codex_env.run("stop", slug)
    turns = asked(upstream, f"say {second}")
    assert any(reply1 in t["body"] for t in turns), turns[-1]["body"][-3000:]
    assert not (codex_env.home / "state" / slug).exists()  # exit 0: nothing kept


def test_resume_without_a_session_starts_a_fresh_one(codex_env, docker_client):
    term = cli_terminal(codex_env, "start", "cx", "--yes")
    slug = None
    try:
        slug = slug_from(term.expect("plan for ", timeout=60) + term.expect("\n", timeout=10))
        main_screen(term)
        crash(docker_client, slug)  # before anything was said: no session to resume
        assert term.wait() == 137, term.tail()
    finally:
        term.close()
    term = cli_terminal(codex_env, "resume", slug, "--yes")
    try:
        main_screen(term)
        term.type("\x03")
        assert term.wait() == 0, term.tail()
    finally:
        term.close()
        if docker_client.containers.list(filters={"label": f"bot-bottle.slug={slug}"}):
            codex_env.run("stop", slug)


def test_the_key_is_nowhere_in_the_bottle(codex):
    """After the sessions above: not in the environment, a file, or a command line."""
    probes = ("env", f"grep -rl {KEY} /home /workspace /tmp /etc", "cat /proc/[0-9]*/cmdline")
    for probe in probes:
        result = codex.agent.exec_run(["sh", "-c", probe], user="0")
        assert KEY not in result.output.decode(errors="replace"), probe
    env_out = codex.agent.exec_run(["env"]).output.decode()
    assert "OPENAI_API_KEY=bot-bottle-placeholder" in env_out
    auth = json.loads(codex.agent.exec_run(["cat", f"{HOME}/.codex/auth.json"]).output)
    assert auth["OPENAI_API_KEY"] == "bot-bottle-placeholder"


def test_supervise_is_registered_with_a_long_tool_timeout(codex):
    """The launch registered the bundle's supervise server, as codex reads it back."""
    url = codex.prepared.plan.supervise_url
    assert url
    out = codex.agent.exec_run(["codex", "mcp", "get", "supervise", "--json"]).output.decode()
    server = json.loads(out)
    assert server["transport"]["type"] == "streamable_http", server
    assert server["transport"]["url"] == url, server
    assert server["tool_timeout_sec"] == 3600, server
