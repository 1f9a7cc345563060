"""Every HTTP request the agent sends: decide, apply the verdict, then log it.

Decided in ``requestheaders`` (every request, each one on a keep-alive
connection too, before any body moves), on what the server could see:

1. a request inside a denied tunnel is refused with the tunnel's reason;
2. headers a server could read differently (:mod:`.headers`) are refused;
3. the request must name the tunnel's host and port, and every ``Host`` /
   ``:authority`` and the TLS SNI must agree with it;
4. the route decides (:meth:`~bot_bottle_sidecars.routes.policy.Policy.request`):
   port for the protocol, method, every reading of the path, and ``auth`` only
   over TLS (``scheme == "https"`` is exactly when mitmproxy dials upstream with
   TLS and verifies the certificate);
5. allowed: routing-override headers are stripped and the route's credential,
   from its token slot, replaces whatever the agent sent under that header.

A denied request gets the 403 at once (its body, if any, is read and dropped:
:mod:`.patches`). The verdict is set before the log line is written, and any
exception denies. ``error`` turns an upstream failure of an allowed request into
bot-bottle's own page (:func:`.refusal.failed`).
"""

from __future__ import annotations

import logging

from mitmproxy import ctx, http
from mitmproxy.utils import human

from bot_bottle_sidecars.routes.hosts import authority_mismatch, normalize_host, shown_host
from bot_bottle_sidecars.routes.paths import path_as_sent
from bot_bottle_sidecars.routes.policy import Decision

from . import patches, refusal
from .headers import scan_headers, set_credential, strip
from .state import META, EgressState
from .upstream import failure_cause, note_key

__all__ = ["Requests"]

logger = logging.getLogger(__name__)


class Requests:
    def __init__(self, state: EgressState) -> None:
        self.state = state

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._check(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        # Decided in requestheaders; this only catches a flow that skipped it.
        verdict = flow.metadata.get(META)
        if verdict is None:
            self._check(flow)
        elif verdict == "deny" and flow.response is None:
            flow.response = refusal.denied("request denied", shown_host(flow.request.host), None)

    # ------------------------------------------------------------------ deciding

    def _check(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        method = req.data.method.decode("latin-1")
        target = req.data.path.decode("latin-1")
        stripped: list[str] = []
        if flow.error is not None:
            # mitmproxy refused the request itself (malformed framing, say) and answers it
            # with a 400; it still passes through here once.
            reason = f"malformed request, refused by the HTTP parser: {flow.error.msg}"
            decision = Decision(False, reason, ask=False)
        else:
            try:
                decision, stripped = self._decide(flow, method, target)
            except Exception as exc:  # fail closed
                logger.exception("egress: request check failed")
                decision = Decision(False, f"internal error: {exc}", ask=False)
        host = shown_host(req.host) if req.host else None
        path = path_as_sent(target)
        if decision.allowed:
            flow.metadata[META] = "allow"
            if flow.client_conn.id not in self.state.tunnels:
                # Remembered so a reload can close the connection (an upgraded one
                # carries no more requests to check).
                targets = self.state.plain_targets.setdefault(flow.client_conn.id, set())
                targets.add((host or "", req.port))
        elif flow.error is not None:
            flow.metadata[META] = "deny"
        else:
            self._deny(flow, decision, host, path)
        extra = {"stripped": stripped} if stripped else {}
        self.state.log.decision(
            "request",
            decision.allowed,
            host=host,
            port=req.port or None,
            method=method,
            path=path,
            route=self.state.route_name(decision.route),
            reason=decision.reason,
            **extra,
        )

    def _decide(self, flow: http.HTTPFlow, method: str, target: str) -> tuple[Decision, list[str]]:
        req = flow.request
        state = self.state
        tunnel = state.tunnels.get(flow.client_conn.id)
        if tunnel is not None and not tunnel.decision.allowed:
            return tunnel.decision, []
        host = normalize_host(req.host)
        route = state.policy.route_for(host)
        if tunnel is not None and (host, req.port) != (tunnel.host, tunnel.port):
            return Decision(
                False,
                f"request target {host}:{req.port} is not the CONNECT target"
                f" {tunnel.host}:{tunnel.port}",
                route,
            ), []
        headers = scan_headers(req.headers)
        if headers.problem is not None:
            return Decision(False, headers.problem, route, ask=False), []
        if req.http_version not in ("HTTP/1.0", "HTTP/1.1"):
            return Decision(
                False,
                f"HTTP version {req.http_version[:20]!r} is not spoken here",
                route,
                ask=False,
            ), []
        tls = req.scheme == "https"
        host_values = [*headers.hosts, req.authority] if req.authority else headers.hosts
        sni = flow.client_conn.sni if flow.client_conn.tls else None
        mismatch = authority_mismatch(
            host, req.port, host_values, sni, default_port=443 if tls else 80
        )
        if mismatch is not None:
            return Decision(False, mismatch, route, ask=False), []
        decision = state.policy.request(host, req.port, tls=tls, method=method, target=target)
        if not decision.allowed or decision.route is None:
            return decision, []
        strip(req.headers, headers.strip)
        auth = decision.route.auth
        if auth is not None:
            token = state.tokens.token(decision.route)
            if not token:
                return Decision(
                    False,
                    f"the credential for host {host} is not available to egress (token slot"
                    f" {auth.token_ref})",
                    decision.route,
                    ask=False,
                ), headers.strip
            set_credential(req.headers, auth.header_name, auth.header_value(token))
        return decision, headers.strip

    # ------------------------------------------------------------------ refusing

    def _deny(self, flow: http.HTTPFlow, decision: Decision, host: str | None, path: str) -> None:
        flow.metadata[META] = "deny"
        flow.response = refusal.denied(decision.reason, host, path, decision.ask)
        try:
            if patches.active():
                # A stream that already has a response reads the body and drops it:
                # nothing is dialled, and the client gets the 403 afterwards.
                flow.request.stream = True
            elif self._body_will_stream(flow.request):
                # Without the patch mitmproxy cannot answer a streamed body: reset.
                flow.kill()
            else:
                flow.request.stream = False
        except Exception:
            logger.exception("egress: refusing the request body failed")
            if flow.killable:
                flow.kill()

    @staticmethod
    def _body_will_stream(req: http.Request) -> bool:
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

    # ------------------------------------------------------------------ upstream failures

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(META) != "allow" or flow.response is not None or flow.error is None:
            return
        try:
            host = shown_host(flow.request.host)
            key = note_key(flow.client_conn.id, flow.request.host, flow.request.port)
            note = self.state.upstream_notes.pop(key, None)
            refused = note.refused if note is not None else None
            if refused is not None:
                # Not a failure: the name points somewhere egress never dials.
                flow.metadata[META] = "deny"
                flow.response = refusal.denied(refused, host, None, ask=False)
                self.state.log.decision(
                    "connection", False, host=host, port=flow.request.port, reason=refused
                )
            else:
                status, cause = failure_cause(flow.error.msg, note)
                flow.response = refusal.failed(host, cause, status)
                self.state.log.event(
                    "failed", host=host, port=flow.request.port, status=status, cause=cause
                )
            flow.response.headers["Connection"] = "close"  # never reuse a failed connection
        except Exception:
            logger.exception("egress: building the failure page failed")
