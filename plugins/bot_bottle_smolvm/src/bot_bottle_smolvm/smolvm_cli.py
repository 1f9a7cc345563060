"""The ``smolvm`` CLI, as typed calls: the one place this plugin runs it.

Every call asks for ``--error-format json``, so a failure is told apart by its
stable code (``NOT_FOUND``) instead of its wording. A machine that is already
gone counts as stopped or deleted. ``delete`` always passes ``-f``: without it
the CLI prompts, and on a closed stdin prints "Cancelled" and exits 0, which
would look like success. An ``exec`` that dies with 137 (the exec was killed or
its connection dropped while the VM settles) is run once more.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from bot_bottle_core.errors import BotBottleError

# Lets tests (and a user who wants bot-bottle's machines apart) keep all smolvm
# state under one directory.
STATE_DIR_ENV = "BOT_BOTTLE_SMOLVM_STATE_DIR"
EXEC_KILLED = 137
EXEC_TIMED_OUT = 124
NOT_FOUND = "NOT_FOUND"
# States in which a machine has no VM running (any other, known or not, may have one).
DOWN_STATES = frozenset({"created", "stopped", "failed"})


class SmolvmError(BotBottleError):
    """A smolvm call failed; ``code`` is the CLI's stable error code when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class MachineNotFound(SmolvmError):
    pass


@attrs.frozen
class Machine:
    """One row of ``machine ls --json`` (the keys this plugin reads; others are ignored)."""

    name: str
    state: str  # created | running | stopped | failed | unreachable | frozen
    labels: Mapping[str, str] = attrs.field(factory=dict)
    created_at: int | None = None
    image: str | None = None
    network: bool = False
    pid: int | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def live(self) -> bool:
        """Whether its VM may still run: every state but the ones with no VM process.
        An unreachable, paused or frozen machine is a live bottle, never a leftover."""
        return self.state not in DOWN_STATES


def machine_from_json(row: Any) -> Machine:
    if not isinstance(row, dict) or not isinstance(row.get("name"), str):
        raise ValueError(f"not a machine: {row!r}")
    labels = row.get("labels") or {}
    created = row.get("created_at")
    pid = row.get("pid")
    return Machine(
        name=row["name"],
        state=str(row.get("state", "unknown")),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        created_at=created if isinstance(created, int) else None,
        image=row.get("image") if isinstance(row.get("image"), str) else None,
        network=bool(row.get("network")),
        pid=pid if isinstance(pid, int) else None,
    )


@attrs.frozen
class Smolvm:
    """The CLI at ``binary``; ``state_dir`` as ``--state-dir`` (default: the environment's)."""

    binary: str
    state_dir: Path | None = attrs.field(
        factory=lambda: Path(v) if (v := os.environ.get(STATE_DIR_ENV)) else None
    )

    def argv(self, *args: str) -> list[str]:
        state = ["--state-dir", str(self.state_dir)] if self.state_dir else []
        return [self.binary, *state, "--error-format", "json", *args]

    def run(
        self, *args: str, input: bytes | None = None, timeout: float | None = 300
    ) -> subprocess.CompletedProcess[bytes]:
        """Run one call; raise :class:`SmolvmError` unless it exits 0."""
        argv = self.argv(*args)
        try:
            done = subprocess.run(
                argv,
                input=input if input is not None else b"",
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise SmolvmError(f"The smolvm CLI {self.binary} is missing.") from None
        except subprocess.TimeoutExpired:
            raise SmolvmError(
                f"`smolvm {' '.join(args[:2])}` did not finish within {timeout:.0f} s."
            ) from None
        if done.returncode != 0:
            raise failure(args, done.returncode, done.stderr)
        return done

    # -- machines

    def ls(self) -> list[Machine]:
        out = self.run("machine", "ls", "--json").stdout
        try:
            rows = json.loads(out or b"[]")
            if not isinstance(rows, list):
                raise ValueError("not a list")
            return [machine_from_json(r) for r in rows]
        except ValueError as exc:
            raise SmolvmError(
                f"`smolvm machine ls --json` printed something that is not a list of"
                f" machines ({exc}); is {self.binary} a smolvm 1.x CLI?"
            ) from None

    def create(
        self,
        name: str,
        image: str,
        *,
        labels: Mapping[str, str] = {},
        cpus: int | None = None,
        mem_mib: int | None = None,
        network: Sequence[str] = (),
        ports: Sequence[str] = (),
        volumes: Sequence[str] = (),
        env: Mapping[str, str] = {},
        command: Sequence[str] = (),
    ) -> None:
        """``network``: the CLI's own flags (``--outbound-localhost-only`` and the like)."""
        args = ["machine", "create", "-n", name, "-I", image]
        for k, v in labels.items():
            args += ["--label", f"{k}={v}"]
        if cpus is not None:
            args += ["--cpus", str(cpus)]
        if mem_mib is not None:
            args += ["--mem", str(mem_mib)]
        args += network
        for p in ports:
            args += ["-p", p]
        for v in volumes:
            args += ["-v", v]
        for k, v in env.items():
            args += ["-e", f"{k}={v}"]
        if command:
            args += ["--", *command]
        self.run(*args, timeout=None)  # an image import can take minutes

    def start(self, name: str) -> None:
        self.run("machine", "start", "-n", name, timeout=None)

    def stop(self, name: str) -> bool:
        """Stop ``name``; False when there was no such machine (nothing to stop)."""
        try:
            self.run("machine", "stop", "-n", name)
        except MachineNotFound:
            return False
        return True

    def delete(self, name: str) -> bool:
        """Delete ``name`` (always ``-f``); False when it was already gone."""
        try:
            self.run("machine", "delete", "-n", name, "-f")
        except MachineNotFound:
            return False
        return True

    # -- inside a machine

    def exec_argv(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] = {},
        workdir: str | None = None,
        user: str | None = None,
        interactive: bool = False,
        tty: bool = False,
        timeout: float | None = None,
    ) -> list[str]:
        """The argv of an exec. smolvm has no ``--user``: the command runs under
        ``runuser -u USER --`` (the guest's root switching down, no password)."""
        args = ["machine", "exec", "--name", name]
        for k, v in env.items():
            args += ["-e", f"{k}={v}"]
        if workdir:
            args += ["-w", workdir]
        if interactive:
            args.append("-i")
        if tty:
            args.append("-t")
        if timeout is not None:
            args += ["--timeout", f"{int(timeout)}s"]  # the CLI wants a unit
        inner = ["runuser", "-u", user, "--", *argv] if user else list(argv)
        return self.argv(*args, "--", *inner)

    def exec(
        self,
        name: str,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        **options: Any,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``argv`` in the machine and return what it did, whatever its exit code;
        one retry when the exec itself was killed (137)."""
        full = self.exec_argv(name, argv, interactive=input is not None, **options)
        for attempt in (1, 2):
            done = subprocess.run(
                full, input=input if input is not None else b"", capture_output=True, check=False
            )
            if done.returncode != EXEC_KILLED or attempt == 2:
                break
        err = error_of(done.stderr) if done.returncode == 1 else None
        # Only the CLI's own answer, not whatever the command printed on its stderr.
        if err is not None and err == (NOT_FOUND, f"vm not found: {name}"):
            raise MachineNotFound(f"No smolvm machine {name}: {err[1]}", NOT_FOUND)
        return done

    def copy_in(self, source: Path, name: str, dest: str) -> None:
        self.run("machine", "cp", str(source), f"{name}:{dest}")

    def copy_out(self, name: str, source: str, dest: Path) -> None:
        self.run("machine", "cp", f"{name}:{source}", str(dest))


def error_of(stderr: bytes) -> tuple[str, str] | None:
    """The ``(code, message)`` of a JSON-format failure on ``stderr``, if it printed one."""
    for line in reversed(stderr.decode(errors="replace").splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            err = json.loads(line).get("error")
        except (ValueError, AttributeError):
            continue
        if isinstance(err, dict):
            return str(err.get("code") or ""), str(err.get("message") or "")
    return None


def failure(args: Sequence[str], code: int, stderr: bytes) -> SmolvmError:
    what = " ".join(a for a in args[:2])
    err = error_of(stderr)
    if err is None:
        # No JSON: the last lines that are not the CLI's own notes say what happened.
        lines = [
            ln
            for ln in stderr.decode(errors="replace").splitlines()
            if ln.strip() and not ln.startswith("note: ")
        ]
        detail = " ".join(lines[-3:]) or f"exit status {code}"
        return SmolvmError(f"`smolvm {what}` failed: {detail}")
    kind = MachineNotFound if err[0] == NOT_FOUND else SmolvmError
    return kind(f"`smolvm {what}` failed: {err[1]} ({err[0]}).", err[0])
