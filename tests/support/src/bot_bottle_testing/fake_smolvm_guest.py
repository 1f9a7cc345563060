"""``machine exec`` and ``machine cp`` for the fake smolvm CLI.

There is no VM, so a machine's file system is a directory,
``<state-dir>/fake-smolvm-machines/NAME/root`` (made by the first ``start``):
``cp`` maps guest paths under it, and ``exec`` runs its argv *on the host*
with that directory (or ``-w DIR`` under it, made if missing) as its working
directory, the host's environment plus ``-e`` values, and
``SMOLVM_FAKE_ROOT`` naming the directory so a command can find files ``cp``
put there. Absolute paths in the argv are host paths. ``-u/--user`` is
accepted and ignored (the real CLI has it; bot-bottle wraps with ``runuser``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bot_bottle_testing.fake_smolvm_args import Parsed, SmolError, UsageError, parse_duration
from bot_bottle_testing.fake_smolvm_machine import lookup
from bot_bottle_testing.fake_smolvm_store import Store

KILLED = 137
TIMED_OUT = 124
ROOT_ENV = "SMOLVM_FAKE_ROOT"


def not_running(name: str) -> SmolError:
    return SmolError(
        "SMOLVM_ERROR",
        f"agent operation failed: connect: machine '{name}' is not running. Start it with "
        f"'smolvm machine start --name {name}'; if a start is already in progress, retry "
        "once it finishes.",
    )


def _running_root(store: Store, name: str) -> Path:
    if lookup(store, name).state != "running":
        raise not_running(name)
    return store.guest_root(name)


def _guest_path(root: Path, guest: str) -> Path:
    return root / guest.lstrip("/")


def exec_(store: Store, args: Parsed, name: str) -> int:
    if not args.command:
        raise UsageError(
            "the following required arguments were not provided:\n  <COMMAND>...\n\n"
            "Usage: smolvm machine exec --name <NAME> <COMMAND>..."
        )
    timeout = parse_duration(t) if (t := args.value("timeout")) is not None else None
    root = _running_root(store, name)
    if store.take_fault("exec-137"):
        return KILLED
    cwd = _guest_path(root, args.value("workdir") or "/")
    cwd.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **{ROOT_ENV: str(root)})
    for item in args.multi("env"):
        key, eq, value = item.partition("=")
        if eq:
            env[key] = value
    sys.stdout.flush()
    try:
        child = subprocess.Popen(
            args.command,
            cwd=cwd,
            env=env,
            stdin=None if args.flag("interactive") else subprocess.DEVNULL,
            start_new_session=not args.flag("tty"),
        )
    except OSError as err:
        print(f"{args.command[0]}: {err.strerror}", file=sys.stderr)
        return 127
    try:
        code = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(child)
        # The guest agent appends this to the command's stderr and answers 124.
        sys.stderr.write(f"\ncommand timed out after {int(timeout * 1000)}ms")
        sys.stderr.flush()
        return TIMED_OUT
    return 128 - code if code < 0 else code


def _kill(child: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        child.kill()
    child.wait()


def cp(store: Store, args: Parsed) -> int:
    if len(args.command) != 2:
        raise UsageError(
            "the following required arguments were not provided:\n  <SRC>\n  <DST>\n\n"
            "Usage: smolvm machine cp [OPTIONS] <SRC> <DST>"
        )
    src, dst = args.command
    if ":" in src:
        name, _, guest = src.partition(":")
        upload = False
    elif ":" in dst:
        name, _, guest = dst.partition(":")
        upload = True
    else:
        raise SmolError(
            "CONFIG_ERROR",
            "config operation failed: cp: one of SRC or DST must use machine:path syntax "
            "(e.g., myvm:/workspace/file)",
        )
    target = _guest_path(_running_root(store, name), guest)
    if upload:
        if not Path(src).is_file():
            raise SmolError(
                "SMOLVM_ERROR",
                f"agent operation failed: read local file: {src}: No such file or directory "
                "(os error 2)",
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        if (mode := args.value("mode")) is not None:
            target.chmod(int(mode, 8))
    else:
        if not target.is_file():
            raise SmolError(
                "NOT_FOUND", f"agent operation failed: read file: {guest}: file not found"
            )
        shutil.copyfile(target, dst)
    return 0
