"""The few Engine API calls that run often, over the local unix socket, without the SDK.

Importing the docker SDK (requests, urllib3) takes about 230 ms (more on a busy
machine), most of the 300 ms a `bot-bottle list active` may take, and listing runs
often (scripts, the dashboard). Its two calls -- ping and one labelled container
list -- are plain GETs, and an operator's approval reloads egress with one POST
(a SIGHUP to the bundle), so on a local socket they go through the standard
library. Everything else, and a DOCKER_HOST that is not a unix socket (tcp with
TLS, ssh), goes through the SDK.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from bot_bottle_core.errors import BotBottleError

from .errors import EngineUnavailable

DEFAULT_SOCKET = "/var/run/docker.sock"
UNIX = "unix://"


class EngineError(BotBottleError):
    """The engine answered, but not with success."""


def socket_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The engine's unix socket as the SDK's ``from_env`` would pick it, or None."""
    host = (os.environ if environ is None else environ).get("DOCKER_HOST")
    if not host:
        return DEFAULT_SOCKET
    if host.startswith(UNIX):
        return host[len(UNIX) :]
    return None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _call(path: str, method: str, url: str, timeout: float) -> tuple[int, bytes]:
    conn = _UnixConnection(path, timeout)
    try:
        conn.request(method, url)
        resp = conn.getresponse()
        body = resp.read()
    except OSError as exc:
        raise EngineUnavailable(f"{path}: {exc.strerror or exc}") from None
    except http.client.HTTPException as exc:  # something that is not an engine answered
        raise EngineUnavailable(f"{path}: not an HTTP answer ({type(exc).__name__})") from None
    finally:
        conn.close()
    return resp.status, body


def get(path: str, url: str, timeout: float = 10) -> bytes:
    """The body of a GET that the engine answered with 200."""
    status, body = _call(path, "GET", url, timeout)
    if status != 200:
        raise EngineError(
            f"The Docker engine at {path} refused GET {url} ({status}: {_message(body)}). "
            "Check that `docker info` works for this user and the engine is healthy."
        )
    return body


def ping(path: str, timeout: float = 3) -> None:
    get(path, "/_ping", timeout)


def containers(path: str, label: str, timeout: float = 10) -> list[dict[str, Any]]:
    """Running containers carrying ``label``, as ``GET /containers/json`` lists them."""
    query = urlencode({"filters": json.dumps({"label": [label]})})
    return json.loads(get(path, f"/containers/json?{query}", timeout))


class NoSuchContainer(EngineError):
    pass


def kill(path: str, container: str, signal: str, timeout: float = 10) -> None:
    """Send ``signal`` to a running container (``POST /containers/{name}/kill``)."""
    query = urlencode({"signal": signal})
    status, body = _call(path, "POST", f"/containers/{quote(container)}/kill?{query}", timeout)
    if status == 204:
        return
    message = _message(body)
    if status == 404:
        raise NoSuchContainer(message)
    raise EngineError(f"The Docker engine at {path} could not signal {container}: {message}")


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", "")).strip()
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace").strip()
