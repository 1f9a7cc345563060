"""The egress options, start-up, the ready file, and reloading the routes on SIGHUP.

A bad routes file (or a route whose credential has no token slot for its host)
stops start-up with a clear error; on reload it keeps the current routes and
logs why. A good reload also closes the tunnels the new routes no longer allow,
so an established connection cannot outlive its route, and rewrites the ready
file with the digest of the routes file now served (``routes_sha256``): the
supervise sidecar waits for it before it tells the agent a route is live.

Leases (time-limited grants, :mod:`bot_bottle_sidecars.routes.leases`) are served
while they hold: egress wakes when the next one lapses, serves the routes without
it, closes the tunnels it no longer allows and logs a ``lapse`` event. Nothing
outside the bundle has to run for a lease to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from datetime import UTC, datetime

from mitmproxy import connection, ctx, exceptions
from mitmproxy.addonmanager import Loader

from bot_bottle_sidecars import layout
from bot_bottle_sidecars.routes import RoutesFile, read_document
from bot_bottle_sidecars.routes.policy import Policy

from .addresses import parse_pins
from .connections import close_clients
from .ready import remove_ready_file, write_ready_file
from .state import EgressState, Tunnel
from .tokens import TokenSlots

__all__ = ["Lifecycle"]

DEFAULT_CONNECT_TIMEOUT_S = 10


def _load(path: str, tokens: TokenSlots) -> tuple[RoutesFile, str]:
    """The routes file at ``path`` and its digest; ``ValueError`` says what is wrong."""
    doc, digest = read_document(path)
    problems = tokens.problems((*doc.routes, *(lease.route for lease in doc.leases)))
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return doc, digest


class Lifecycle:
    def __init__(self, state: EgressState) -> None:
        self.state = state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rolling_back = False
        self._digest = ""  # of the routes file served
        self._ready: dict[str, object] | None = None  # what the ready file says, once written
        self._doc = RoutesFile()
        self._lapse_timer: asyncio.TimerHandle | None = None

    def _serve(self, doc: RoutesFile, digest: str) -> None:
        """Serve ``doc`` as it stands now, and wake when its next lease lapses."""
        self._doc, self._digest = doc, digest
        self.state.policy = Policy(doc.effective())
        self._schedule_lapse()

    def _schedule_lapse(self) -> None:
        if self._lapse_timer is not None:
            self._lapse_timer.cancel()
            self._lapse_timer = None
        when = self._doc.next_lapse()
        if when is None or self._loop is None:
            return  # at start-up, running() schedules it
        delay = max(0.0, (when - datetime.now(UTC)).total_seconds())
        self._lapse_timer = self._loop.call_later(delay, self._lapse)

    def _lapse(self) -> None:
        """A lease ran out: serve the routes without it."""
        self._lapse_timer = None
        try:
            before = {r.host for r in self.state.policy.routes}
            self.state.policy = Policy(self._doc.effective())
            now = datetime.now(UTC)
            lapsed = sorted({lease.route.host for lease in self._doc.lapsed(now)})
            closed = self._close_disallowed()
            self.state.log.event(
                "lapse",
                hosts=lapsed,
                gone=sorted(before - {r.host for r in self.state.policy.routes}),
                routes=len(self.state.policy.routes),
                closed=closed,
            )
        except Exception as exc:  # fail closed: nothing is left that the file does not grant
            self.state.policy = Policy(self._doc.effective())
            self.state.log.event("lapse", status="error", error=repr(exc))
        self._schedule_lapse()

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "egress_routes", str, layout.EGRESS_ROUTES, "bot-bottle: the egress routes file (JSON)."
        )
        loader.add_option(
            "egress_ready_file",
            str,
            layout.EGRESS_READY_FILE,
            "bot-bottle: file written once the proxy listens (removed on shutdown).",
        )
        loader.add_option(
            "egress_resolve",
            str,
            "",
            'bot-bottle: JSON {"host[:port]": "addr[:port]"}: names the operator pins to an'
            " address (tests, air-gapped hosts). Routing is still decided on the name.",
        )
        loader.add_option(
            "egress_connect_timeout",
            int,  # mitmproxy options have no float type
            DEFAULT_CONNECT_TIMEOUT_S,
            "bot-bottle: seconds to reach an upstream (TCP and TLS) before answering 504.",
        )
        loader.add_option(
            "egress_decisions",
            str,
            "",
            "bot-bottle: a file every decision is appended to as well (JSON lines), kept by"
            " the host; empty: stdout only.",
        )
        loader.master.options.errored.connect(self._options_errored)

    def _options_errored(self, exc: Exception) -> None:
        # mitmproxy is about to roll the options back and call configure() again
        # with the old values; an error raised then would hide the real one.
        self._rolling_back = True

    def configure(self, updated: set[str]) -> None:
        strict = not self._rolling_back
        self._rolling_back = False
        try:
            self._configure(updated)
        except exceptions.OptionsError:
            if strict:
                raise

    def _configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if "connection_strategy" in updated and opts.connection_strategy != "lazy":
            raise exceptions.OptionsError(
                "bot-bottle egress needs connection_strategy=lazy (nothing may be dialled"
                " before the addon decides)"
            )
        if "http2" in updated and opts.http2:
            raise exceptions.OptionsError(
                "bot-bottle egress needs http2=false: mitmproxy's translation of HTTP/2 requests"
                " to HTTP/1 lets a request carry a second one past the checks"
            )
        if "ssl_insecure" in updated and opts.ssl_insecure:
            raise exceptions.OptionsError(
                "bot-bottle egress never turns off upstream certificate checks (ssl_insecure):"
                " tokens only travel over verified TLS"
            )
        if "egress_connect_timeout" in updated and not opts.egress_connect_timeout > 0:
            raise exceptions.OptionsError("egress_connect_timeout must be more than 0 seconds")
        if "egress_resolve" in updated:
            try:
                self.state.pins = parse_pins(opts.egress_resolve)
            except ValueError as exc:
                raise exceptions.OptionsError(str(exc)) from None
        if "egress_routes" in updated:
            try:
                self.state.tokens = TokenSlots.from_env()
                self._serve(*_load(opts.egress_routes, self.state.tokens))
            except ValueError as exc:
                raise exceptions.OptionsError(f"bot-bottle egress: {exc}") from None
        if "egress_ready_file" in updated:
            remove_ready_file(opts.egress_ready_file)
        if "egress_decisions" in updated:
            self.state.log.keep_in(opts.egress_decisions or None)

    def running(self) -> None:
        if ctx.options.connection_strategy != "lazy":
            return self._die("connection_strategy must be lazy")
        self._loop = asyncio.get_running_loop()
        # mitmdump has no SIGHUP handler, and SIGHUP's default kills.
        self._loop.add_signal_handler(signal.SIGHUP, self.reload)
        self._schedule_lapse()
        listen = []
        if ps := ctx.master.addons.get("proxyserver"):
            listen = [list(addr[:2]) for addr in ps.listen_addrs()]
        confdir = os.path.expanduser(ctx.options.confdir)
        info: dict[str, object] = {
            "pid": os.getpid(),
            "listen": listen,
            "ca_cert": os.path.join(confdir, "mitmproxy-ca-cert.pem"),
            "routes": len(self.state.policy.routes),
            "routes_sha256": self._digest,
        }
        self._ready = info
        write_ready_file(ctx.options.egress_ready_file, info)
        self.state.log.event("ready", **info)

    def done(self) -> None:
        if self._lapse_timer is not None:
            self._lapse_timer.cancel()
            self._lapse_timer = None
        if self._loop is not None:
            with contextlib.suppress(RuntimeError, ValueError):  # loop already closed
                self._loop.remove_signal_handler(signal.SIGHUP)
            self._loop = None
        self._ready = None
        remove_ready_file(ctx.options.egress_ready_file)

    def _die(self, message: str) -> None:
        self.state.fatal = message
        self.state.log.event("fatal", error=message)
        print(f"bot-bottle egress: {message}", file=sys.stderr, flush=True)
        ctx.master.shutdown()

    def reload(self) -> None:
        """SIGHUP: re-read the routes; on any error keep the current ones."""
        path = ctx.options.egress_routes
        state = self.state
        try:
            self._serve(*_load(path, state.tokens))
        except Exception as exc:
            state.log.event(
                "reload",
                status="error",
                file=path,
                error=str(exc),
                routes_kept=len(state.policy.routes),
            )
            return
        closed = self._close_disallowed()
        if self._ready is not None:
            self._ready = {
                **self._ready,
                "routes": len(state.policy.routes),
                "routes_sha256": self._digest,
            }
            write_ready_file(ctx.options.egress_ready_file, self._ready)
        state.log.event(
            "reload",
            status="ok",
            file=path,
            routes=len(state.policy.routes),
            routes_sha256=self._digest,
            closed=closed,
        )

    def _close_disallowed(self) -> int:
        state = self.state

        def gone(client: connection.Client) -> bool:
            client_id = client.id
            for host, port in state.plain_targets.get(client_id, ()):
                if not state.policy.tunnel(host, port).allowed:
                    return True  # e.g. a WebSocket opened by a plain proxy request
            tunnel = state.tunnels.get(client_id)
            if tunnel is None or not tunnel.decision.allowed:
                return False  # plain requests are checked one by one; denied tunnels carry nothing
            now = Tunnel(tunnel.host, tunnel.port, state.policy.tunnel(tunnel.host, tunnel.port))
            return not now.decision.allowed or now.passthrough != tunnel.passthrough

        return len(close_clients(gone))
