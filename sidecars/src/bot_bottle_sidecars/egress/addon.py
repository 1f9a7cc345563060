"""The egress addons: every way out of a bottle passes them.

One small addon per job, sharing an :class:`~.state.EgressState`:

* :class:`~.lifecycle.Lifecycle`: options, start-up, ready file, SIGHUP reload;
* :class:`~.tunnels.Tunnels`: CONNECT, and which layers may run in a tunnel;
* :class:`~.tls_guard.TlsGuard`: TLS from the agent, passthrough;
* :class:`~.requests.Requests`: every HTTP request, and upstream failure pages;
* :class:`~.raw.RawGuard`: raw TCP in a tunnel;
* :class:`~.upstream.Upstream`: every connection egress opens.

Loaded in-process by :mod:`bot_bottle_sidecars.egress.run` (the supported way:
options are checked before the proxy listens). ``mitmdump -s addon.py`` also
works, through ``addons`` below. Every hook catches its own errors and denies:
mitmproxy logs and *ignores* an exception raised by an addon.
"""

from __future__ import annotations

from .lifecycle import Lifecycle
from .raw import RawGuard
from .requests import Requests
from .state import EgressState
from .tls_guard import TlsGuard
from .tunnels import Tunnels
from .upstream import Upstream

__all__ = ["egress_addons"]


def egress_addons(state: EgressState) -> list[object]:
    return [
        Lifecycle(state),
        Tunnels(state),
        TlsGuard(state),
        Requests(state),
        RawGuard(state),
        Upstream(state),
    ]


addons = egress_addons(EgressState())
