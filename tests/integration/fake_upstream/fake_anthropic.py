"""A scripted stand-in for the Anthropic Messages API (the only fake in the agent tests).

Served by the fake internet under ``api.anthropic.com``. A test writes the script,
``/log/anthropic-script.json``: a list of turns, each ``{"when": TEXT, "text": ...}``
or ``{"when": TEXT, "tool_use": {"name": ..., "input": {...}}}``. A request to
``/v1/messages`` whose body holds ``when`` (the user's prompt, or a tool result
the previous turn asked for) gets that turn, once. Only the conversation's own
requests (those offering tools) are scripted: claude's side requests (naming the
session, quota checks) quote the user's prompt too, and get a plain "ok".
Streamed requests get the event stream the real API sends.
"""

from __future__ import annotations

import json
import threading

SCRIPT = "/log/anthropic-script.json"
_used: set[int] = set()
_lock = threading.Lock()


def is_messages(host: str, method: str, path: str) -> bool:
    return (
        host.split(":")[0] == "api.anthropic.com"
        and method == "POST"
        and (path.split("?")[0] == "/v1/messages")
    )


def _turn(body: str) -> dict:
    if not json.loads(body or "{}").get("tools"):
        return {"text": "ok"}
    try:
        with open(SCRIPT) as f:
            script = json.load(f)
    except (OSError, ValueError):
        script = []
    with _lock:
        for i, turn in enumerate(script):
            if i not in _used and turn["when"] in body:
                _used.add(i)
                return turn
    return {"text": "ok"}


def _blocks(turn: dict) -> list[dict]:
    if "tool_use" in turn:
        use = turn["tool_use"]
        return [
            {
                "type": "tool_use",
                "id": f"toolu_{abs(hash(json.dumps(use))) % 10**8}",
                "name": use["name"],
                "input": use["input"],
            }
        ]
    return [{"type": "text", "text": turn["text"]}]


def answer(body: str) -> tuple[str, bytes]:
    """(content type, body) for one request to the Messages API."""
    request = json.loads(body or "{}")
    turn = _turn(body)
    blocks = _blocks(turn)
    stop = "tool_use" if "tool_use" in turn else "end_turn"
    model = request.get("model", "claude-fake")
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    if not request.get("stream"):
        full = dict(message, content=blocks, stop_reason=stop)
        return "application/json", json.dumps(full).encode()
    events = [("message_start", {"type": "message_start", "message": dict(message, content=[])})]
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            start, delta = dict(block, text=""), {"type": "text_delta", "text": block["text"]}
        else:
            start = dict(block, input={})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events += [
            (
                "content_block_start",
                {"type": "content_block_start", "index": i, "content_block": start},
            ),
            ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": i}),
        ]
    events += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 1},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    out = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return "text/event-stream", out.encode()
