"""A loopback stand-in for Gitea's deploy-key REST endpoints.

No Gitea server can be installed here, so tests talk HTTP to this one: a
threaded ``http.server`` that speaks what Gitea's API documents and checks
what Gitea would check:

* ``POST /api/v1/repos/{owner}/{repo}/keys`` with ``{"title", "key", "read_only"}``:
  201 and the key (``id``, ``key``, ``title``, ``read_only``, ...); 422 for a
  body Gitea would refuse (missing title, a title over 50 characters, a key
  that is not an SSH public key, one already on the repo);
* ``DELETE /api/v1/repos/{owner}/{repo}/keys/{id}``: 204, or 404 when there is
  no such key;
* ``Authorization: token <TOKEN>`` on every request, else 401; a repo it does
  not hold is 404.

``fail_next`` makes the next requests of a method answer a given status
(a Gitea in trouble) with ``fail_message``; ``redirect_to`` answers every request with a 302 there.
Every request is recorded, headers included, so a test can look at exactly
what the client sent.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

_KEYS_RE = re.compile(r"^/api/v1/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/keys(?:/(?P<id>[^/]+))?$")


@attrs.define
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@attrs.define
class FakeGitea:
    token: str
    repos: set[str] = attrs.field(factory=set)
    host: str = "127.0.0.1"
    # repo -> key id -> the key as Gitea answers it
    keys: dict[str, dict[int, dict[str, Any]]] = attrs.field(factory=dict)
    requests: list[Recorded] = attrs.field(factory=list)
    # method -> statuses the next requests of that method answer instead
    fail_next: dict[str, list[int]] = attrs.field(factory=dict)
    # What Gitea says in a forced failure's body.
    fail_message: str = "something went wrong on the server"
    redirect_to: str | None = None
    _ids: itertools.count = attrs.field(factory=lambda: itertools.count(101))
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitea:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def do_DELETE(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeGitea:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def keys_of(self, repo: str) -> dict[int, dict[str, Any]]:
        with self._lock:
            return dict(self.keys.get(repo, {}))

    # -- the API

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(Recorded(h.command, h.path, dict(h.headers.items()), body))
            status, answer = self._answer(h, body)
        if status in (301, 302, 307, 308):
            h.send_response(status)
            h.send_header("Location", str(answer))
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        data = b"" if answer is None else json.dumps(answer).encode()
        h.send_response(status)
        if data:
            h.send_header("Content-Type", "application/json;charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _answer(self, h: BaseHTTPRequestHandler, body: Any) -> tuple[int, Any]:
        if self.redirect_to is not None:
            return 302, self.redirect_to + h.path
        if h.headers.get("Authorization") != f"token {self.token}":
            return 401, {"message": "token is required", "url": "https://gitea.example/api/swagger"}
        forced = self.fail_next.get(h.command)
        if forced:
            return forced.pop(0), {"message": self.fail_message}
        m = _KEYS_RE.match(h.path)
        if m is None:
            return 404, {"message": "not found"}
        repo = f"{m['owner']}/{m['name']}"
        if repo not in self.repos:
            return 404, {"message": "repository does not exist"}
        keys = self.keys.setdefault(repo, {})
        if h.command == "POST" and m["id"] is None:
            return self._create(repo, keys, body)
        if h.command == "DELETE" and m["id"] is not None:
            key_id = int(m["id"]) if m["id"].isdigit() else -1
            if keys.pop(key_id, None) is None:
                return 404, {"message": "deploy key does not exist"}
            return 204, None
        return 405, {"message": "method not allowed"}

    def _create(self, repo: str, keys: dict[int, dict[str, Any]], body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 422, {"message": "body must be a JSON object"}
        title, key, read_only = body.get("title"), body.get("key"), body.get("read_only", False)
        if not isinstance(title, str) or not title or len(title) > 50:
            return 422, {"message": "[Title]: Required, at most 50 characters"}
        if not isinstance(read_only, bool):
            return 422, {"message": "read_only must be a boolean"}
        try:
            load_ssh_public_key(str(key).encode())
        except (ValueError, TypeError):
            return 422, {"message": "[Key]: invalid SSH public key"}
        content = " ".join(str(key).split()[:2])
        if any(k["key"] == content for k in keys.values()):
            return 422, {"message": "Key content has been used as non-deploy key"}
        key_id = next(self._ids)
        keys[key_id] = {
            "id": key_id,
            "key_id": key_id + 1000,
            "key": content,
            "title": title,
            "read_only": read_only,
            "url": f"{self.url}/api/v1/repos/{repo}/keys/{key_id}",
            "fingerprint": "SHA256:fake",
            "created_at": "2025-01-01T00:00:00Z",
        }
        return 201, keys[key_id]
