"""Command-line parsing for the fake smolvm CLI, shaped like the real one's (clap).

The real CLI accepts its global options (``--state-dir``, ``--error-format``)
before or after the subcommand, ``--opt value`` and ``--opt=value``, and stops
reading options at ``--`` or, for commands taking a trailing command, at the
first word that is not an option. A usage error prints clap's shape
(``error: ...`` then ``For more information, try '--help'.``) and exits 2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import attrs

USAGE_EXIT = 2
ERROR_FORMATS = ("text", "json")


class UsageError(Exception):
    """A command line the real CLI refuses before doing anything (exit 2)."""


@attrs.frozen
class Option:
    long: str
    dest: str
    short: str | None = None
    # "flag": no value; "value": the last one wins; "multi": repeatable, kept in order.
    kind: Literal["flag", "value", "multi"] = "value"
    metavar: str = ""


@attrs.frozen
class Globals:
    state_dir: str | None
    error_format: str
    rest: list[str]


@attrs.frozen
class Parsed:
    values: dict[str, object]
    command: list[str]

    def flag(self, dest: str) -> bool:
        return bool(self.values.get(dest))

    def value(self, dest: str) -> str | None:
        got = self.values.get(dest)
        return got if isinstance(got, str) else None

    def multi(self, dest: str) -> list[str]:
        got = self.values.get(dest)
        return list(got) if isinstance(got, list) else []


def split_globals(argv: Sequence[str]) -> Globals:
    """Take the global options out of ``argv`` wherever they stand before ``--``."""
    state_dir: str | None = None
    error_format = "text"
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name, eq, inline = arg.partition("=")
        if name in ("--state-dir", "--error-format"):
            if eq:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise UsageError(
                    f"a value is required for '{name} <{_metavar(name)}>' but none was supplied"
                )
            if name == "--state-dir":
                state_dir = value
            elif value not in ERROR_FORMATS:
                raise UsageError(
                    f"invalid value '{value}' for '--error-format <ERROR_FORMAT>'\n"
                    "  [possible values: text, json]"
                )
            else:
                error_format = value
        else:
            rest.append(arg)
        i += 1
    return Globals(state_dir=state_dir, error_format=error_format, rest=rest)


def _metavar(name: str) -> str:
    return "PATH" if name == "--state-dir" else "ERROR_FORMAT"


def parse(
    argv: Sequence[str],
    options: Sequence[Option],
    *,
    command: Literal["none", "after_dashdash", "trailing"] = "none",
) -> Parsed:
    """Parse one subcommand's arguments.

    ``command``: "none" takes no positional words, "after_dashdash" takes a
    command only after ``--`` (``machine create``), "trailing" takes one from
    the first positional word on (``machine exec``).
    """
    by_name: dict[str, Option] = {}
    for opt in options:
        by_name[opt.long] = opt
        if opt.short:
            by_name[opt.short] = opt
    values: dict[str, object] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            if command == "none":
                raise UsageError(
                    f"unexpected argument '{argv[i + 1]}' found"
                    if i + 1 < len(argv)
                    else "unexpected argument '--' found"
                )
            return Parsed(values, list(argv[i + 1 :]))
        if not arg.startswith("-") or arg == "-":
            if command == "trailing":
                return Parsed(values, list(argv[i:]))
            raise UsageError(f"unexpected argument '{arg}' found")
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
        opt = by_name.get(name)
        if opt is None:
            tip = f"\n\n  tip: to pass '{name}' as a value, use '-- {name}'"
            raise UsageError(f"unexpected argument '{name}' found{tip}")
        if opt.kind == "flag":
            if eq or inline:
                raise UsageError(
                    f"unexpected value '{inline}' for '{opt.long}' found; no more were expected"
                )
            values[opt.dest] = True
            i += 1
            continue
        if eq or inline:
            value = inline
        elif i + 1 < len(argv):
            i += 1
            value = argv[i]
        else:
            raise UsageError(
                f"a value is required for '{opt.long} <{opt.metavar}>' but none was supplied"
            )
        if opt.kind == "multi":
            existing = values.setdefault(opt.dest, [])
            assert isinstance(existing, list)
            existing.append(value)
        else:
            values[opt.dest] = value
        i += 1
    return Parsed(values, [])


def parse_count(value: str | None, flag: str, default: int) -> int:
    """A non-negative integer option, refused as clap refuses it."""
    if value is None:
        return default
    if not value.isdigit():
        raise UsageError(f"invalid value '{value}' for '{flag}': invalid digit found in string")
    return int(value)


_UNITS: dict[str, float] = {
    **dict.fromkeys(("nsec", "ns"), 1e-9),
    **dict.fromkeys(("usec", "us", "\u00b5s"), 1e-6),
    **dict.fromkeys(("msec", "ms"), 1e-3),
    **dict.fromkeys(("seconds", "second", "sec", "s"), 1.0),
    **dict.fromkeys(("minutes", "minute", "min", "m"), 60.0),
    **dict.fromkeys(("hours", "hour", "hr", "h"), 3600.0),
    **dict.fromkeys(("days", "day", "d"), 86400.0),
    **dict.fromkeys(("weeks", "week", "w"), 604800.0),
    **dict.fromkeys(("months", "month", "M"), 2630016.0),
    **dict.fromkeys(("years", "year", "y"), 31557600.0),
}
_PART = re.compile(r"\s*(\d+)\s*([^\d\s]*)")


def parse_duration(text: str) -> float:
    """Seconds in a humantime duration ("30s", "5m", "1m 30s"), as ``exec --timeout`` takes it."""
    where = f"invalid value '{text}' for '--timeout <DURATION>'"
    total = 0.0
    pos = 0
    if not text.strip():
        raise UsageError(f"{where}: value was empty")
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            raise UsageError(f"{where}: expected number at {pos}")
        number, unit = match.groups()
        if not unit:
            raise UsageError(f"{where}: time unit needed, for example {number}sec or {number}ms")
        if unit not in _UNITS:
            raise UsageError(
                f'{where}: unknown time unit "{unit}", supported units: ns, us/\u00b5s, ms, '
                "sec, min, hours, days, weeks, months, years (and few variations)"
            )
        total += int(number) * _UNITS[unit]
        pos = match.end()
    return total


class SmolError(Exception):
    """A failure the real CLI reports as ``Error: MESSAGE`` (or JSON with ``code``), exit 1."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
