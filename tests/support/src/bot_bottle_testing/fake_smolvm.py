"""A fake ``smolvm`` CLI that keeps the real one's contract, for paths that need a booted VM.

Run it as ``python -m bot_bottle_testing.fake_smolvm ARGS...``, or put the shim
that :func:`install_fake_smolvm` writes first on ``PATH``. The real CLI
(smolvm 1.32.2 from the ``smolmachines`` wheel, ``smol/smol-vmm``) runs on
these hosts for everything but booting, and
``plugins/bot_bottle_smolvm/tests/test_smolvm_contract.py`` runs the same calls
against both so this fake cannot drift from it.

State: ``--state-dir PATH`` (before or after the subcommand, ``--state-dir=PATH``
too), else the environment variable ``SMOLVM_FAKE_STATE_DIR``; with neither the
fake refuses to run rather than guess. Layout: :mod:`~bot_bottle_testing.fake_smolvm_store`.
There is no VM: ``exec`` runs its argv on the host, and a machine's file system is a
directory under the state dir (:mod:`~bot_bottle_testing.fake_smolvm_guest` says how).

Fault injection (for the plugin's boot-dependent tests):

* ``set_fault(state_dir, "exec-137", times=1)``: the next exec exits 137 (killed)
  without running its command; later ones run normally;
* ``set_fault(state_dir, "boot-fails", times=None)`` or ``SMOLVM_FAKE_BOOT_FAILS=1``:
  ``start`` fails as it does on a host whose VMM cannot use ``/dev/kvm`` (below);
* ``set_fault(state_dir, "create-fails")``: ``create`` registers the machine, then
  fails with exit 1, leaving it registered (state ``created``).

A fault is the file ``<state-dir>/fake-smolvm-faults/KIND`` holding how many more
calls it hits, or ``always``; ``clear_fault`` removes it.

What the real CLI does, observed on it here (``note: no packed assets found ...``
goes to stderr on every call of the wheel's binary; the fake never prints it):

* ``--version``/``-V``: ``smolvm 1.32.2``, exit 0. ``--error-format json`` turns
  ``Error: MSG`` (stderr, exit 1) into ``{"error":{"code":"CODE","message":"MSG"}}``.
  Usage errors are clap's: ``error: ...`` on stderr, exit 2, whatever the format.
* A missing machine: ``start``/``stop``/``delete`` (with or without ``-f``)/``status``/
  ``exec``/``cp`` print ``Error: vm not found: NAME``, exit 1, code ``NOT_FOUND``;
  ``status --json`` instead says ``config operation failed: machine status: machine
  'NAME' not found`` (``CONFIG_ERROR``).
* ``ls --json`` with no machines: ``[]``; ``ls``: ``No machines found``; ``ls -q``: nothing.
  Each machine is a pretty-printed object with sorted keys (see ``Machine.listing``),
  ``state`` ``created`` after create, ``pid`` null, ``created_at`` epoch seconds,
  ``image`` as given for a registry reference, ``local:<sha256 of the archive>`` for
  a ``docker save`` tar (or ``-`` on stdin), ``local-dir:<real path>`` for a directory.
  Machines come sorted by name. ``--allow-cidr``/``--allow-host``/
  ``--outbound-localhost-only`` add ``allowed_cidrs`` (explicit, then resolved hosts,
  then ``127.0.0.0/8``, ``::1/128``) and ``allowed_hosts`` and set ``network``.
* ``create`` needs no VM: it records the machine (archive contents are not checked)
  and prints ``Created machine: NAME`` / ``  CPUs: 4, Memory: 8192 MiB`` / (``  Mounts:
  N``, ``  Ports: N`` when any) / blank / two ``Use 'smolvm machine ...`` hints. A
  name taken: ``config operation failed: create machine: machine 'NAME' already
  exists or is being created`` (``CONFIG_ERROR``). Without ``-n`` (and
  ``SMOLVM_MACHINE_NAME``) it makes ``vm-XXXXXXXX``.
* ``exec``/``cp`` on a machine that is not running: ``agent operation failed: connect:
  machine 'NAME' is not running. Start it with 'smolvm machine start --name NAME'; if
  a start is already in progress, retry once it finishes.`` (exit 1, ``SMOLVM_ERROR``).
  ``exec --timeout`` takes a duration with a unit (``30s``); a bare ``5`` is a usage
  error (exit 2). ``exec`` takes ``--name`` only, not ``-n``.
* ``stop`` of a machine that is not running: ``Machine 'NAME' is not running (state:
  created)`` on stdout, exit 0.
* ``delete`` without ``-f``: with stdin not a terminal, exit 1 and ``agent operation
  failed: delete: machine 'NAME' needs confirmation but stdin is not a terminal; pass
  --force ...`` (``SMOLVM_ERROR``); on a terminal it prompts ``Delete machine 'NAME'?
  [y/N] `` on stderr and, on EOF or any answer but y/yes, prints ``Cancelled`` on
  stdout, exit 0. ``delete -f``: ``Deleted machine: NAME``, preceded by ``Cleaning up
  data directory for vm: NAME`` once a start has made the data directory.
* ``start`` of a created machine here fails, exit 1 (``SMOLVM_ERROR``), in about a
  second: stderr ``Starting machine 'NAME'[ with N mount(s)][ and N port mapping(s)]...``,
  a coloured ``WARN VMM exited with code 1 pid=N cause=Exited`` log line, then one
  ``Error:`` line, the first that applies of:
  a state dir so long that ``<state-dir>/.cache/smolvm/vms/<16 hex>/agent.sock`` passes
  107 bytes (``SOCKET_TOO_LONG``; pytest's ``tmp_path`` is that long);
  a ``local-dir:`` image the VMM cannot reach once it has dropped root for a uid of its
  own (``LAYERS_NOT_FOUND``; again pytest's ``tmp_path``, under a 0700 directory);
  else ``BOOT_FAILURE``, the VMM failing to open ``/dev/kvm`` (root-only here).
  The machine stays ``created``, gains ``last_exit`` in ``ls --json``, ``status`` adds
  ``  last exit: VMM exited with code 1``, and ``delete -f`` first prints ``Cleaning up
  data directory for vm: NAME``. The fake fails the first two ways whenever they apply,
  the last only when the ``boot-fails`` fault is on.

Not observable here (no VM boots), so taken from smolvm's source: a started machine
is ``running`` with a ``pid`` (the fake's is the start call's own, not a live
process) and ``start`` prints ``Machine 'NAME' running (PID: N)``, again ``Machine
'NAME' already running (PID: N)`` (exit 0); ``stop`` prints ``Stopping machine
'NAME'...`` and ``Stopped machine: NAME``; ``exec`` passes the exit code through,
124 after ``--timeout`` with ``\\ncommand timed out after Nms`` on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot_bottle_testing import fake_smolvm_guest as guest
from bot_bottle_testing import fake_smolvm_machine as machine
from bot_bottle_testing.fake_smolvm_args import (
    USAGE_EXIT,
    Option,
    Parsed,
    SmolError,
    UsageError,
    parse,
    split_globals,
)
from bot_bottle_testing.fake_smolvm_create import NAME_ENV, create
from bot_bottle_testing.fake_smolvm_create import OPTIONS as CREATE_OPTIONS
from bot_bottle_testing.fake_smolvm_store import Store, clear_fault, set_fault

__all__ = ["STATE_DIR_ENV", "VERSION", "clear_fault", "install_fake_smolvm", "main", "set_fault"]

VERSION = "smolvm 1.32.2"
STATE_DIR_ENV = "SMOLVM_FAKE_STATE_DIR"

_NAME = Option("--name", "name", short="-n", metavar="NAME")
_EXEC = (
    Option("--name", "name", metavar="NAME"),
    Option("--env", "env", short="-e", kind="multi", metavar="KEY=VALUE"),
    Option("--workdir", "workdir", short="-w", metavar="DIR"),
    Option("--user", "user", short="-u", metavar="USER"),
    Option("--timeout", "timeout", metavar="DURATION"),
    Option("--interactive", "interactive", short="-i", kind="flag"),
    Option("--tty", "tty", short="-t", kind="flag"),
    Option("--stream", "stream", kind="flag"),
)
_CP = (
    Option("--mode", "mode", metavar="OCTAL"),
    Option("--uid", "uid", metavar="UID"),
    Option("--gid", "gid", metavar="GID"),
)
_Named = Callable[[Store, Parsed, str], int]
_NAMED: dict[str, tuple[tuple[Option, ...], _Named]] = {
    "start": ((_NAME,), machine.start),
    "stop": ((_NAME, Option("--timeout", "timeout", short="-t", metavar="SECONDS")), machine.stop),
    "delete": (
        (
            _NAME,
            Option("--force", "force", short="-f", kind="flag"),
            Option("--cascade", "cascade", kind="flag"),
        ),
        machine.delete,
    ),
    "status": ((_NAME, Option("--json", "json", kind="flag")), machine.status),
}
_LS = (
    Option("--json", "json", kind="flag"),
    Option("--quiet", "quiet", short="-q", kind="flag"),
    Option("--verbose", "verbose", short="-v", kind="flag"),
)
_ALIASES = {"vm": "machine", "rm": "delete", "list": "ls"}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        found = split_globals(args)
    except UsageError as err:
        return _usage(str(err))
    try:
        return _dispatch(found.rest, found.state_dir)
    except UsageError as err:
        return _usage(str(err))
    except SmolError as err:
        if found.error_format == "json":
            body = {"error": {"code": err.code, "message": err.message}}
            print(json.dumps(body, separators=(",", ":"), ensure_ascii=False), file=sys.stderr)
        else:
            print(f"Error: {err.message}", file=sys.stderr)
        return 1


def _usage(message: str) -> int:
    print(f"error: {message}\n\nFor more information, try '--help'.", file=sys.stderr)
    return USAGE_EXIT


def _dispatch(rest: list[str], state_dir: str | None) -> int:
    if rest[:1] in (["--version"], ["-V"]):
        print(VERSION)
        return 0
    if not rest or _ALIASES.get(rest[0], rest[0]) != "machine":
        what = f"unrecognized subcommand '{rest[0]}'" if rest else "a subcommand is required"
        raise UsageError(what)
    if len(rest) < 2:
        raise UsageError("'smolvm machine' requires a subcommand")
    command, words = _ALIASES.get(rest[1], rest[1]), rest[2:]
    store = _store(state_dir)
    if command in _NAMED:
        options, run = _NAMED[command]
        parsed = parse(words, options)
        return run(store, parsed, _name(parsed, command))
    if command == "create":
        return create(store, parse(words, CREATE_OPTIONS, command="after_dashdash"))
    if command == "ls":
        return machine.ls(store, parse(words, _LS))
    if command == "exec":
        parsed = parse(words, _EXEC, command="trailing")
        return guest.exec_(store, parsed, _name(parsed, command))
    if command == "cp":
        return guest.cp(store, parse(words, _CP, command="trailing"))
    raise UsageError(f"unrecognized subcommand '{rest[1]}'")


def _name(parsed: Parsed, command: str) -> str:
    given = parsed.value("name")
    if given is not None:
        return given
    name = os.environ.get(NAME_ENV) or "default"
    if command == "delete" and NAME_ENV not in os.environ:
        raise UsageError(
            "the following required arguments were not provided:\n  --name <NAME>\n\n"
            "Usage: smolvm machine delete --name <NAME>"
        )
    return name


def _store(state_dir: str | None) -> Store:
    chosen = state_dir or os.environ.get(STATE_DIR_ENV)
    if not chosen:
        raise SmolError(
            "CONFIG_ERROR",
            f"the fake smolvm keeps its machines under --state-dir PATH or ${STATE_DIR_ENV}; "
            "give one of them (it never uses the real smolvm's state).",
        )
    return Store(Path(chosen))


def install_fake_smolvm(directory: Path) -> Path:
    """Write an executable ``smolvm`` into ``directory`` that runs this fake; returns its path.

    Put ``directory`` first on ``PATH`` so code looking for ``smolvm`` finds it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "smolvm"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bot_bottle_testing.fake_smolvm "$@"\n')
    shim.chmod(0o755)
    return shim


if __name__ == "__main__":
    sys.exit(main())
