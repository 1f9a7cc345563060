"""A scripted stand-in for the OpenAI Responses API (the only fake in the codex tests).

Served by the fake internet under ``api.openai.com``, over both transports codex
speaks: ``POST /v1/responses`` (``stream: true``: server-sent events) and the
Responses WebSocket (``GET /v1/responses`` upgraded; each ``response.create``
message is answered with the same events, one JSON text frame each).

A test writes the script, ``/log/openai-script.json``: a list of turns, each
``{"when": TEXT, "text": ...}``, a function call ``{"when": TEXT, "tool_call":
{"name": ..., "arguments": {...}}}`` or a freeform one ``{"when": TEXT,
"custom_tool_call": {"name": ..., "input": "..."}}`` (codex 0.171 runs shell
commands through its ``exec`` tool: JavaScript calling ``tools.exec_command``).
A turn with ``"capture": REGEX`` fills every argument that is exactly ``"$1"`` with
the regex's first group as found in the request (say, the id of an ``exec`` cell
codex reported still running, for a ``wait`` call).
A request whose body holds ``when`` (the user's prompt, or a tool's output the
previous turn asked for) gets that turn, once; anything else codex asks gets a
plain "ok". While ``/log/openai-no-websocket`` exists, the
upgrade is refused as a server without WebSocket support would (HTTP 426), so a
test can watch codex fall back to HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import struct
import threading

SCRIPT = "/log/openai-script.json"
NO_WEBSOCKET = "/log/openai-no-websocket"
HOST = "api.openai.com"
PATH = "/v1/responses"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_used: set[int] = set()
_lock = threading.Lock()
_ids = itertools.count(1)


def is_responses(host: str, path: str) -> bool:
    return host.split(":")[0] == HOST and path.split("?")[0] == PATH


def websocket_refused() -> bool:
    return os.path.exists(NO_WEBSOCKET)


def _turn(body: str) -> dict:
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


def _filled(turn: dict, body: str) -> dict:
    """The turn with its ``"$1"`` arguments set from ``capture`` (see the module's doc)."""
    found = re.search(turn["capture"], body) if "capture" in turn else None
    if found is None or "tool_call" not in turn:
        return turn
    call = turn["tool_call"]
    args = {k: found.group(1) if v == "$1" else v for k, v in call["arguments"].items()}
    return dict(turn, tool_call=dict(call, arguments=args))


def _item(turn: dict, n: int) -> dict:
    if "custom_tool_call" in turn:
        call = turn["custom_tool_call"]
        return {
            "id": f"ctc_{n}",
            "type": "custom_tool_call",
            "status": "completed",
            "name": call["name"],
            "call_id": f"call_{n}",
            "input": call["input"],
        }
    if "tool_call" in turn:
        call = turn["tool_call"]
        return {
            "id": f"fc_{n}",
            "type": "function_call",
            "status": "completed",
            "name": call["name"],
            "call_id": f"call_{n}",
            "arguments": json.dumps(call["arguments"]),
        }
    text = {"type": "output_text", "text": turn["text"], "annotations": []}
    return {
        "id": f"msg_{n}",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [text],
    }


def events(body: str) -> list[dict]:
    """The events answering one request (its JSON body or WebSocket message), in order."""
    request = json.loads(body or "{}")
    n = next(_ids)
    response = {
        "id": f"resp_{n}",
        "object": "response",
        "status": "in_progress",
        "model": request.get("model", "gpt-fake"),
        "output": [],
    }
    out = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
    ]
    items: list[dict] = []
    # codex may warm a connection up with a request that must generate nothing.
    if request.get("generate") is not False:
        item = _item(_filled(_turn(body), body), n)
        items.append(item)
        out += _item_events(item)
    usage = {
        "input_tokens": 1,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2,
    }
    done = dict(response, status="completed", output=items, usage=usage)
    out.append({"type": "response.completed", "response": done})
    for seq, event in enumerate(out):
        event["sequence_number"] = seq
    return out


def _item_events(item: dict) -> list[dict]:
    at = {"item_id": item["id"], "output_index": 0}
    if item["type"] == "function_call":
        started = dict(item, status="in_progress", arguments="")
        args = item["arguments"]
        middle = [
            {"type": "response.function_call_arguments.delta", **at, "delta": args},
            {"type": "response.function_call_arguments.done", **at, "arguments": args},
        ]
    elif item["type"] == "custom_tool_call":
        started = dict(item, status="in_progress", input="")
        source = item["input"]
        middle = [
            {"type": "response.custom_tool_call_input.delta", **at, "delta": source},
            {"type": "response.custom_tool_call_input.done", **at, "input": source},
        ]
    else:
        started = dict(item, status="in_progress", content=[])
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": []}
        at_part = dict(at, content_index=0)
        middle = [
            {"type": "response.content_part.added", **at_part, "part": part},
            {"type": "response.output_text.delta", **at_part, "delta": text},
            {"type": "response.output_text.done", **at_part, "text": text},
            {"type": "response.content_part.done", **at_part, "part": dict(part, text=text)},
        ]
    return [
        {"type": "response.output_item.added", "output_index": 0, "item": started},
        *middle,
        {"type": "response.output_item.done", "output_index": 0, "item": item},
    ]


def sse(body: str) -> bytes:
    """The event stream answering ``POST /v1/responses``."""
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events(body)).encode()


# ---------------------------------------------------------------- WebSocket (RFC 6455)


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def read_message(rfile) -> tuple[int, bytes] | None:
    """One whole message from the client (fragments joined): (opcode, payload); None at EOF."""
    opcode, payload = None, b""
    while True:
        head = rfile.read(2)
        if len(head) < 2:
            return None
        fin, op = head[0] & 0x80, head[0] & 0x0F
        masked, n = head[1] & 0x80, head[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", rfile.read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", rfile.read(8))[0]
        mask = rfile.read(4) if masked else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(rfile.read(n)))
        if op >= 0x8:  # control frames may come between fragments
            return op, data
        opcode = op if op else opcode
        payload += data
        if fin:
            return opcode, payload


def frame(opcode: int, payload: bytes) -> bytes:
    """A server frame: final, unmasked."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def serve_websocket(rfile, wfile, log) -> None:
    """Answer every ``response.create`` message until the client closes.

    ``log(body)`` records each request message, as the HTTPS path records its body.
    """
    while (message := read_message(rfile)) is not None:
        opcode, payload = message
        if opcode == 0x8:
            wfile.write(frame(0x8, payload[:2]))
            wfile.flush()
            return
        if opcode == 0x9:
            wfile.write(frame(0xA, payload))
        elif opcode == 0x1:
            text = payload.decode()
            log(text)
            if json.loads(text).get("type") == "response.create":
                for event in events(text):
                    wfile.write(frame(0x1, json.dumps(event).encode()))
        wfile.flush()
