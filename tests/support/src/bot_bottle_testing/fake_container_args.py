"""The fake container CLI's argument parsing: options anywhere before the word that
starts a passthrough, as swift-argument-parser reads them (see :mod:`.fake_container`)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs


class UsageError(Exception):
    pass


@attrs.frozen
class Opt:
    long: str
    dest: str
    short: str | None = None
    kind: str = "value"  # "flag", "value" or "multi"
    aliases: tuple[str, ...] = ()


@attrs.frozen
class Parsed:
    values: dict[str, object]
    positional: list[str]

    def flag(self, dest: str) -> bool:
        return bool(self.values.get(dest))

    def value(self, dest: str, default: str | None = None) -> str | None:
        got = self.values.get(dest, default)
        return got if isinstance(got, str) else default

    def multi(self, dest: str) -> list[str]:
        got = self.values.get(dest)
        return list(got) if isinstance(got, list) else []


def parse(argv: Sequence[str], opts: Sequence[Opt], *, passthrough_after: int | None) -> Parsed:
    """Options anywhere before the positional that starts the passthrough (the image of
    ``run``, the ID of ``exec``); with ``passthrough_after=None`` every word is parsed."""
    names: dict[str, Opt] = {}
    for o in opts:
        for n in (o.long, *o.aliases, *((o.short,) if o.short else ())):
            names[n] = o
    values: dict[str, object] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if passthrough_after is not None and len(positional) >= passthrough_after:
            positional.extend(argv[i:])
            break
        if arg == "--":
            positional.extend(argv[i + 1 :])
            break
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            i += 1
            continue
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        shorts = [f"-{c}" for c in arg[1:]] if not arg.startswith("--") and len(arg) > 2 else []
        if shorts and all(names.get(s) and names[s].kind == "flag" for s in shorts):
            for s in shorts:  # -it
                values[names[s].dest] = True
            i += 1
            continue
        opt = names.get(name)
        if opt is None:
            raise UsageError(f"Unknown option '{name}'")
        if opt.kind == "flag":
            values[opt.dest] = True
            i += 1
            continue
        if eq:
            value = inline
        elif i + 1 < len(argv):
            i += 1
            value = argv[i]
        else:
            raise UsageError(f"Missing value for '{opt.long} <{opt.dest}>'")
        if opt.kind == "multi":
            existing = values.setdefault(opt.dest, [])
            assert isinstance(existing, list)
            existing.append(value)
        else:
            values[opt.dest] = value
        i += 1
    return Parsed(values, positional)


FORMAT = Opt("--format", "format")
ALL = Opt("--all", "all", short="-a", kind="flag")
PROCESS = (
    Opt("--env", "env", short="-e", kind="multi"),
    Opt("--interactive", "interactive", short="-i", kind="flag"),
    Opt("--tty", "tty", short="-t", kind="flag"),
    Opt("--user", "user", short="-u"),
    Opt("--workdir", "workdir", short="-w", aliases=("--cwd",)),
    Opt("--detach", "detach", short="-d", kind="flag"),
)
CREATE = (
    *PROCESS,
    Opt("--name", "name"),
    Opt("--label", "label", short="-l", kind="multi"),
    Opt("--rm", "rm", kind="flag", aliases=("--remove",)),
)
