"""The supervise server's settings, read from the bundle's environment (see :mod:`..layout`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot_bottle_sidecars import layout
from bot_bottle_sidecars.egress.tokens import TokenSlots

__all__ = ["SuperviseConfig"]

DEFAULT_LISTEN_HOST = "127.0.0.1"
DEFAULT_HOSTS = ("supervise",)
POLL_S = 0.1  # how often a waiting call looks for the answer file
EGRESS_WAIT_S = 30.0  # how long a granted route may take to be served before the agent is told
# What one agent may hold of the server at once. Supervise shares the bundle's memory
# (and its fate: the init stops egress when a daemon dies) with egress, and a request
# costs the server up to ~20 times its size while it is parsed. With these, no flood
# grew it by more than ~55 MB (supervise_tests/test_supervise_flood.py); without them a
# few 4 MiB calls took it past 300 MB.
MAX_REQUEST_BYTES = 256 * 1024  # a tool call (a 64 KiB Dockerfile and justification fit)
MAX_CONNECTIONS = 32  # open at once, waiting calls included; more get HTTP 503
MAX_SESSIONS = 64  # MCP sessions (a client holds one; idle ones lapse after 30 min)


@dataclass(frozen=True)
class SuperviseConfig:
    queue_dir: str = layout.QUEUE_DIR
    routes_file: str = layout.EGRESS_ROUTES
    egress_ready_file: str = layout.EGRESS_READY_FILE
    listen_host: str = DEFAULT_LISTEN_HOST
    port: int = layout.SUPERVISE_PORT
    hosts: tuple[str, ...] = DEFAULT_HOSTS  # names the agent reaches us by (Host header)
    progress_s: float = layout.DEFAULT_PROGRESS_S
    poll_s: float = POLL_S
    egress_wait_s: float = EGRESS_WAIT_S
    max_request_bytes: int = MAX_REQUEST_BYTES
    max_connections: int = MAX_CONNECTIONS
    max_sessions: int = MAX_SESSIONS
    # token_ref -> hosts it may go to: which credentials an agent may name in ``auth``
    token_hosts: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def allowed_hosts(self) -> list[str]:
        """Host header values the DNS-rebinding guard accepts."""
        names = (*self.hosts, self.listen_host)
        return [f"{n}:{self.port}" for n in names] + [f"[{self.listen_host}]:{self.port}"]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SuperviseConfig:
        """``ValueError`` naming the variable when one is malformed."""
        env = os.environ if env is None else env

        def number(name: str, default: float) -> float:
            raw = env.get(name)
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
            if not value > 0:
                raise ValueError(f"{name} must be more than 0 seconds, got {raw!r}")
            return value

        port = env.get(layout.ENV_SUPERVISE_PORT) or str(layout.SUPERVISE_PORT)
        if not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"{layout.ENV_SUPERVISE_PORT} must be a port number, got {port!r}")
        hosts = tuple(
            h.strip() for h in (env.get(layout.ENV_SUPERVISE_HOSTS) or "").split(",") if h.strip()
        )
        return cls(
            queue_dir=env.get(layout.ENV_SUPERVISE_QUEUE) or layout.QUEUE_DIR,
            routes_file=env.get(layout.ENV_EGRESS_ROUTES) or layout.EGRESS_ROUTES,
            egress_ready_file=env.get(layout.ENV_EGRESS_READY_FILE) or layout.EGRESS_READY_FILE,
            listen_host=env.get(layout.ENV_SUPERVISE_LISTEN_HOST) or DEFAULT_LISTEN_HOST,
            port=int(port),
            hosts=hosts or DEFAULT_HOSTS,
            progress_s=number(layout.ENV_SUPERVISE_PROGRESS, layout.DEFAULT_PROGRESS_S),
            token_hosts=token_hosts(env),
        )


def token_hosts(env: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """The bundle's token slots (``BOT_BOTTLE_TOKEN_SLOTS``): which host each credential may
    go to. The tokens themselves are not in supervise's environment (see :mod:`..init`)."""
    return dict(TokenSlots.from_env(env).hosts)
