"""A proposal as the operator reads it: nothing the agent wrote passes for ours, and
approving it grants nothing the operator was not shown.

* The justification, the Dockerfile and what egress logged of the agent's
  requests are the agent's text: every character a terminal acts on or does not
  show (escape sequences, CR, backspace, C1 controls, bidi overrides, zero-width
  and line-separator characters) is printed as an escape such as ``\\x1b``, and
  multi-line text sits under a ``  | `` margin, so no line of it can pass for a
  line of ours. Hosts, paths, ports and auth are printed from parsed routes,
  which hold printable ASCII only.
* Asking for a host that is already routed merges into its route
  (:func:`merge_route`): a new path prefix or port on a route that carries a
  credential extends where that credential goes, though the ask names none.
  :func:`credential_line` says so in words, beside the routes diff.
"""

from __future__ import annotations

import unicodedata

from bot_bottle_sidecars.routes import merge_route, read_document

from .supervision import Pending, Supervision

MARGIN = "  | "
# Every category a terminal may act on or not show: controls, format characters
# (bidi overrides, zero-width), surrogates, private use, unassigned, and the
# Unicode line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def escaped(text: str, *, keep: str = "\n\t") -> str:
    """``text`` with every hidden character but those in ``keep`` written as an escape."""
    return "".join(
        ch if ch in keep or unicodedata.category(ch) not in _HIDDEN else ascii(ch)[1:-1]
        for ch in text
    )


def one_line(text: str) -> str:
    """``text`` escaped for a line of ours (newlines too)."""
    return escaped(text, keep="\t")


def quoted(text: str) -> list[str]:
    """The agent's ``text`` as lines under :data:`MARGIN` (escaped; an empty text is one line)."""
    return [MARGIN + line for line in escaped(text).split("\n")]


def credential_line(sup: Supervision, item: Pending) -> str | None:
    """For a pending ask that would extend a route carrying a credential: which credential,
    and how it travels. None otherwise (or when the live routes cannot be read: the
    routes diff says why)."""
    asked = item.proposal.route
    if asked is None or item.answer is not None:
        return None
    try:
        routes = read_document(sup.routes_file(item.slug))[0].effective()
    except ValueError:
        return None
    merged = merge_route(routes, asked)
    auth = merged.route.auth
    if auth is None or not merged.changed:
        return None
    sent = f"{auth.header_name}: {auth.scheme + ' ' if auth.scheme else ''}<token>"
    return (
        f"credential: approval extends {merged.route.host}'s route, which carries"
        f" {auth.token_ref} (sent as '{sent}'): it goes with every request the route admits"
    )
