"""The egress mitmproxy addon: every way out of a bottle passes :class:`Egress`.

Loaded in-process by :mod:`bot_bottle_sidecars.egress.run` (the supported way:
its options are then checked before the proxy listens, and a bad routes file
stops start-up). ``mitmdump -s addon.py`` also works, through ``addons`` below.

What it enforces (SPEC §6, §12):

* ``http_connect``: a CONNECT to an unrouted host (or an unrouted IP literal)
  gets a 403 before anything is dialled or resolved (``connection_strategy``
  must be ``lazy``; the addon refuses to start otherwise).
* ``requestheaders`` (every request, HTTP/1 keep-alive and HTTP/2 streams alike,
  before any body is streamed): the host the proxy would dial, every ``Host``
  header, ``:authority`` and the TLS SNI must name the same host; then the
  route's path allowlist and methods decide. Allowed requests to a route with
  ``auth`` get ``Authorization: <scheme> <token>`` (token from the sidecar's
  environment variable ``token_ref``) in place of anything the agent sent.
* ``tls_clienthello``: TLS only inside a CONNECT tunnel, its SNI (if any) must be
  the CONNECT target, and only ``tls_passthrough`` routes are not intercepted.
  A refused handshake is closed in ``tls_start_client``.
* ``tcp_start``/``tcp_message``: non-HTTP bytes inside a tunnel are killed unless
  the route is ``tls_passthrough``; the upstream connection is never opened.
* ``server_connect``: a last check that no connection is ever opened to a host
  without a route; ``egress_resolve`` (tests, air-gapped hosts) maps a name to an
  address here, after that check.
* One JSON line per decision on stdout (never a header value, never a token):
  ``{"time", "decision": "allow"|"deny", "kind", "host", "port", "method", "path",
  "route", "reason"}`` where ``kind`` is ``connect``, ``request``, ``tls`` (a refused
  handshake or a passthrough), ``tcp`` (non-HTTP bytes) or ``connection`` (the
  ``server_connect`` backstop); ``path`` is the normalised path without the query.
  Other lines carry ``"event"`` instead (``ready``, ``reload``, ``fatal``);
  ``SIGHUP`` reloads the routes (a bad file keeps the old ones and logs why);
  the ready file is written once the proxy listens.

Hooks fail closed: mitmproxy logs and *ignores* an exception raised by an addon,
so each hook catches its own errors and denies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
from datetime import UTC, datetime
from typing import Any, TextIO

from mitmproxy import ctx, exceptions, http
from mitmproxy.utils import human

from bot_bottle_sidecars import layout
from bot_bottle_sidecars.egress.policy import (
    Decision,
    Policy,
    authority_mismatch,
    load_routes,
    normalize_host,
    split_host_port,
    try_normalize_path,
)

logger = logging.getLogger(__name__)

META = "bot_bottle_egress"  # flow.metadata key: "allow" / "deny"
ASK_TOOL = "egress-block"


def parse_resolve(text: str) -> dict[tuple[str, int | None], tuple[str, int | None]]:
    """Parse ``egress_resolve``: JSON ``{"host" or "host:port": "addr" or "addr:port"}``.

    A ``host:port`` key wins over a bare ``host`` key. Raises ``ValueError``.
    """
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"egress_resolve is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("egress_resolve must be a JSON object")
    out: dict[tuple[str, int | None], tuple[str, int | None]] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise ValueError(f"egress_resolve[{key!r}] must be a string 'addr' or 'addr:port'")
        try:
            host, port = split_host_port(key)
            addr, addr_port = split_host_port(value)
            out[(normalize_host(host), port)] = (addr.strip("[]"), addr_port)
        except ValueError as exc:
            raise ValueError(f"egress_resolve[{key!r}]: {exc}") from None
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _safe_host(host: str | None) -> str | None:
    if host is None:
        return None
    try:
        return normalize_host(host)
    except ValueError:
        return repr(host[:100])


class Egress:
    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out
        self.policy: Policy | None = None
        self.resolve: dict[tuple[str, int | None], tuple[str, int | None]] = {}
        self.fatal: str | None = None
        self._tunnels: dict[str, tuple[str, int]] = {}  # client id -> CONNECT target
        self._refused_tls: set[str] = set()  # client ids whose TLS handshake is refused
        self._denied_servers: set[str] = set()  # server ids that must never connect
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rolling_back = False

    # ------------------------------------------------------------------ output

    def _write(self, record: dict[str, Any]) -> None:
        out = self._out or sys.stdout
        out.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
        out.flush()

    def _event(self, event: str, **fields: Any) -> None:
        self._write({"time": _now(), "event": event, **fields})

    def _decision(
        self,
        kind: str,
        allowed: bool,
        host: str | None,
        port: int | None,
        method: str | None,
        path: str | None,
        route: str | None,
        reason: str,
    ) -> None:
        self._write(
            {
                "time": _now(),
                "decision": "allow" if allowed else "deny",
                "kind": kind,
                "host": host,
                "port": port,
                "method": method,
                "path": path,
                "route": route,
                "reason": reason,
            }
        )

    @staticmethod
    def _forbidden(
        reason: str, host: str | None, path: str | None, ask: bool = True
    ) -> http.Response:
        lines = [
            "bot-bottle egress proxy: request denied.",
            f"Reason: {reason}.",
            "",
        ]
        if ask:
            args = [f"host={json.dumps(host or '')}"]
            if path:
                args.append(f"path_allowlist=[{json.dumps(path)}]")
            args.append('justification="<why this task needs it>"')
            lines += [
                "If the task needs this, ask for the route: call the",
                f"{ASK_TOOL} tool with {', '.join(args)}.",
                "The operator approves, changes or rejects the request.",
            ]
        else:
            lines.append("This is a configuration problem of the egress proxy; tell the operator.")
        return http.Response.make(
            403,
            "\n".join(lines) + "\n",
            {"Content-Type": "text/plain; charset=utf-8", "X-Bot-Bottle-Egress": "denied"},
        )

    # ------------------------------------------------------------------ lifecycle

    def load(self, loader: Any) -> None:
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
            'bot-bottle: JSON {"host[:port]": "addr[:port]"} used instead of DNS for routed '
            "hosts (tests, air-gapped hosts). Routing is still decided on the name.",
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
        if "connection_strategy" in updated and ctx.options.connection_strategy != "lazy":
            raise exceptions.OptionsError(
                "bot-bottle egress needs connection_strategy=lazy (nothing may be dialled"
                " before the addon decides)"
            )
        if "egress_resolve" in updated:
            try:
                self.resolve = parse_resolve(ctx.options.egress_resolve)
            except ValueError as exc:
                raise exceptions.OptionsError(str(exc)) from None
        if "egress_routes" in updated:
            try:
                self.policy = Policy(load_routes(ctx.options.egress_routes))
            except ValueError as exc:
                raise exceptions.OptionsError(f"bot-bottle egress: {exc}") from None
        if "egress_ready_file" in updated:
            self._remove_ready_file()

    def running(self) -> None:
        if self.policy is None:
            try:
                self.policy = Policy(load_routes(ctx.options.egress_routes))
            except ValueError as exc:
                return self._die(str(exc))
        if ctx.options.connection_strategy != "lazy":
            return self._die("connection_strategy must be lazy")
        self._loop = asyncio.get_running_loop()
        self._loop.add_signal_handler(signal.SIGHUP, self.reload)
        listen = []
        if ps := ctx.master.addons.get("proxyserver"):
            listen = [list(addr[:2]) for addr in ps.listen_addrs()]
        confdir = os.path.expanduser(ctx.options.confdir)
        info = {
            "pid": os.getpid(),
            "listen": listen,
            "ca_cert": os.path.join(confdir, "mitmproxy-ca-cert.pem"),
            "routes": len(self.policy.routes),
        }
        self._write_ready_file(info)
        self._event("ready", **info)

    def done(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError, ValueError):  # loop already closed
                self._loop.remove_signal_handler(signal.SIGHUP)
            self._loop = None
        self._remove_ready_file()

    def _die(self, message: str) -> None:
        self.fatal = message
        self._event("fatal", error=message)
        print(f"bot-bottle egress: {message}", file=sys.stderr, flush=True)
        ctx.master.shutdown()

    def _write_ready_file(self, info: dict[str, Any]) -> None:
        path = ctx.options.egress_ready_file
        if not path:
            return
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".egress-ready.")
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)

    def _remove_ready_file(self) -> None:
        path = ctx.options.egress_ready_file
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                logger.warning("cannot remove ready file %s: %s", path, exc)

    def reload(self) -> None:
        """SIGHUP: re-read the routes file; on any error keep the current routes."""
        path = ctx.options.egress_routes
        kept = len(self.policy.routes) if self.policy else 0
        try:
            routes = load_routes(path)
        except Exception as exc:
            self._event("reload", status="error", file=path, error=str(exc), routes_kept=kept)
            return
        self.policy = Policy(routes)
        self._event("reload", status="ok", file=path, routes=len(routes))

    def _policy(self) -> Policy:
        return self.policy if self.policy is not None else Policy(())

    # ------------------------------------------------------------------ CONNECT

    def http_connect(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        try:
            host = _safe_host(req.host)
            decision = self._policy().decide(req.host)
            if decision.allowed:
                self._tunnels[flow.client_conn.id] = (normalize_host(req.host), req.port)
        except Exception as exc:  # fail closed
            logger.exception("egress: http_connect failed")
            decision = Decision(False, None, f"internal error: {exc}")
            host = _safe_host(getattr(req, "host", None))
        self._decision(
            "connect",
            decision.allowed,
            host,
            req.port,
            "CONNECT",
            None,
            decision.route.host if decision.route else None,
            decision.reason,
        )
        if not decision.allowed:
            flow.metadata[META] = "deny"
            flow.response = self._forbidden(decision.reason, host, None)

    # ------------------------------------------------------------------ requests

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._check_request(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        # Decided in requestheaders (before any body is streamed upstream); this
        # only catches a flow that somehow skipped it.
        verdict = flow.metadata.get(META)
        if verdict is None:
            self._check_request(flow)
        elif verdict == "deny" and flow.response is None:
            flow.response = self._forbidden("request denied", _safe_host(flow.request.host), None)

    def _check_request(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        host = _safe_host(req.host)
        method = req.method
        route_host: str | None = None
        ask = True
        try:
            decision, ask = self._decide_request(flow)
            route_host = decision.route.host if decision.route else None
        except Exception as exc:  # fail closed
            logger.exception("egress: request check failed")
            decision = Decision(False, None, f"internal error: {exc}")
        path = decision.path or try_normalize_path(req.path)
        self._decision(
            "request", decision.allowed, host, req.port, method, path, route_host, decision.reason
        )
        if decision.allowed:
            flow.metadata[META] = "allow"
            return
        flow.metadata[META] = "deny"
        if self._body_will_stream(req):
            # mitmproxy cannot answer before it has read the whole request body, and
            # it streams a body above stream_large_bodies (which a set response
            # forbids): close the connection instead. The log line above says why.
            if flow.killable:
                flow.kill()
            return
        # A body of unknown length (chunked, HTTP/2 without content-length) that turns
        # out larger than stream_large_bodies makes mitmproxy drop the connection when
        # it tries to start streaming: still nothing reaches upstream.
        flow.request.stream = False
        flow.response = self._forbidden(decision.reason, host, path, ask)

    @staticmethod
    def _body_will_stream(req: http.Request) -> bool:
        """True when the declared body is above ``stream_large_bodies``."""
        if req.stream:
            return True
        limit = human.parse_size(ctx.options.stream_large_bodies)
        length = req.headers.get("content-length")
        if limit is None or length is None:
            return False
        try:
            return int(length) > limit
        except ValueError:
            return True

    def _decide_request(self, flow: http.HTTPFlow) -> tuple[Decision, bool]:
        req = flow.request
        policy = self._policy()
        tunnel = self._tunnels.get(flow.client_conn.id)
        target = normalize_host(req.host)
        if tunnel is not None and tunnel[0] != target:
            return Decision(
                False, None, f"request target {target} is not the CONNECT target {tunnel[0]}"
            ), True
        host_values = list(req.headers.get_all("host"))
        if req.authority:
            host_values.append(req.authority)
        sni = flow.client_conn.sni if flow.client_conn.tls else None
        mismatch = authority_mismatch(target, host_values, sni)
        if mismatch is not None:
            return Decision(False, policy.route_for(target), mismatch), True
        decision = policy.decide(target, req.path, req.method)
        if not decision.allowed or decision.route is None:
            return decision, True
        req.headers.pop("Proxy-Authorization", None)  # meant for a proxy, never for upstream
        if decision.route.auth is not None:
            scheme, ref = decision.route.auth
            token = os.environ.get(ref, "")
            if not token:
                return Decision(
                    False,
                    decision.route,
                    f"the credential for host {target} is not available (environment variable"
                    f" {ref} is not set in the egress sidecar)",
                    decision.path,
                ), False
            req.headers.pop("Authorization", None)
            req.headers["Authorization"] = f"{scheme} {token}"
        return decision, True

    # ------------------------------------------------------------------ TLS

    def tls_clienthello(self, data: Any) -> None:
        client = data.context.client
        sni = data.client_hello.sni
        host: str | None = None
        port: int | None = None
        try:
            tunnel = self._tunnels.get(client.id)
            if tunnel is None:
                reason = "TLS is only accepted inside a CONNECT tunnel"
                allowed, route = False, None
            else:
                host, port = tunnel
                decision = self._policy().decide(host)
                route = decision.route
                allowed, reason = decision.allowed, decision.reason
                if allowed and sni is not None and _safe_host(sni) != host:
                    allowed = False
                    reason = f"TLS SNI {_safe_host(sni)} does not match the CONNECT target {host}"
                if allowed and route is not None and route.tls_passthrough:
                    data.ignore_connection = True
                    self._decision(
                        "tls", True, host, port, None, None, route.host, "tls_passthrough route"
                    )
                    return
        except Exception as exc:  # fail closed
            logger.exception("egress: tls_clienthello failed")
            allowed, route, reason = False, None, f"internal error: {exc}"
        if not allowed:
            data.ignore_connection = False
            self._refused_tls.add(client.id)
            self._decision(
                "tls", False, host or _safe_host(sni), port, None, None,
                route.host if route else None, reason,
            )  # fmt: skip

    def tls_start_client(self, data: Any) -> None:
        # Runs after mitmproxy's tlsconfig addon: taking its TLS object away makes
        # mitmproxy close the client connection instead of completing the handshake.
        if data.context.client.id in self._refused_tls:
            data.ssl_conn = None

    # ------------------------------------------------------------------ raw TCP

    def tcp_start(self, flow: Any) -> None:
        host: str | None = None
        port: int | None = None
        try:
            tunnel = self._tunnels.get(flow.client_conn.id)
            route = None
            if tunnel is not None:
                host, port = tunnel
                route = self._policy().decide(host).route
            if route is not None and route.tls_passthrough:
                flow.metadata[META] = "allow"
                self._decision(
                    "tcp", True, host, port, None, None, route.host, "tls_passthrough route"
                )
                return
            reason = (
                f"non-HTTP bytes inside the tunnel to {host} (the route is not tls_passthrough)"
                if tunnel is not None
                else "non-HTTP bytes outside a CONNECT tunnel"
            )
        except Exception as exc:  # fail closed
            logger.exception("egress: tcp_start failed")
            reason = f"internal error: {exc}"
        flow.metadata[META] = "deny"
        self._denied_servers.add(flow.server_conn.id)
        flow.server_conn.error = f"bot-bottle egress: {reason}"
        route_host = host if host and self._policy().route_for(host) else None
        self._decision("tcp", False, host, port, None, None, route_host, reason)
        if flow.killable:
            flow.kill()

    def tcp_message(self, flow: Any) -> None:
        if flow.metadata.get(META) != "allow" and flow.messages:
            flow.messages[-1].content = b""  # never relay a byte of a denied stream

    # ------------------------------------------------------------------ connections

    def server_connect(self, data: Any) -> None:
        server = data.server
        if server.address is None:
            return
        try:
            if server.id in self._denied_servers:
                self._denied_servers.discard(server.id)
                server.error = server.error or "bot-bottle egress: connection denied"
                return
            host, port = server.address[0], server.address[1]
            decision = self._policy().decide(host)
            if not decision.allowed:
                server.error = f"bot-bottle egress: {decision.reason}"
                self._decision(
                    "connection", False, _safe_host(host), port, None, None, None, decision.reason
                )
                return
            name = normalize_host(host)
            override = self.resolve.get((name, port)) or self.resolve.get((name, None))
            if override is not None:
                # The connection keeps the overriding address (mitmproxy forbids changing it
                # back once open), so it is not reused for the next request: fine for tests.
                server.address = (override[0], override[1] or port)
        except Exception as exc:  # fail closed
            logger.exception("egress: server_connect failed")
            server.error = f"bot-bottle egress: internal error: {exc}"

    def server_disconnected(self, data: Any) -> None:
        self._denied_servers.discard(data.server.id)

    def client_disconnected(self, client: Any) -> None:
        self._tunnels.pop(client.id, None)
        self._refused_tls.discard(client.id)


addons = [Egress()]
