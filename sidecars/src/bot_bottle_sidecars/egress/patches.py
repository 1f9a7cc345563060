"""Two changes to mitmproxy's HTTP stream so refusals and failures read well.

mitmproxy 11.0.2 cannot do either from an addon:

* :func:`answer_before_body`: a request whose body mitmproxy streams (above
  ``stream_large_bodies``, or chunked once it grows past it) cannot be answered
  by the addon: setting ``flow.response`` makes ``start_request_stream`` raise.
  Patched, a stream that already has a response reads the body and drops it,
  then sends that response; nothing is ever dialled. The addon sets
  ``flow.request.stream = True`` with its 403 to take this path for any body.
* :func:`error_responses`: when upstream cannot be reached, mitmproxy sends its
  own HTML 502 whatever the ``error`` hook does. Patched, a ``flow.response`` set
  in the ``error`` hook is sent instead (only while nothing has been sent yet).

Both reach into mitmproxy's internals, so they apply only to
:data:`~bot_bottle_sidecars.egress.tuning.MITMPROXY_VERSION`. Without them the
proxy stays safe: a large denied upload is reset instead of answered, and an
upstream failure shows mitmproxy's page instead of bot-bottle's.
``sidecars/tests/test_egress_patches.py`` fails if either stops taking effect.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator
from typing import Any

from .tuning import MITMPROXY_VERSION

__all__ = ["active", "answer_before_body", "apply", "error_responses"]

_MARK = "_bot_bottle_patched"


def _version_problem() -> str | None:
    from mitmproxy import version

    if version.VERSION != MITMPROXY_VERSION:
        return f"mitmproxy {version.VERSION} is not {MITMPROXY_VERSION}"
    return None


def answer_before_body() -> str | None:
    """Patch in place, or say why not. Idempotent."""
    if problem := _version_problem():
        return problem
    from mitmproxy.proxy.layers import http as lhttp
    from mitmproxy.proxy.utils import expect

    stream = lhttp.HttpStream
    original = stream.start_request_stream
    if getattr(original, _MARK, False):
        return None

    def start_request_stream(self: Any) -> Generator[Any, Any, None]:
        if self.flow.response is not None:  # answered already: read and drop the body
            self.client_state = self.state_discard_request_body
            return
        yield from original(self)

    @expect(lhttp.RequestData, lhttp.RequestTrailers, lhttp.RequestEndOfMessage)
    def state_discard_request_body(self: Any, event: Any) -> Generator[Any, Any, None]:
        if isinstance(event, lhttp.RequestData):
            return
        # End of message (or trailers): the usual "response set by an addon" path.
        yield from self.state_consume_request_body(event)

    setattr(start_request_stream, _MARK, True)
    stream.start_request_stream = start_request_stream  # type: ignore[method-assign]
    stream.state_discard_request_body = state_discard_request_body  # type: ignore[attr-defined]
    return None


def error_responses() -> str | None:
    """Patch in place, or say why not. Idempotent."""
    if problem := _version_problem():
        return problem
    from mitmproxy import flow as mflow
    from mitmproxy.net.http import status_codes
    from mitmproxy.proxy.layers import http as lhttp

    stream = lhttp.HttpStream
    original = stream.handle_protocol_error
    if getattr(original, _MARK, False):
        return None

    def handle_protocol_error(self: Any, event: Any) -> Generator[Any, Any, None]:
        replaceable = (
            isinstance(event, lhttp.ResponseProtocolError)
            and event.code != status_codes.NO_RESPONSE
            and self.client_state == self.state_done  # the request was read in full
            and self.server_state == self.state_wait_for_response_headers  # nothing sent yet
            and self.flow.response is None
        )
        if not replaceable:
            yield from original(self, event)
            return
        self.flow.error = mflow.Error(event.message)
        yield lhttp.HttpErrorHook(self.flow)
        if (yield from self.check_killed(False)):
            return
        if self.flow.response is not None:
            self.flow.response.timestamp_start = time.time()
            yield from self.send_response()
            return
        yield lhttp.SendHttp(event, self.context.client)
        self.server_state = self.state_errored
        self.flow.live = False
        yield lhttp.DropStream(self.stream_id)

    setattr(handle_protocol_error, _MARK, True)
    stream.handle_protocol_error = handle_protocol_error  # type: ignore[method-assign]
    return None


def apply() -> dict[str, str | None]:
    """Both patches; each skipped one is reported on stderr. Returns name -> why skipped."""
    out = {"answer_before_body": answer_before_body(), "error_responses": error_responses()}
    for name, skipped in out.items():
        if skipped:
            print(f"bot-bottle egress: {name} not enabled ({skipped})", file=sys.stderr)
    return out


def active() -> bool:
    """True when a denied request with a body can be answered (the first patch is in place)."""
    from mitmproxy.proxy.layers import http as lhttp

    return bool(getattr(lhttp.HttpStream.start_request_stream, _MARK, False))
