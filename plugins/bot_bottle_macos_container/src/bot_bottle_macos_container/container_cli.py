"""Apple's ``container`` CLI, typed: the one place this backend runs it.

The contract coded against is container 1.x (1.0.0 through 1.2.2 and main),
read from the source of github.com/apple/container at commit af405ffd (main,
just after tag 1.2.2): ``docs/command-reference.md``;
``Sources/ContainerCommands/Container/{ContainerList,ContainerDelete,ContainerStop,
ContainerExec}.swift``, ``Sources/ContainerCommands/System/SystemStatus.swift``,
``Sources/ContainerCommands/{Application,OutputRendering,AggregateError}.swift``;
``Sources/ContainerResource/Container/{ManagedContainer,ContainerConfiguration,
ContainerStatus,RuntimeStatus}.swift``; ``Sources/Services/ContainerAPIService/
Client/ContainerClient.swift`` and ``Server/Containers/ContainersService.swift``;
with error rendering from apple/containerization
(``Sources/ContainerizationError/ContainerizationError.swift``) and
apple/swift-argument-parser (``Sources/ArgumentParser/Usage/MessageInfo.swift``).
No macOS host was at hand: none of it is observed, all of it is read.

* Failures print ``Error: MESSAGE`` on stderr and exit 1; a usage error (an
  unknown option, a missing argument) exits 64.
* ``container list [--all] --format json``: one line, a JSON array (``[]`` when
  empty), keys sorted, dates ISO 8601. Each entry is
  ``{"configuration": {"id", "labels": {K: V}, "image": {"reference", ...},
  "initProcess", "platform", "resources", "creationDate", ...}, "id",
  "status": {"state", "networks", "startedDate"?}}``; ``state`` is ``running``,
  ``stopped``, ``stopping`` or ``unknown``. Without ``--all`` only running
  containers. There is no label filter: this module filters. Keys not read here
  are ignored (:mod:`~bot_bottle_macos_container.records`).
* ``container delete --force ID``: prints ``ID``, exit 0; a running container is
  killed first. A missing one: exit 1, ``Error: internalError: "failed to
  delete container" (cause: "notFound: "container with ID ID not found"")``.
  A ``stopping`` one cannot be deleted, even forced: the same shape with
  ``invalidState: "container ID is stopping and can not be deleted"``.
* ``container stop ID``: prints ``ID``, exit 0, also when already stopped; a
  missing one: ``Error: internalError: "failed to stop container" (cause:
  "notFound: "container with ID ID not found"")``, exit 1.
* ``container exec [--interactive] [--tty] ID ARGV...``: the process's exit code
  passes through; a missing container: ``Error: get failed: container ID not
  found``, one not running: ``Error: container ID is not running``, both exit 1.
* ``container system status --format json`` (``--format`` since 1.0.0; an older
  CLI refuses it with exit 64): ``{"status": "running", "apiServerVersion", ...}``
  and exit 0, or ``"status": "not running"`` (registered, no answer in 10 s) or
  ``"unregistered"`` (not registered with launchd), exit 1 with the JSON still
  on stdout. ``container system start`` starts the services.
* With the services down every other command fails with an ``XPC connection
  error`` followed by ``Ensure container system service has been started with
  `container system start`.``, exit 1.

"Not found" is therefore recognised by the exact ``container with ID ID not
found`` of the container asked for, and counts as already gone; another "not
found" (an image, a network) is a failure.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

import attrs

from bot_bottle_core.errors import BotBottleError

from .records import (
    Container,
    MalformedOutput,
    SystemStatus,
    parse_containers,
    parse_system_status,
)

BINARY = "container"
START_HINT = "start them with `container system start`"
TIMEOUT_S = 120.0  # a forced delete stops the container first (SIGKILL after 5 s)
_SERVICE_DOWN = ("XPC connection error", "container system start")


class ContainerCliError(BotBottleError):
    """A call of the container CLI failed; the message names the call and its error."""


@attrs.frozen
class Result:
    code: int
    stdout: str
    stderr: str


@attrs.frozen
class ContainerCli:
    binary: str
    timeout_s: float = TIMEOUT_S

    @classmethod
    def find(cls) -> ContainerCli | None:
        """The ``container`` on PATH, or None."""
        found = shutil.which(BINARY)
        return cls(found) if found else None

    def system_status(self) -> SystemStatus:
        # Exit 1 with a JSON body is an answer (not running), not a failure.
        args = ("system", "status", "--format", "json")
        result = self._run(args)
        try:
            return parse_system_status(result.stdout)
        except MalformedOutput:
            raise self._failure(args, result) from None

    def containers(self, *, include_stopped: bool) -> list[Container]:
        """``container list [--all]``: running containers, or every one."""
        args = ("list", *(("--all",) if include_stopped else ()), "--format", "json")
        result = self._checked(args)
        try:
            return parse_containers(result.stdout)
        except MalformedOutput as exc:
            raise ContainerCliError(
                f"`{self._show(args)}` printed something other than its documented JSON: {exc}."
            ) from None

    def delete(self, name: str) -> bool:
        """Force-delete ``name``; False when it was already gone."""
        return self._gone_ok(("delete", "--force", name))

    def stop(self, name: str) -> bool:
        """Stop ``name``; False when there is no such container."""
        return self._gone_ok(("stop", name))

    def exec_argv(self, name: str, argv: Sequence[str], *, tty: bool) -> list[str]:
        """The host command that runs ``argv`` in ``name`` with stdin attached."""
        return [self.binary, "exec", "--interactive", *(("--tty",) if tty else ()), name, *argv]

    # -- running

    def _gone_ok(self, args: tuple[str, ...]) -> bool:
        result = self._run(args)
        if result.code == 0:
            return True
        if f'notFound: "container with ID {args[-1]} not found"' in result.stderr:
            return False
        raise self._failure(args, result)

    def _checked(self, args: tuple[str, ...]) -> Result:
        result = self._run(args)
        if result.code != 0:
            raise self._failure(args, result)
        return result

    def _run(self, args: tuple[str, ...]) -> Result:
        try:
            done = subprocess.run(
                [self.binary, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ContainerCliError(
                f"`{self._show(args)}` did not finish within {self.timeout_s:g} s; check"
                " `container system status`."
            ) from None
        except OSError as exc:
            raise ContainerCliError(
                f"Could not run {self.binary}: {exc.strerror or exc}."
            ) from None
        return Result(done.returncode, done.stdout, done.stderr)

    def _failure(self, args: tuple[str, ...], result: Result) -> ContainerCliError:
        said = " ".join(result.stderr.split()) or "no message"
        if any(sign in result.stderr for sign in _SERVICE_DOWN):
            return ContainerCliError(
                f"`{self._show(args)}` failed: Apple's container services are not running"
                f" ({said}); {START_HINT}."
            )
        return ContainerCliError(f"`{self._show(args)}` failed (exit {result.code}): {said}")

    @staticmethod
    def _show(args: Sequence[str]) -> str:
        return " ".join((BINARY, *args))
