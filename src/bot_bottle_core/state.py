"""Per-bottle state: slugs, state directories and ``metadata.json``.

A slug is ``<agent>-<5 base36 chars>``. It is claimed by creating its state
directory with ``mkdir``, which the filesystem makes atomic, so two starts
racing for the same slug cannot both win: the loser draws again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .errors import BotBottleError

if TYPE_CHECKING:
    import cattrs

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
SUFFIX_LEN = 5
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}-[0-9a-z]{5}$")
METADATA = "metadata.json"
PRESERVE = ".preserve"


@cache
def _converter() -> cattrs.Converter:
    # cattrs is imported on first use: listing bottles never needs it.
    import cattrs

    return cattrs.Converter(forbid_extra_keys=False)


def now_iso() -> str:
    """The current UTC time as bot-bottle records it (metadata, labels)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def random_suffix() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(SUFFIX_LEN))


def home_id(state_dir: Path) -> str:
    """A short name for the bot-bottle home whose state directory is ``state_dir``.

    Backends label what they create with it, so a ``cleanup`` in one home
    (another user, a test's private home) never takes another home's bottles:
    their launches under way or the workspaces they keep for ``resume``.
    """
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]


def is_slug(text: str) -> bool:
    return bool(SLUG_RE.match(text))


def mint_slug(
    state_dir: Path, agent: str, *, suffix: Callable[[], str] = random_suffix, attempts: int = 64
) -> str:
    """Claim a fresh slug for ``agent`` by creating its state directory."""
    state_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        slug = f"{agent}-{suffix()}"
        try:
            (state_dir / slug).mkdir()
        except FileExistsError:
            continue
        return slug
    raise BotBottleError(
        f"Could not find a free slug for agent '{agent}' in {state_dir} after {attempts} tries; "
        "run `bot-bottle cleanup` to remove old state directories."
    )


@attrs.frozen
class Metadata:
    """What ``state/<slug>/metadata.json`` records about one bottle."""

    slug: str
    agent: str
    backend: str
    provider: str
    bottle: str
    cwd: str
    copy_cwd: bool = False
    label: str | None = None
    color: str | None = None
    started_at: str = attrs.field(factory=now_iso)
    dockerfile: str | None = None


def write_json_atomic(path: Path, data: object, mode: int = 0o600) -> None:
    """Write JSON so a reader sees the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_metadata(slug_dir: Path, meta: Metadata) -> None:
    write_json_atomic(slug_dir / METADATA, _converter().unstructure(meta))


def read_metadata(slug_dir: Path) -> Metadata:
    from cattrs import BaseValidationError

    path = slug_dir / METADATA
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return _converter().structure(raw, Metadata)
    except FileNotFoundError:
        raise BotBottleError(
            f"No bottle state at {slug_dir}: {METADATA} is missing. "
            "Check the slug with `bot-bottle list active` or look in the state directory."
        ) from None
    except (ValueError, TypeError, BaseValidationError) as exc:
        raise BotBottleError(
            f"The bottle state file {path} is corrupt ({type(exc).__name__}). "
            "Move it aside or delete that state directory, then try again."
        ) from None


@attrs.frozen
class StateStore:
    """The directory holding one subdirectory per bottle."""

    root: Path

    def path(self, slug: str) -> Path:
        return self.root / slug

    @property
    def home_id(self) -> str:
        return home_id(self.root)

    def mint(self, agent: str) -> str:
        return mint_slug(self.root, agent)

    def slugs(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and is_slug(p.name))

    def is_preserved(self, slug: str) -> bool:
        return (self.path(slug) / PRESERVE).exists()

    def mark_preserved(self, slug: str) -> None:
        (self.path(slug) / PRESERVE).touch()

    def unmark_preserved(self, slug: str) -> None:
        (self.path(slug) / PRESERVE).unlink(missing_ok=True)

    def remove(self, slug: str) -> None:
        shutil.rmtree(self.path(slug), ignore_errors=True)
        # Its proposals go with it (the home's queue/ sits beside state/).
        shutil.rmtree(self.root.parent / "queue" / slug, ignore_errors=True)

    @contextlib.contextmanager
    def claimed(self, agent: str) -> Iterator[Claim]:
        """Mint a slug whose state directory is removed again unless kept.

        Any exception, or leaving the block without ``claim.keep()``, removes
        the directory, so a failed or aborted start leaves nothing behind.
        """
        claim = Claim(self.mint(agent), self)
        try:
            yield claim
        finally:
            if not claim.kept:
                self.remove(claim.slug)


@attrs.define
class Claim:
    slug: str
    store: StateStore
    kept: bool = False

    @property
    def path(self) -> Path:
        return self.store.path(self.slug)

    def keep(self) -> None:
        self.kept = True
