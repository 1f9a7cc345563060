"""Where things live in the sidecar bundle: the contract with the backends.

Importable anywhere (no mitmproxy). A backend builds the image from
:func:`bot_bottle_sidecars.context_dir`, runs it with the environment and mounts
below, waits for :data:`EGRESS_READY_FILE`, then copies :data:`EGRESS_CA_CERT`
out of the container for the agent to trust. The CA's private key
(:data:`EGRESS_CA_KEY`) stays inside: never mount :data:`EGRESS_CONFDIR`.

Routes: mount the *directory* holding ``routes.json`` at :data:`CONFIG_DIR`
(read-only is fine) rather than the single file: a file bind mount keeps
pointing at the old inode when the host replaces the file atomically, so a
SIGHUP would reload stale routes. The sidecar runs as uid :data:`SIDECAR_UID`,
so the directory must be world-readable (0755, file 0644) or owned by that uid.
Reload: write the new file, then send SIGHUP to the container (the init
forwards it to the egress proxy).

Tokens for ``auth`` routes: pass :func:`token_environment` in the bundle
container's environment; nothing else ever sees them. Each token sits in its own
slot (``BOT_BOTTLE_SECRET_<token_ref>``) and ``BOT_BOTTLE_TOKEN_SLOTS`` says which
hosts may use each slot, so a routes file can never make egress send some other
variable of its environment, or one host's token to another host.

Listening: egress listens on ``BOT_BOTTLE_EGRESS_LISTEN_HOST``; a backend sets it
to the bundle's address on the bottle's internal network, so nothing outside the
bottle can use the proxy. Names the operator pins (``BOT_BOTTLE_EGRESS_RESOLVE``)
are dialled at the pinned address as given; every other name is resolved by
egress itself, and answers in loopback, link-local, private or other non-public
ranges are refused unless the route names that address.

Decisions: egress writes every decision as a JSON line to stdout and, when
``BOT_BOTTLE_EGRESS_DECISIONS`` names a file, to that file too: mount a host
directory at :data:`LOG_DIR` and point the variable at :data:`EGRESS_DECISIONS`, so the
bottle's decisions outlive its containers. Like the queue, that directory must be
writable by the sidecar (see below).

Supervise (the MCP server the agent asks for more access through): mount the
host's ``queue/<slug>/`` read-write at :data:`QUEUE_DIR`, writable by
:data:`SIDECAR_UID` and by no other local user (owned by that uid, or shared through
a group the bundle's processes are given: never world-writable); set
``BOT_BOTTLE_SUPERVISE_LISTEN_HOST`` to the bundle's internal address and
``BOT_BOTTLE_SUPERVISE_HOSTS`` to the names the agent uses (the server refuses any
other Host header: DNS rebinding). The agent reaches it
at ``http://supervise:8081/mcp``. It runs with :data:`SUPERVISE_PYTHON`, a venv of
its own: the MCP SDK and mitmproxy 11 need different ``h11`` versions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

# ---- the container
SIDECAR_USER = "sidecar"
SIDECAR_UID = 10001
STATE_DIR = "/var/lib/bot-bottle"  # owned by the sidecar user; not a mount
RUN_DIR = "/run/bot-bottle"  # owned by the sidecar user; ready files
CONFIG_DIR = "/etc/bot-bottle"  # mount point for the rendered configs (read-only is fine)

# ---- egress
EGRESS_PORT = 8080
EGRESS_ROUTES = f"{CONFIG_DIR}/routes.json"
EGRESS_READY_FILE = f"{RUN_DIR}/egress.ready"
EGRESS_CONFDIR = f"{STATE_DIR}/egress"  # mitmproxy's confdir: the per-bottle CA is minted here
EGRESS_CA_CERT = f"{EGRESS_CONFDIR}/mitmproxy-ca-cert.pem"  # give this to the agent
EGRESS_CA_KEY = f"{EGRESS_CONFDIR}/mitmproxy-ca.pem"  # key + cert: never leaves the container
LOG_DIR = "/var/log/bot-bottle"  # mount point for the host's per-bottle log directory (rw)
EGRESS_DECISIONS = f"{LOG_DIR}/egress.jsonl"  # every decision, kept on the host

# ---- supervise
SUPERVISE_PORT = 8081
SUPERVISE_PATH = "/mcp"
QUEUE_DIR = "/var/spool/bot-bottle"  # mount point for the host's queue/<slug>/ (read-write)
SUPERVISE_PYTHON = "/opt/supervise/bin/python"
SUPERVISE_READY_FILE = f"{RUN_DIR}/supervise.ready"
DEFAULT_PROGRESS_S = 15.0  # claude idles an HTTP MCP call out after about five minutes

# ---- git-gate
GIT_GATE_PORT = 80  # the agent's git uses http://git-gate/<name>.git
GIT_GATE_CONFIG = f"{CONFIG_DIR}/git-gate.json"  # repos and rules; no key in it
GIT_GATE_READY_FILE = f"{RUN_DIR}/git-gate.ready"
GIT_GATE_LOG = f"{LOG_DIR}/git-gate.jsonl"  # every fetch and pushed ref, kept on the host
GIT_GATE_STATE = f"{STATE_DIR}/git-gate"  # mirrors, keys, known hosts: never a mount

# ---- environment understood by the bundle
ENV_SIDECARS = "BOT_BOTTLE_SIDECARS"  # comma list of daemons to start; default "egress"
ENV_UPSTREAM_CA = "BOT_BOTTLE_UPSTREAM_CA"  # file with extra CAs to trust upstream (corporate CA)
ENV_EGRESS_ROUTES = "BOT_BOTTLE_EGRESS_ROUTES"  # override EGRESS_ROUTES
ENV_EGRESS_READY_FILE = "BOT_BOTTLE_EGRESS_READY_FILE"  # override EGRESS_READY_FILE
ENV_EGRESS_CONFDIR = "BOT_BOTTLE_EGRESS_CONFDIR"  # override EGRESS_CONFDIR
ENV_EGRESS_DECISIONS = "BOT_BOTTLE_EGRESS_DECISIONS"  # decisions file; unset: stdout only
ENV_EGRESS_LISTEN_HOST = "BOT_BOTTLE_EGRESS_LISTEN_HOST"  # default 0.0.0.0
ENV_EGRESS_PORT = "BOT_BOTTLE_EGRESS_PORT"  # default 8080; 0 = any free port (see ready file)
ENV_EGRESS_RESOLVE = "BOT_BOTTLE_EGRESS_RESOLVE"  # JSON {"host[:port]": "ip[:port]"}, tests/air-gap
ENV_EGRESS_CONNECT_TIMEOUT = "BOT_BOTTLE_EGRESS_CONNECT_TIMEOUT"  # seconds; default 10
ENV_TOKEN_PREFIX = "BOT_BOTTLE_SECRET_"  # + token_ref: one token slot
ENV_TOKEN_SLOTS = "BOT_BOTTLE_TOKEN_SLOTS"  # JSON {"token_ref": ["host", ...]}
ENV_SUPERVISE_LISTEN_HOST = "BOT_BOTTLE_SUPERVISE_LISTEN_HOST"  # default 127.0.0.1
ENV_SUPERVISE_PORT = "BOT_BOTTLE_SUPERVISE_PORT"  # default 8081
ENV_SUPERVISE_HOSTS = "BOT_BOTTLE_SUPERVISE_HOSTS"  # comma list of names the agent uses
ENV_SUPERVISE_QUEUE = "BOT_BOTTLE_SUPERVISE_QUEUE"  # override QUEUE_DIR
ENV_SUPERVISE_PROGRESS = "BOT_BOTTLE_SUPERVISE_PROGRESS"  # seconds between progress notes
ENV_SUPERVISE_PYTHON = "BOT_BOTTLE_SUPERVISE_PYTHON"  # override SUPERVISE_PYTHON
ENV_SUPERVISE_READY_FILE = "BOT_BOTTLE_SUPERVISE_READY_FILE"  # override SUPERVISE_READY_FILE
ENV_GIT_KEY_PREFIX = "BOT_BOTTLE_GIT_KEY_"  # + repo name: its private key (git-gate only)
ENV_GIT_GATE_LISTEN_HOST = "BOT_BOTTLE_GIT_GATE_LISTEN_HOST"  # default 127.0.0.1
ENV_GIT_GATE_PORT = "BOT_BOTTLE_GIT_GATE_PORT"  # default 80
ENV_GIT_GATE_CONFIG = "BOT_BOTTLE_GIT_GATE_CONFIG"  # override GIT_GATE_CONFIG
ENV_GIT_GATE_LOG = "BOT_BOTTLE_GIT_GATE_LOG"  # fetch/push journal file; unset: stdout only
ENV_GIT_GATE_STATE = "BOT_BOTTLE_GIT_GATE_STATE"  # override GIT_GATE_STATE
ENV_GIT_GATE_READY_FILE = "BOT_BOTTLE_GIT_GATE_READY_FILE"  # override GIT_GATE_READY_FILE
ENV_INIT_GRACE = "BOT_BOTTLE_INIT_GRACE"  # seconds the init waits for children to stop (default 8)

DEFAULT_SIDECARS = ("egress",)


def token_environment(
    slots: Iterable[tuple[str, str]], tokens: Mapping[str, str]
) -> dict[str, str]:
    """The bundle environment that carries ``tokens`` (``{token_ref: value}``).

    ``slots`` pairs each ``token_ref`` with a host allowed to use it (one pair
    per route with ``auth``). A ref without a value in ``tokens`` gets no slot.
    """
    hosts: dict[str, list[str]] = {}
    for ref, host in slots:
        if ref in tokens:
            hosts.setdefault(ref, [])
            if host not in hosts[ref]:
                hosts[ref].append(host)
    env = {f"{ENV_TOKEN_PREFIX}{ref}": tokens[ref] for ref in hosts}
    env[ENV_TOKEN_SLOTS] = json.dumps(hosts, sort_keys=True, separators=(",", ":"))
    return env
