"""Launch the egress proxy: mitmproxy's dump master with the :class:`Egress` addon.

``python -m bot_bottle_sidecars.egress`` with no arguments builds the command
line from the environment (:func:`mitmdump_args`); with arguments it takes them
as mitmdump arguments. The init runs :func:`command`.

The addon is registered in-process rather than with ``-s addon.py``: a script
addon is loaded after the proxy starts (a window without any policy), is polled
for changes every second, and its configuration errors are only logged. Here
its options exist before the command line is parsed, a bad routes file or
option stops start-up with a clear error and exit status 1, and the proxy never
serves a connection without the policy.

Command line (defaults from :mod:`bot_bottle_sidecars.layout`, each overridable
by an environment variable):

* listen ``127.0.0.1:8080`` (``BOT_BOTTLE_EGRESS_LISTEN_HOST``/``_PORT``; port 0 picks
  a free one, which the ready file reports). A backend sets the host to the
  bundle's address on the bottle's internal network: the proxy must never listen
  where anything outside the bottle could use it, so the default is loopback;
* ``confdir=/var/lib/bot-bottle/egress`` (``BOT_BOTTLE_EGRESS_CONFDIR``): mitmproxy
  mints the bottle's CA there on first start; ``mitmproxy-ca-cert.pem`` is the
  certificate the agent trusts, ``mitmproxy-ca.pem`` holds the key and stays put;
* ``egress_routes``/``egress_ready_file`` (``BOT_BOTTLE_EGRESS_ROUTES``/``_READY_FILE``);
* ``connection_strategy=lazy`` (nothing dialled before the addon decides),
  ``http2=false`` (HTTP/1.1 to the agent; see :func:`mitmdump_args`),
  ``stream_large_bodies=1m`` (bodies stream with flat memory), ``onboarding=false``;
* ``ssl_verify_upstream_trusted_ca`` when ``BOT_BOTTLE_UPSTREAM_CA`` names a file. That
  option *replaces* mitmproxy's default trust (certifi), so :func:`main` first writes
  ``<confdir>/upstream-trust.pem`` = certifi's bundle + that file and points the option
  there: the extra CA (a test CA, a corporate CA) is trusted in addition to the public ones;
* ``egress_resolve`` from ``BOT_BOTTLE_EGRESS_RESOLVE`` (tests, air-gapped hosts);
* ``egress_connect_timeout`` from ``BOT_BOTTLE_EGRESS_CONNECT_TIMEOUT`` (seconds);
* ``egress_decisions`` from ``BOT_BOTTLE_EGRESS_DECISIONS`` (the decisions file).

stdout carries only the addon's JSON lines: mitmproxy's own log and flow output
go to stderr (``termlog_verbosity=warn``, ``flow_detail=0``).

Before mitmproxy starts, :func:`bot_bottle_sidecars.egress.tuning.apply` picks
uvloop's event loop (when installed) and makes mitmproxy relay in larger reads,
and :func:`bot_bottle_sidecars.egress.patches.apply` lets the addon answer
denied uploads and upstream failures with its own pages.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence

from bot_bottle_sidecars import layout

STREAM_LARGE_BODIES = "1m"
DEFAULT_LISTEN_HOST = "127.0.0.1"


def mitmdump_args(
    env: Mapping[str, str] | None = None, upstream_trust: str | None = None
) -> list[str]:
    """mitmdump arguments for the egress proxy, from ``env`` (default ``os.environ``).

    ``upstream_trust`` (see :func:`upstream_trust_bundle`) overrides the raw
    ``BOT_BOTTLE_UPSTREAM_CA`` file as ``ssl_verify_upstream_trusted_ca``.
    """
    env = os.environ if env is None else env

    def get(name: str, default: str) -> str:
        return env.get(name) or default

    sets = {
        "confdir": get(layout.ENV_EGRESS_CONFDIR, layout.EGRESS_CONFDIR),
        "egress_routes": get(layout.ENV_EGRESS_ROUTES, layout.EGRESS_ROUTES),
        "egress_ready_file": get(layout.ENV_EGRESS_READY_FILE, layout.EGRESS_READY_FILE),
        "connection_strategy": "lazy",
        "stream_large_bodies": STREAM_LARGE_BODIES,
        "flow_detail": "0",
        "termlog_verbosity": "warn",
        "onboarding": "false",
        # HTTP/1.1 only towards the agent: mitmproxy writes an HTTP/2 request out as
        # HTTP/1, and a :path holding CR LF or a body without a length then becomes a
        # second request egress never saw. Clients fall back to HTTP/1.1.
        "http2": "false",
    }
    upstream_ca = upstream_trust or env.get(layout.ENV_UPSTREAM_CA)
    if upstream_ca and os.path.isfile(upstream_ca):
        sets["ssl_verify_upstream_trusted_ca"] = upstream_ca
    resolve = env.get(layout.ENV_EGRESS_RESOLVE)
    if resolve:
        sets["egress_resolve"] = resolve
    timeout = env.get(layout.ENV_EGRESS_CONNECT_TIMEOUT)
    if timeout:
        sets["egress_connect_timeout"] = timeout
    decisions = env.get(layout.ENV_EGRESS_DECISIONS)
    if decisions:
        sets["egress_decisions"] = decisions
    args = [
        "--listen-host",
        get(layout.ENV_EGRESS_LISTEN_HOST, DEFAULT_LISTEN_HOST),
        "--listen-port",
        get(layout.ENV_EGRESS_PORT, str(layout.EGRESS_PORT)),
    ]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    return args


def upstream_trust_bundle(env: Mapping[str, str] | None = None) -> str | None:
    """Write certifi's CAs + ``BOT_BOTTLE_UPSTREAM_CA`` to ``<confdir>/upstream-trust.pem``.

    Returns that path, or ``None`` when the variable is unset. A variable naming a
    missing file is reported on stderr and ignored.
    """
    env = os.environ if env is None else env
    extra = env.get(layout.ENV_UPSTREAM_CA)
    if not extra:
        return None
    if not os.path.isfile(extra):
        print(
            f"bot-bottle egress: {layout.ENV_UPSTREAM_CA}={extra} is not a file; ignored",
            file=sys.stderr,
            flush=True,
        )
        return None
    import certifi

    confdir = env.get(layout.ENV_EGRESS_CONFDIR) or layout.EGRESS_CONFDIR
    os.makedirs(confdir, exist_ok=True)
    target = os.path.join(confdir, "upstream-trust.pem")
    with open(certifi.where(), "rb") as f:
        public = f.read()
    with open(extra, "rb") as f:
        added = f.read()
    tmp = target + ".tmp"
    with open(tmp, "wb") as f:
        f.write(public.rstrip(b"\n") + b"\n" + added)
    os.replace(tmp, target)
    return target


def command(env: Mapping[str, str] | None = None) -> list[str]:
    """The argv that runs the egress proxy with this interpreter.

    It takes no arguments: the process builds them from its environment (``env``
    is accepted for symmetry with other daemons and ignored here), so it can
    prepare the upstream trust bundle first.
    """
    return [sys.executable, "-m", "bot_bottle_sidecars.egress"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = mitmdump_args(upstream_trust=upstream_trust_bundle())
    # mitmproxy has no SIGHUP handler and SIGHUP's default kills; the addon installs
    # the reload handler once running, until then a SIGHUP is ignored.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    from mitmproxy.addons import dumper, termlog
    from mitmproxy.tools import cmdline
    from mitmproxy.tools import main as mitm_main
    from mitmproxy.tools.dump import DumpMaster

    from bot_bottle_sidecars.egress import patches, tuning
    from bot_bottle_sidecars.egress.addon import egress_addons
    from bot_bottle_sidecars.egress.state import EgressState

    tuning.apply()
    patches.apply()
    state = EgressState()

    class EgressMaster(DumpMaster):
        def __init__(self, options, loop=None) -> None:
            super().__init__(options, loop, with_termlog=False, with_dumper=False)
            self.addons.add(
                termlog.TermLog(out=sys.stderr), dumper.Dumper(sys.stderr), *egress_addons(state)
            )

    mitm_main.run(EgressMaster, cmdline.mitmdump, args)
    return 1 if state.fatal else 0
