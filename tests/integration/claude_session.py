"""Driving the real claude CLI in a bottle against the scripted model: the script, what the
model received, and ``bot-bottle`` on a real terminal (the claude tests share these)."""

from __future__ import annotations

import json
import os
import sys

from terminal import Terminal


def script(upstream, *turns: dict) -> None:
    """Add turns to the scripted model's script (see fake_upstream/fake_anthropic.py)."""
    path = upstream.log.parent / "anthropic-script.json"
    old = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(old + list(turns)))
    path.chmod(0o644)


def messages(upstream, needle: str) -> list[dict]:
    """The conversation's requests (not claude's side requests) holding ``needle``."""
    rows = map(json.loads, upstream.log.read_text().splitlines())
    return [
        r
        for r in rows
        if r["path"].startswith("/v1/messages")
        and needle in r["body"]
        and json.loads(r["body"]).get("tools")
    ]


def tool_results(upstream) -> list[str]:
    """The text of every tool result the model received, in order, each once."""
    seen: list[str] = []
    for line in upstream.log.read_text().splitlines():
        row = json.loads(line)
        if not row["path"].startswith("/v1/messages") or "tool_result" not in row["body"]:
            continue
        for message in json.loads(row["body"]).get("messages", []):
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if block.get("type") != "tool_result":
                    continue
                inner = block.get("content")
                parts = inner if isinstance(inner, list) else [{"text": str(inner)}]
                text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
                if text not in seen:
                    seen.append(text)
    return seen


def result_with(upstream, needle: str) -> str:
    found = [t for t in tool_results(upstream) if needle in t]
    assert found, f"no tool result holds {needle!r}: {tool_results(upstream)}"
    return found[0]


def cli_terminal(env, *args: str) -> Terminal:
    """``bot-bottle ARGS`` on a real pseudo-terminal, as a user types it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BOT_BOTTLE_")}
    environ.update(env.env, TERM="xterm-256color")
    argv = [sys.executable, "-m", "bot_bottle_core", *args]
    return Terminal(argv, environ, env.home)


def say(term: Terminal, text: str) -> None:
    """Type a prompt into claude's input box and send it."""
    os.write(term.fd, text.encode())
    term.expect(text[-12:], timeout=30)  # echoed into the input box
    os.write(term.fd, b"\r")


def exit_claude(term: Terminal) -> None:
    """Leave claude the way a user does; the attach ends with 0."""
    os.write(term.fd, b"/exit")
    term.expect("/exit", timeout=30)
    os.write(term.fd, b"\r")
    assert term.wait() == 0, term.tail()
