"""Path allowlists, decided on every reading a server could make of the path.

The property test below is the contract: whatever path ``check_path`` admits,
no server in a model of the usual behaviours (percent-decoding or not, dropping
``;parameters`` before or after decoding or not at all, merging ``//`` or not,
resolving dot segments, Unicode normalisation) ends up outside the allowlist.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from urllib.parse import unquote_to_bytes

import pytest
from bot_bottle_sidecars.routes.paths import Prefix, check_path, path_as_sent, prefix_problem
from hypothesis import example, given, settings
from hypothesis import strategies as st

PREFIXES = tuple(Prefix.parse(p) for p in ("/allowed", "/repos/a/", "/files/my%20dir"))


def allowed(path: str) -> bool:
    return check_path(path, PREFIXES) is None


# --------------------------------------------------------------------------- the bypass classes


@pytest.mark.parametrize(
    "path",
    [
        # ;parameters: whatever sits inside one is checked, and ';' right after a
        # prefix names a sibling on a server that keeps parameters
        "/repos/a;evil",
        "/repos/a;/../a-evil",
        "/allowed;x/../../secret",
        "/allowed/x;%2f..%2f..%2fsecret",
        "/allowed/x;/%2e%2e/%2e%2e/secret",
        "/allowed/..;/secret",
        "/allowed/.;x/../secret",
        "/allowed;jsessionid=1/x",
        "/allowed/x/..;jsessionid=1/../../secret",
        "/allowed/..%3b/secret",
        # dot segments in every spelling
        "/allowed/../secret",
        "/allowed/./x",
        "/allowed/x/../y",
        "/allowed/%2e%2e/secret",
        "/allowed/%2E%2E/secret",
        "/allowed/.%2E/secret",
        "/allowed/%2e/x",
        "/allowed%2f..%2fsecret",
        "/allowed/..%2Fsecret",
        "/allowed//../secret",
        "/x/../allowed",
        "/allowed/%EF%BC%8E%EF%BC%8E/secret",  # full-width dots, NFKC-normalised by some servers
        "/allowed%EF%BC%8F..%EF%BC%8Fsecret",  # full-width solidus
        "/allowed/%c0%ae%c0%ae/secret",  # overlong UTF-8
        # encodings a server decodes twice, or splits on
        "/allowed/%252e%252e/secret",
        "/allowed/%252fx",
        "/allowed%3F/../secret",
        "/allowed%23/../secret",
        "/allowed/x#/../../secret",
        "/allowed/..\\secret",
        "/allowed/..%5csecret",
        "/allowed/%00",
        "/allowed/%0d%0aX-Injected:%201",
        "/allowed/\u00e9",
        "/allowed/a b",
        "/allowed/%zz",
        "/allowed/%ff",
        # prefix boundaries
        "/allowedx",
        "/allowed-evil",
        "/repos/a-evil",
        "/repos/a%2d-evil",
        "/Allowed",
        "/secret?/allowed",
        "//allowed",
        "/repos//a/x",
        "/files/my dir",
        "/files/my%2520dir",
        "/",
        "",
        "*",
        "allowed",
    ],
)
def test_bypass_forms_are_refused(path):
    assert not allowed(path), path


@pytest.mark.parametrize(
    "path",
    [
        "/allowed",
        "/allowed/",
        "/allowed/x?q=1",
        "/allowed/x?next=/../../secret",
        "/allowed//x",
        "/allowed/x;v=1",
        "/allowed/%61b",
        "/allowed/caf%C3%A9",
        "/allowed/100%25",
        "/repos/a",
        "/repos/a/pulls/1",
        "/repos/a/git/refs/heads/feature%2Fx",
        "/files/my%20dir/readme",
        "/files/my%20dir",
    ],
)
def test_ordinary_paths_pass(path):
    assert allowed(path), check_path(path, PREFIXES)


def test_the_refusal_says_which_reading_escaped():
    assert check_path("/repos/a;evil", PREFIXES) == (
        "path '/repos/a;evil' is outside the allowlist [/allowed, /repos/a/, /files/my%20dir]"
    )
    why = check_path("/allowed/x;%2f..%2f..%2fsecret", PREFIXES)
    assert why is not None and "'..' segment when read percent-decoded" in why


def test_the_log_records_the_path_as_sent():
    assert path_as_sent("/allowed;x/%2e%2e/y?token=z") == "/allowed;x/%2e%2e/y"


@pytest.mark.parametrize(
    ("prefix", "fragment"),
    [
        ("x", "start with '/'"),
        ("/a?b", "query"),
        ("/a#b", "query or fragment"),
        ("/a;b", "';'"),
        ("//a", "'//'"),
        ("/a/../b", "'..' segments"),
        ("/a/%2e%2e/b", "'..' segments"),
        ("/a/%252e", "twice"),
        ("/a%zz", "malformed"),
        ("/a b", "space"),
        ("/ü", "non-ASCII"),
    ],
)
def test_prefix_problems(prefix, fragment):
    problem = prefix_problem(prefix)
    assert problem is not None and fragment in problem, problem


# --------------------------------------------------------------------------- a model of servers

UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _rfc3986(path: str) -> str:
    def fix(m):
        ch = chr(int(m.group(1), 16))
        return ch if ch in UNRESERVED else "%" + m.group(1).upper()

    return re.sub(r"%([0-9A-Fa-f]{2})", fix, path)


def _strip(path: str) -> str:
    return "/".join(s.split(";", 1)[0] for s in path.split("/"))


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    segs = path.split("/")[1:]
    for i, seg in enumerate(segs):
        if seg == "..":
            if out:
                out.pop()
            if i == len(segs) - 1:
                out.append("")
        elif seg == ".":
            if i == len(segs) - 1:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


def server_readings(target: str) -> list[tuple[str, bool]]:
    """(path, decoded?) as each modelled server would route ``target``."""
    raw = target.split("?", 1)[0]
    out = []
    for decode, params, merge, nfkc in itertools.product(
        (False, True), ("keep", "before", "after"), (False, True), (False, True)
    ):
        path = raw
        if params == "before":
            path = _strip(path)
        if decode:
            path = unquote_to_bytes(path).decode("utf-8", "replace")
            if nfkc:
                path = unicodedata.normalize("NFKC", path)
        else:
            path = _rfc3986(path)
        if params == "after":
            path = _strip(path)
        if merge:
            path = re.sub("/+", "/", path)
        out.append((_remove_dot_segments(path), decode))
    return out


def _under(path: str, prefix: str) -> bool:
    p = prefix.rstrip("/")
    return path == p or path.startswith(p + "/") if p else path.startswith("/")


PIECES = st.sampled_from(
    [
        "/", "allowed", "repos", "a", "a-evil", "secret", "x", ".", "..", ";", ";x", "%2e",
        "%2E", "%2f", "%2F", "%3b", "%25", "%61", "%2e%2e", "//", "%ef%bc%8e", "%ef%bc%8f",
        "?", "=", "files", "my%20dir", "%20", "%c0%ae",
    ]
)  # fmt: skip


STARTS = st.sampled_from(["/allowed", "/allowed/", "/repos/a", "/repos/a/", "/files/my%20dir", "/"])


@settings(max_examples=3000, deadline=None)
@given(STARTS, st.lists(PIECES, max_size=8))
@example("/allowed/", [";", "%2f", "%2e%2e", ";"])  # decoded, then ;params split: '/allowed//..'
def test_no_server_reading_of_an_admitted_path_leaves_the_allowlist(start, pieces):
    target = start + "".join(pieces)
    if not allowed(target):
        return
    for path, decoded in server_readings(target):
        assert any(_under(path, p.decoded if decoded else p.raw) for p in PREFIXES), (
            target,
            path,
        )
