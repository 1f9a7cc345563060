"""A command on a pseudo-terminal, driven by what it prints (the demo's and the agents' tests)."""

from __future__ import annotations

import fcntl
import itertools
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

ESCAPES = re.compile(
    rb"\x1b(\[[0-9;?>=<]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-B]|[78=>])"
)


def screen_text(raw: bytes) -> str:
    """What a full-screen program drew, escapes and all whitespace taken out (it
    draws words apart with cursor moves, so spaces cannot be relied on)."""
    return re.sub(r"\s+", "", ESCAPES.sub(b"", raw).decode(errors="replace"))


class Terminal:
    """A command on a pseudo-terminal, driven by what it prints."""

    def __init__(
        self, argv: list[str], env: dict[str, str], cwd, size: tuple[int, int] = (40, 120)
    ) -> None:
        self.fd, child = pty.openpty()
        # A fresh pty is 0x0; a full-screen program draws nothing on it.
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=child, stdout=child, stderr=child, env=env, cwd=cwd, start_new_session=True
        )
        os.close(child)
        self.seen = b""  # everything the terminal showed
        self._pending = b""
        self._ids = itertools.count()

    def expect(self, marker: str, timeout: float = 600) -> str:
        """What the terminal printed up to and including ``marker``."""
        want = marker.encode()
        deadline = time.monotonic() + timeout
        while want not in self._pending:
            chunk = self._read(deadline, repr(marker))
            if not chunk:
                raise AssertionError(f"terminal closed before {marker!r}; it showed {self.tail()}")
            self._pending += chunk
        end = self._pending.index(want) + len(want)
        out, self._pending = self._pending[:end], self._pending[end:]
        return out.decode(errors="replace")

    def expect_drawn(self, *texts: str, timeout: float = 600) -> None:
        """Wait until a full-screen program has drawn every one of ``texts`` (whitespace
        ignored, in any order)."""
        wanted = [re.sub(r"\s+", "", t) for t in texts]
        deadline = time.monotonic() + timeout
        while not all(w in screen_text(self._pending) for w in wanted):
            if not self._read_into_pending(deadline, repr(texts)):
                raise AssertionError(f"terminal closed before {texts!r}; it showed {self.tail()}")
        self._pending = b""

    def _read_into_pending(self, deadline: float, waiting_for: str) -> bytes:
        chunk = self._read(deadline, waiting_for)
        self._pending += chunk
        return chunk

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        """Type ``command`` into the shell; its exit status and output."""
        n = next(self._ids)
        # Quoting splits the marker in the typed (echoed) line but not in the output.
        os.write(self.fd, f'{command}; echo "__do""ne{n}:$?__"\n'.encode())
        out = self.expect(f"__done{n}:", timeout)
        status = int(self.expect("__", timeout)[:-2])
        return status, out

    def wait(self, timeout: float = 300) -> int:
        """Read what is left until the command ends; its exit status."""
        deadline = time.monotonic() + timeout
        while self._read(deadline, "the command to end"):
            pass  # a full terminal buffer would block the command's last lines
        return self.proc.wait(timeout=max(deadline - time.monotonic(), 1))

    def _read(self, deadline: float, waiting_for: str) -> bytes:
        """The next output, b"" once the command closed the terminal; fails at ``deadline``."""
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.fd], [], [], left)[0]:
            raise AssertionError(f"no {waiting_for} on the terminal; it showed {self.tail()}")
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the command closed the terminal
            chunk = b""
        self.seen += chunk
        return chunk

    def tail(self) -> str:
        return self.seen[-3000:].decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.fd)
