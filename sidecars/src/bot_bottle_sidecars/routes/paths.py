"""Path allowlists, decided on every reading a server could make of a path.

Servers disagree about request paths: some percent-decode before routing and
some do not, some drop ``;parameters`` from each segment (Tomcat, Spring) and
some keep them as part of the name, some merge ``//`` and some apply Unicode
normalisation. A path is admitted only when *every* such reading sits under an
allowlisted prefix on a segment boundary (``/repos/a`` admits ``/repos/a`` and
``/repos/a/x``, never ``/repos/a-evil`` nor ``/repos/a;evil``).

Refused outright, whatever the prefixes (each is read differently by some server):

* a ``'.'`` or ``'..'`` segment in any reading (``/a/../b``, ``/a/%2e%2e/b``,
  ``/a/..;x/b``, full-width dots);
* a fragment (``#``), a backslash (raw or ``%5c``), a space, control or
  non-ASCII byte in the raw path, a malformed escape (``%zz``), bytes that do not
  decode to UTF-8, a control character once decoded;
* anything still percent-encoded after one decode (``%252e``), and encoded
  ``?``, ``#`` or ``;`` (a server that decodes first would split there).

Raw readings are compared in RFC 3986 normal form (escapes of unreserved
characters decoded, hex upper-case), decoded readings with the prefix decoded.
The query is never part of the decision.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

__all__ = [
    "Prefix",
    "allowlist_problem",
    "check_path",
    "path_as_sent",
    "prefix_problem",
    "target_problem",
]

_PCT_TRIPLET = re.compile(r"%([0-9A-Fa-f]{2})")
_PCT_MALFORMED = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_MULTI_SLASH = re.compile(r"/{2,}")
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x21-\x7e]")


def _rfc3986(path: str) -> str:
    """Escapes of unreserved characters decoded, the others upper-cased (RFC 3986 §6.2.2)."""

    def fix(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    return _PCT_TRIPLET.sub(fix, path)


def _strip_params(path: str) -> str:
    return "/".join(seg.split(";", 1)[0] for seg in path.split("/"))


def _decode(path: str) -> str:
    """One percent-decode, UTF-8 strict; ``ValueError`` says what is wrong."""
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("does not decode to UTF-8") from None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        raise ValueError("holds an encoded control character")
    if "\\" in decoded:
        raise ValueError("holds an encoded backslash")
    if _PCT_TRIPLET.search(decoded):
        raise ValueError("is percent-encoded twice")
    return decoded


def _raw_problem(raw: str) -> str | None:
    """What the raw path holds that servers decode differently (printable ASCII assumed)."""
    if "\\" in raw:
        return "holds a backslash"
    if _PCT_MALFORMED.search(raw):
        return "holds a malformed percent-escape"
    lowered = raw.lower()
    for escape, name in (("%3f", "'?'"), ("%23", "'#'"), ("%3b", "';'")):
        if escape in lowered:
            return f"holds an encoded {name}"
    return None


def path_as_sent(target: str) -> str:
    """The request target without its query: what the decision log records."""
    return target.split("?", 1)[0]


def _under(path: str, prefix: str) -> bool:
    p = prefix.rstrip("/")
    if not p:
        return path.startswith("/")
    return path == p or path.startswith(p + "/")


def _has_dot_segment(path: str) -> bool:
    return any(seg in (".", "..") for seg in path.split("/"))


@dataclass(frozen=True)
class Prefix:
    """One allowlisted prefix, in the forms the readings are compared with."""

    text: str  # as written in the routes
    raw: str  # RFC 3986 normal form
    decoded: str

    @classmethod
    def parse(cls, text: str) -> Prefix:
        """``ValueError`` when ``text`` is not a usable prefix (see :func:`prefix_problem`)."""
        problem = prefix_problem(text)
        if problem:
            raise ValueError(problem)
        return cls(text, _rfc3986(text), _decode(text))


def prefix_problem(text: str) -> str | None:
    """Why ``text`` cannot be a path prefix, or None."""
    if not text.startswith("/"):
        return f"path {text!r} must start with '/'"
    if "?" in text or "#" in text:
        return f"path {text!r} must not contain a query or fragment"
    if ";" in text:
        return f"path {text!r} must not contain ';'"
    if "//" in text:
        return f"path {text!r} must not contain '//'"
    if _NOT_PRINTABLE_ASCII.search(text):
        return f"path {text!r} holds a space, control or non-ASCII character (percent-encode it)"
    problem = _raw_problem(text)
    if problem:
        return f"path {text!r} {problem}"
    try:
        decoded = _decode(text)
    except ValueError as exc:
        return f"path {text!r} {exc}"
    if _has_dot_segment(_rfc3986(text)) or _has_dot_segment(decoded):
        return f"path {text!r} must not contain '.' or '..' segments"
    return None


def _readings(raw: str) -> list[tuple[str, str, bool]]:
    """(name, path, decoded?) for every reading of ``raw``; ``ValueError`` if one is unsafe."""
    if "%" not in raw and ";" not in raw:
        return [("as sent", raw, False), ("as sent", raw, True)]
    stripped = _strip_params(raw)
    out = [
        ("as sent", _rfc3986(raw), False),
        ("with ;parameters removed", _rfc3986(stripped), False),
        ("percent-decoded", _decode(raw), True),
        ("percent-decoded with ;parameters removed", _decode(stripped), True),
        # A server may also decode first and split parameters after: %2F and
        # %3B then make segment and parameter boundaries of their own.
        ("percent-decoded, then ;parameters removed", _strip_params(_decode(raw)), True),
    ]
    for name, path, _dec in out[2:]:
        if not path.isascii():
            nfkc = unicodedata.normalize("NFKC", path)
            if nfkc != path:
                out.append((f"{name} and Unicode-normalised", nfkc, True))
    return out


def target_problem(target: str) -> str | None:
    """Why ``target`` is not a plain origin-form request target, whatever the route.

    Checked for every request, with or without a path allowlist: an HTTP/2
    ``:path`` holding CR LF becomes a second request line once mitmproxy writes it
    as HTTP/1, and an absolute-form ``:path`` names another host than the one
    egress checked.
    """
    if target == "*":
        return None  # OPTIONS *: no path at all
    if not target.startswith("/"):
        return f"request target {target[:200]!r} is not a path starting with '/'"
    if _NOT_PRINTABLE_ASCII.search(target):
        return (
            f"request target {target[:200]!r} holds a space, control or non-ASCII character"
            " (percent-encode it)"
        )
    if "#" in target:
        return "the request target holds a fragment ('#')"
    return None


def check_path(target: str, prefixes: Iterable[Prefix]) -> str | None:
    """None when every reading of ``target`` sits under one of ``prefixes``; else why not.

    ``target`` is the request target as sent (origin form, query included).
    """
    if target == "*":
        return "the asterisk-form request target has no path"
    return target_problem(target) or allowlist_problem(target, prefixes)


def allowlist_problem(target: str, prefixes: Iterable[Prefix]) -> str | None:
    """:func:`check_path` for a ``target`` that :func:`target_problem` has passed."""
    if target == "*":
        return "the asterisk-form request target has no path"
    raw = path_as_sent(target)
    shown = raw[:200]
    problem = _raw_problem(raw)
    if problem:
        return f"path {shown!r} {problem}"
    try:
        readings = _readings(raw)
    except ValueError as exc:
        return f"path {shown!r} {exc}"
    prefixes = tuple(prefixes)
    for name, path, decoded in readings:
        if _has_dot_segment(path):
            return f"path {shown!r} has a '.' or '..' segment when read {name}"
        for variant in (path, _MULTI_SLASH.sub("/", path)):
            if not any(_under(variant, p.decoded if decoded else p.raw) for p in prefixes):
                listed = ", ".join(p.text for p in prefixes)
                how = "" if name == "as sent" else f" when read {name}"
                merged = " with '//' merged" if variant != path else ""
                return f"path {shown!r}{how}{merged} is outside the allowlist [{listed}]"
    return None
