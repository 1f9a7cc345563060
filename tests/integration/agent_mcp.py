"""A minimal MCP client (streamable HTTP, Python's standard library only) that runs inside a
bottle: the tests and the supervision benchmark call supervise from the agent's side
without an agent CLI.

    python3 agent_mcp.py TOOL JSON_ARGUMENTS [RETRY_URL]

It prints one JSON line: the tool's result, the seconds from the call to the result,
and with RETRY_URL, the status of that request sent through egress (``HTTPS_PROXY``)
right after, and when it came back. The MCP handshake happens before the clock starts.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

URL = os.environ.get("SUPERVISE_URL", "http://supervise:8081/mcp")
# supervise is a peer on the bottle's network, never reached through egress.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Session:
    def __init__(self) -> None:
        self.id: str | None = None
        self.next = 0

    def post(self, message: dict) -> dict | None:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        }
        if self.id:
            headers["Mcp-Session-Id"] = self.id
        req = urllib.request.Request(URL, json.dumps(message).encode(), headers, method="POST")
        with DIRECT.open(req, timeout=3600) as resp:
            self.id = resp.headers.get("Mcp-Session-Id") or self.id
            if "id" not in message:
                return None
            if resp.headers.get("Content-Type", "").startswith("application/json"):
                return json.loads(resp.read())
            for raw in resp:  # an event stream: progress notes, then the answer
                line = raw.decode().strip()
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event.get("id") == message["id"]:
                        return event
        raise RuntimeError("no answer in the stream")

    def request(self, method: str, params: dict) -> dict:
        self.next += 1
        answer = self.post({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params})
        assert answer is not None
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]


def retry(url: str) -> int:
    ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))
    try:
        with urllib.request.urlopen(url, timeout=30, context=ctx) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def main() -> int:
    tool, arguments = sys.argv[1], json.loads(sys.argv[2])
    s = Session()
    s.request(
        "initialize",
        {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bot-bottle-test", "version": "1"},
        },
    )
    s.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
    t0 = time.time()
    result = s.request("tools/call", {"name": tool, "arguments": arguments, "_meta": {}})
    t1 = time.time()
    out = {"result": result, "called_at": t0, "answered_at": t1}
    if len(sys.argv) > 3:
        out["retry_status"] = retry(sys.argv[3])
        out["retried_at"] = time.time()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
