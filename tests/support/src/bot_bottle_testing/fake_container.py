"""A fake of Apple's ``container`` CLI (macOS only) that keeps the real one's contract.

Run it as ``python -m bot_bottle_testing.fake_container ARGS...``, or put the shim
that :func:`install_fake_container` writes first on ``PATH``. State lives in the
directory named by ``$CONTAINER_FAKE_STATE_DIR`` (the fake refuses to run without
it); layout and the test switches :func:`set_service` and
:func:`set_container_state` are in :mod:`~bot_bottle_testing.fake_container_store`.

The contract is container 1.x as its source says (github.com/apple/container at
af405ffd, just after tag 1.2.2; the files are listed in
``bot_bottle_macos_container.container_cli``). No macOS host was at hand, so it
was read, not observed:

* Errors: ``Error: MESSAGE`` on stderr, exit 1. A ContainerizationError from the
  service renders as ``CODE: "MESSAGE"``, wrapped by the client as
  ``internalError: "failed to delete container" (cause: "notFound: "container with
  ID NAME not found"")``; one the CLI raises itself renders as its bare message.
  Usage errors are swift-argument-parser's (``Error: Unknown option '--x'`` and a
  usage line), exit 64.
* ``list|ls [-a|--all] [--format json|table|yaml|toml] [-q|--quiet]``: only running
  containers without ``--all``; JSON is one line, keys sorted, ``/`` escaped as
  ``\\/`` (Swift's JSONEncoder), ``[]`` when empty. Entry shape:
  :meth:`~bot_bottle_testing.fake_container_store.Container.listing`.
  (``yaml``/``toml`` are refused by the fake.)
* ``create``/``run -d`` ``[--name N] [-l|--label K=V]... [-e|--env K=V]... [-u U]
  [-w DIR] IMAGE [ARGS...]``: print the ID (``--name``, else a lower-case UUID);
  ``create`` leaves it ``stopped``, ``run -d`` ``running``. A taken name: ``Error:
  container with id N already exists``; a bad one: ``Error: container ID N is not a
  valid container ID``. Images are not pulled; ``run`` without ``-d`` is refused
  (the fake has no VM to attach to).
* ``stop [-a] [-s SIG] [-t N] ID...`` and ``delete|rm [-a] [-f] ID...``: each done
  ID printed on stdout; every failure gathered into one ``Error:`` (one line per
  ID), exit 1, the others still done. ``stop`` of a stopped container succeeds.
  ``delete`` of a running one without ``--force``: ``invalidState: "container ID
  is running and can not be deleted"``; of a ``stopping`` one, even forced:
  ``... is stopping and can not be deleted``. No ID and no ``--all``: ``Error: no
  containers specified and --all not supplied``, exit 1.
* ``exec [-d] [-i] [-t] [-e K=V]... [-u U] [-w DIR] ID ARGV...``: there is no VM,
  so ARGV runs on the host and its exit code passes through. Missing: ``Error: get
  failed: container ID not found``; not running: ``Error: container ID is not
  running``.
* ``system status [--format json|table] [-p PREFIX]``: ``{"status": "running",
  "apiServerVersion": ..., ...}`` exit 0; ``not running``/``unregistered``: the JSON
  with empty strings, exit 1 (table: ``apiserver is not running[ and not registered
  with launchd]`` on stdout). ``system start`` makes it running; ``system stop``
  stops every container and makes it unregistered.
* With the services not running every container command fails like the real
  client's XPC connection: ``Error: internalError: "failed to list containers"
  (cause: "interrupted: "XPC connection error: Connection invalid"")`` followed by
  ``Ensure container system service has been started with `container system
  start`.``, exit 1 (the exact XPC text is inferred from the source).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from bot_bottle_testing.fake_container_args import (
    ALL,
    CREATE,
    FORMAT,
    PROCESS,
    Opt,
    Parsed,
    UsageError,
    parse,
)
from bot_bottle_testing.fake_container_store import (
    Container,
    State,
    Store,
    now_iso,
    set_container_state,
    set_service,
)

__all__ = ["STATE_DIR_ENV", "install_fake_container", "main", "set_container_state", "set_service"]

STATE_DIR_ENV = "CONTAINER_FAKE_STATE_DIR"
USAGE_EXIT = 64  # swift-argument-parser's ExitCode.validationFailure (EX_USAGE)
API_SERVER_VERSION = "container-apiserver version 1.2.2 (build: release, commit: 0190097)"
START_HINT = "Ensure container system service has been started with `container system start`."
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_FORMATS = ("json", "table", "yaml", "toml")


class CliError(Exception):
    """``Error: MESSAGE``, exit 1."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(args)
    except UsageError as err:
        command = " ".join(["container", *args[:1]])
        print(
            f"Error: {err}\nUsage: {command} [<options>] ...\n"
            f"  See '{command} --help' for more details.",
            file=sys.stderr,
        )
        return USAGE_EXIT
    except CliError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1


def _dispatch(args: list[str]) -> int:
    if not args:
        raise UsageError("Missing expected argument '<subcommand>'")
    command, rest = args[0], args[1:]
    if command == "system":
        return _system(rest)
    handlers = {
        "list": _list,
        "ls": _list,
        "create": _create,
        "run": _run,
        "stop": _stop,
        "delete": _delete,
        "rm": _delete,
        "exec": _exec,
    }
    if command not in handlers:
        raise UsageError(f"Unexpected argument '{command}'")
    return handlers[command](rest)


def _store() -> Store:
    chosen = os.environ.get(STATE_DIR_ENV)
    if not chosen:
        raise CliError(
            f"the fake container CLI keeps its state under ${STATE_DIR_ENV}; set it "
            "(it never touches a real container service)."
        )
    return Store(Path(chosen))


def _service_down(state: State, wrapped: str) -> CliError | None:
    if state.service == "running":
        return None
    cause = 'interrupted: "XPC connection error: Connection invalid"'
    return CliError(f'internalError: "{wrapped}" (cause: "{cause}")\n{START_HINT}')


def _print_json(value: object) -> None:
    # Swift's JSONEncoder: compact, sorted keys (JSONOptions.compact), "/" escaped.
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    print(text.replace("/", "\\/"))


def _format(parsed: Parsed, allowed: Sequence[str] = ("json", "table")) -> str:
    fmt = parsed.value("format", "table") or "table"
    if fmt not in _FORMATS:
        raise UsageError(f"The value '{fmt}' is invalid for '--format <format>'")
    if fmt not in allowed:
        raise CliError(f"the fake container CLI does not print {fmt}")
    return fmt


# -- system


def _system(rest: list[str]) -> int:
    if not rest:
        raise UsageError("Missing expected argument '<subcommand>'")
    sub, words = rest[0], rest[1:]
    store = _store()
    if sub == "status":
        parsed = parse(
            words, (FORMAT, Opt("--prefix", "prefix", short="-p")), passthrough_after=None
        )
        fmt = _format(parsed)
        with store.locked() as state:
            service = state.service
        if service == "running":
            if fmt == "json":
                _print_json(_status_body("running", running=True))
            else:
                print("FIELD              VALUE\nstatus             running")
                print(f"apiserver.version  {API_SERVER_VERSION}")
            return 0
        if fmt == "json":
            _print_json(_status_body(service, running=False))
        elif service == "unregistered":
            print("apiserver is not running and not registered with launchd")
        else:
            print("apiserver is not running")
        return 1
    if sub == "start":
        with store.locked() as state:
            state.service = "running"
        return 0
    if sub == "stop":
        with store.locked() as state:
            state.service = "unregistered"
            for c in state.containers.values():
                c.state = "stopped"
        return 0
    raise UsageError(f"Unexpected argument '{sub}'")


def _status_body(status: str, *, running: bool) -> dict[str, object]:
    # PrintableStatus: empty strings when not running, logRoot left out when unset.
    return {
        "apiServerAppName": "container-apiserver" if running else "",
        "apiServerBuild": "release" if running else "",
        "apiServerCommit": "0190097d06df0b9065f4c2d2c7873c649d81d493" if running else "",
        "apiServerVersion": API_SERVER_VERSION if running else "",
        "appRoot": "/Users/u/Library/Application Support/com.apple.container/" if running else "",
        "installRoot": "/usr/local/" if running else "",
        "status": status,
    }


# -- containers


def _list(words: list[str]) -> int:
    parsed = parse(
        words,
        (ALL, FORMAT, Opt("--quiet", "quiet", short="-q", kind="flag")),
        passthrough_after=None,
    )
    fmt = _format(parsed)
    if parsed.positional:
        raise UsageError(f"Unexpected argument '{parsed.positional[0]}'")
    with _store().locked() as state:
        if (down := _service_down(state, "failed to list containers")) is not None:
            raise down
        shown = [
            c
            for _, c in sorted(state.containers.items())
            if parsed.flag("all") or c.state == "running"
        ]
    if parsed.flag("quiet"):
        for c in shown:
            print(c.id)
    elif fmt == "json":
        _print_json([c.listing() for c in shown])
    else:
        print("ID  IMAGE  OS  ARCH  STATE  IP  CPUS  MEMORY  STARTED")
        for c in shown:
            print(f"{c.id}  {c.image}  linux  arm64  {c.state}    4  1024 MB  {c.started or ''}")
    return 0


def _create(words: list[str]) -> int:
    return _make(words, run=False)


def _run(words: list[str]) -> int:
    return _make(words, run=True)


def _make(words: list[str], *, run: bool) -> int:
    parsed = parse(words, CREATE, passthrough_after=1)
    if not parsed.positional:
        raise UsageError("Missing expected argument '<image>'")
    if run and not parsed.flag("detach"):
        raise CliError("the fake container CLI runs containers detached only (pass -d)")
    image, *arguments = parsed.positional
    name = parsed.value("name") or str(uuid.uuid4())
    if len(name) > 63 or not _NAME_RE.match(name):
        raise CliError(f"container ID {name} is not a valid container ID")
    labels = {}
    for spec in parsed.multi("label"):
        key, _, value = spec.partition("=")
        labels[key] = value
    with _store().locked() as state:
        if (down := _service_down(state, "failed to create container")) is not None:
            raise down
        if name in state.containers:
            raise CliError(f"container with id {name} already exists")
        state.containers[name] = Container(
            id=name,
            image=image,
            state="running" if run else "stopped",
            labels=labels,
            arguments=arguments,
            env=parsed.multi("env"),
            user=parsed.value("user"),
            workdir=parsed.value("workdir", "/") or "/",
            started=now_iso() if run else None,
        )
    print(name)
    return 0


def _ids(parsed: Parsed, state: State) -> list[str]:
    if parsed.flag("all") and parsed.positional:
        raise CliError("explicitly supplied container IDs conflict with the --all flag")
    if parsed.flag("all"):
        return sorted(state.containers)
    if not parsed.positional:
        raise CliError("no containers specified and --all not supplied")
    return list(dict.fromkeys(parsed.positional))  # a Set in the real CLI


def _missing(verb: str, cid: str) -> str:
    cause = f'notFound: "container with ID {cid} not found"'
    return f'internalError: "failed to {verb} container" (cause: "{cause}")'


def _stop(words: list[str]) -> int:
    opts = (ALL, Opt("--signal", "signal", short="-s"), Opt("--time", "time", short="-t"))
    parsed = parse(words, opts, passthrough_after=None)
    errors = []
    with _store().locked() as state:
        ids = _ids(parsed, state)
        if (down := _service_down(state, "failed to stop container")) is not None:
            raise down
        for cid in ids:
            c = state.containers.get(cid)
            if c is None:
                errors.append(_missing("stop", cid))
                continue
            c.state = "stopped"
            print(cid)
    if errors:
        raise CliError("\n".join(errors))
    return 0


def _delete(words: list[str]) -> int:
    parsed = parse(
        words, (ALL, Opt("--force", "force", short="-f", kind="flag")), passthrough_after=None
    )
    force = parsed.flag("force")
    errors = []
    with _store().locked() as state:
        ids = _ids(parsed, state)
        if (down := _service_down(state, "failed to delete container")) is not None:
            raise down
        if parsed.flag("all") and not force:
            ids = [cid for cid in ids if state.containers[cid].state != "running"]
        for cid in ids:
            c = state.containers.get(cid)
            if c is None:
                errors.append(_missing("delete", cid))
                continue
            if c.state == "stopping" or (c.state == "running" and not force):
                why = f'invalidState: "container {cid} is {c.state} and can not be deleted"'
                errors.append(f'internalError: "failed to delete container" (cause: "{why}")')
                continue
            del state.containers[cid]
            print(cid)
    if errors:
        raise CliError("\n".join(errors))
    return 0


def _exec(words: list[str]) -> int:
    parsed = parse(words, PROCESS, passthrough_after=1)
    if not parsed.positional:
        raise UsageError("Missing expected argument '<container-id>'")
    cid, *argv = parsed.positional
    with _store().locked() as state:
        if (down := _service_down(state, "failed to list containers")) is not None:
            raise down
        c = state.containers.get(cid)
        if c is None:
            raise CliError(f"get failed: container {cid} not found")
        if c.state != "running":
            raise CliError(f"container {cid} is not running")
    if not argv:
        raise CliError("no command specified for exec")
    env = dict(os.environ)
    for spec in parsed.multi("env"):
        key, _, value = spec.partition("=")
        env[key] = value
    if parsed.flag("detach"):
        subprocess.Popen(argv, env=env, start_new_session=True)
        print(cid)
        return 0
    try:
        return subprocess.run(argv, env=env, check=False).returncode
    except OSError as exc:
        raise CliError(f"failed to exec process {exc}") from None


def install_fake_container(directory: Path) -> Path:
    """Write an executable ``container`` into ``directory`` that runs this fake; returns its
    path. Put ``directory`` first on ``PATH`` and set ``$CONTAINER_FAKE_STATE_DIR``."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "container"
    shim.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m bot_bottle_testing.fake_container "$@"\n'
    )
    shim.chmod(0o755)
    return shim


if __name__ == "__main__":
    sys.exit(main())
