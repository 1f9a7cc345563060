"""Probes run inside a bottle's agent container, as the agent, and what egress logged.

* :func:`curl` runs curl with the bottle's own proxy settings;
* :func:`raw` sends bytes exactly as written (``agent_raw.py`` in the agent);
* :func:`decisions` reads the sidecar container's stdout (the decision log);
* :class:`Quiet` checks the fake upstream accepted no connection from this bottle.
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from fake_internet import connections, wait_for

RAW_SOURCE = (Path(__file__).parent / "agent_raw.py").read_text()
DENIED = "bot-bottle egress proxy: request denied."
FAILED = "bot-bottle egress proxy: the request was allowed, but upstream could not be reached."


@dataclass
class Answer:
    status: int | None
    egress: str  # the X-Bot-Bottle-Egress header ("" when absent)
    body: str
    exit: int = 0  # curl's exit status
    error: str | None = None
    connect: int | None = None  # the proxy's answer to CONNECT (raw probes)

    def denied(self, *needles: str) -> None:
        """A refusal the agent can read: 403, marked ``denied``, the text naming ``needles``."""
        assert self.status == 403, self
        assert self.egress == "denied", self
        assert self.body.startswith(DENIED), self
        for needle in needles:
            assert needle in self.body, (needle, self.body)

    def failed(self, status: int, *needles: str) -> None:
        assert self.status == status, self
        assert self.egress == "failed", self
        assert self.body.startswith(FAILED), self
        for needle in needles:
            assert needle in self.body, (needle, self.body)


def curl(container, args: str, user: str = "") -> Answer:
    """curl ARGS in the agent (its environment's proxy and CA); never raises on HTTP errors."""
    script = (
        "d=$(mktemp -d); "
        f"curl -s --max-time 20 -o $d/body -w '%{{http_code}} %header{{x-bot-bottle-egress}}' "
        f'{args} > $d/w 2>/dev/null; echo "$? $(cat $d/w)"; cat $d/body; rm -rf $d'
    )
    result = container.exec_run(["sh", "-c", script], user=user)
    out = result.output.decode("utf-8", "replace")
    first, _, body = out.partition("\n")
    exit_code, code, *egress = first.split(" ")
    status = int(code) if code.isdigit() and code != "000" else None
    return Answer(status, " ".join(egress).strip(), body, int(exit_code))


def raw(
    container,
    send: bytes,
    *,
    connect: str | None = None,
    tls: str | None = None,
    http: bool = True,
    timeout: float = 10,
) -> Answer:
    """Send ``send`` through egress from the agent (see ``agent_raw.py``)."""
    spec = {
        "connect": connect,
        "tls": tls,
        "send": base64.b64encode(send).decode(),
        "http": http,
        "timeout": timeout,
    }
    result = container.exec_run(["python3", "-c", RAW_SOURCE, json.dumps(spec)])
    out = json.loads(result.output.decode("utf-8", "replace"))
    if connect and out["connect"] != 200:
        return Answer(None, "", "", error=out["error"] or "CONNECT refused", connect=out["connect"])
    body = out["body"] if http else base64.b64decode(out["raw"]).decode("latin-1")
    egress = out["headers"].get("x-bot-bottle-egress", "")
    return Answer(out["status"], egress, body, 0, out["error"], out["connect"])


def shell(container, script: str, user: str = "") -> tuple[int, str]:
    result = container.exec_run(["sh", "-c", script], user=user)
    return result.exit_code, result.output.decode("utf-8", "replace")


def q(text: str) -> str:
    return shlex.quote(text)


# --------------------------------------------------------------------------- sidecar log


def sidecar_stdout(sidecars) -> bytes:
    return sidecars.logs(stdout=True, stderr=False)


def decisions(sidecars) -> list[dict]:
    out = []
    for line in sidecar_stdout(sidecars).decode("utf-8", "replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "decision" in row:
            out.append(row)
    return out


def wait_for_decision(sidecars, since: int, match) -> dict:
    """The first decision line after the first ``since`` lines that ``match`` accepts."""
    found: list[dict] = []

    def check() -> bool:
        found[:] = [d for d in decisions(sidecars)[since:] if match(d)]
        return bool(found)

    wait_for(check, "the decision line", timeout=15)
    return found[0]


# --------------------------------------------------------------------------- the fake upstream


def sidecar_address(sidecars, network: str) -> str:
    sidecars.reload()
    return sidecars.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]


class Quiet:
    """Counts the fake upstream's accepted connections from one bottle's sidecars."""

    def __init__(self, upstream, sidecars) -> None:
        self.upstream = upstream
        self.peer = sidecar_address(sidecars, upstream.network)
        self.before = len(self.seen())

    def seen(self) -> list[dict]:
        return connections(self.upstream, self.peer)

    def new(self) -> list[dict]:
        return self.seen()[self.before :]

    def check(self) -> None:
        assert self.new() == [], f"egress dialled the fake upstream: {self.new()}"
