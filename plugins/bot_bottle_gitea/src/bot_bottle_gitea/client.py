"""Gitea's deploy-key REST endpoints, over the standard library.

``POST {api}/repos/{owner}/{repo}/keys`` with ``{"title", "key", "read_only"}``
answers 201 and the key (its ``id`` is what ``DELETE .../keys/{id}`` takes,
204). The token travels only in the ``Authorization: token ...`` header: it is
never put into a URL, a message or a log line, and redirects are refused so it
cannot follow one to another host.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import attrs

TIMEOUT_S = 30.0
# Gitea refuses deploy-key titles longer than this.
TITLE_MAX = 50
_DETAIL_MAX = 200


@attrs.frozen
class Answer:
    """One HTTP answer: status, Gitea's own words (``message``) and the JSON body."""

    status: int
    reason: str
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def detail(self, token: str) -> str:
        """``HTTP 500 Internal Server Error (Gitea's message)``, token scrubbed."""
        text = f"HTTP {self.status} {self.reason}".rstrip()
        said = self.body.get("message") if isinstance(self.body, dict) else None
        if isinstance(said, str) and said.strip():
            text += f" ({scrub(said, token)})"
        return text


class Unreachable(Exception):
    """The request got no HTTP answer (refused, timed out, bad TLS); ``str`` is the reason."""


@attrs.frozen
class GiteaRepo:
    """One repository's deploy keys on one Gitea."""

    api_url: str
    repo: str
    token: str = attrs.field(repr=False)

    @property
    def base(self) -> str:
        """The API root: ``api_url`` as configured, with ``/api/v1`` added when it lacks it."""
        root = self.api_url.rstrip("/")
        return root if root.endswith("/api/v1") else root + "/api/v1"

    @property
    def shown_url(self) -> str:
        """``api_url`` for messages: without any ``user:password@`` it may carry."""
        parts = urllib.parse.urlsplit(self.api_url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc)).rstrip("/")

    def keys_url(self, key_id: str | None = None) -> str:
        owner, _, name = self.repo.strip("/").partition("/")
        path = f"/repos/{_seg(owner)}/{_seg(name)}/keys"
        if key_id is not None:
            path += f"/{_seg(key_id)}"
        return self.base + path

    def create(self, title: str, public_key: str, read_only: bool) -> Answer:
        body = {"title": title[:TITLE_MAX], "key": public_key, "read_only": read_only}
        return self._send("POST", self.keys_url(), body)

    def delete(self, key_id: str) -> Answer:
        return self._send("DELETE", self.keys_url(key_id), None)

    def _send(self, method: str, url: str, body: dict[str, Any] | None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(req, timeout=TIMEOUT_S) as resp:
                return Answer(resp.status, resp.reason or "", _json(resp.read()))
        except urllib.error.HTTPError as err:
            with err:
                return Answer(err.code, err.reason or "", _json(err.read()))
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise Unreachable(scrub(str(reason), self.token)) from None


def scrub(text: str, token: str) -> str:
    """One line of at most a few hundred characters, with the token blanked out."""
    line = " ".join(text.split())
    if token:
        line = line.replace(token, "[token]")
    return line if len(line) <= _DETAIL_MAX else line[: _DETAIL_MAX - 1] + "…"


def _seg(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would re-send the Authorization header to wherever a redirect
    # points; a deploy-key endpoint has no reason to redirect, so the 3xx is
    # returned as the answer and reported.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())
