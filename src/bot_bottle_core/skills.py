"""Skills: directories of instructions an agent's CLI loads when a task calls for them.

A skill is ``skills/NAME/`` holding ``SKILL.md`` (the format Claude Code and
Codex read: front matter with ``name`` and ``description``, then the body)
and any files it refers to. They sit next to ``agents/`` in the user's
config dir and in a project's ``.bot-bottle``; a project's skill replaces
the user's of the same name. An agent lists the ones it gets in ``skills``.

The files are read here, once, on the host, so a provider only says where
its CLI looks for them. Only plain text files are copied: a symbolic link
could point anywhere on the host, and the provisioning steps carry text.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .errors import BotBottleError

if TYPE_CHECKING:
    from .plan import WriteFile

SKILLS_DIR_NAME = "skills"
SKILL_FILE = "SKILL.md"
# Instructions, not a payload: a skill this big is a mistake.
MAX_SKILL_BYTES = 1024 * 1024


@attrs.frozen
class SkillFile:
    path: str  # relative to the skill's directory, '/'-separated
    content: str
    mode: int  # 0o755 for a script the owner could run, else 0o644


@attrs.frozen
class Skill:
    name: str
    source: Path
    files: tuple[SkillFile, ...]


def find_skills(dirs: Iterable[Path]) -> dict[str, Path]:
    """Skill name → its directory, later ``dirs`` replacing earlier ones by name."""
    found: dict[str, Path] = {}
    for skills_dir in dirs:
        try:
            entries = sorted(skills_dir.iterdir())
        except OSError:
            continue  # no skills at this layer (config problems are reported elsewhere)
        for entry in entries:
            if (entry / SKILL_FILE).is_file():
                found[entry.name] = entry
    return found


class SkillError(BotBottleError):
    pass


def read_skill(name: str, source: Path) -> Skill:
    """Every file of the skill at ``source``; :class:`SkillError` says what cannot be copied."""
    files: list[SkillFile] = []
    total = 0
    for path in _walk(name, source):
        rel = path.relative_to(source).as_posix()
        try:
            info = path.lstat()
            # The size is checked before reading: a stray large file is never read whole.
            if total + info.st_size > MAX_SKILL_BYTES:
                raise SkillError(
                    f"The skill {name!r} ({source}) is larger than "
                    f"{MAX_SKILL_BYTES // 1024} KiB. A skill holds instructions and small "
                    "scripts; move data elsewhere."
                )
            data = path.read_bytes()
        except OSError as exc:
            raise SkillError(
                f"The skill {name!r} cannot be read: {path}: {exc.strerror or exc}. "
                f"Fix the file's permissions or remove it from {source}."
            ) from None
        total += len(data)
        if total > MAX_SKILL_BYTES:  # it grew while being read
            raise SkillError(
                f"The skill {name!r} ({source}) is larger than {MAX_SKILL_BYTES // 1024} KiB. "
                "A skill holds instructions and small scripts; move data elsewhere."
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SkillError(
                f"The skill {name!r} holds {path}, which is not UTF-8 text. Only text files "
                f"are copied into a bottle; remove it from {source}."
            ) from None
        mode = 0o755 if info.st_mode & stat.S_IXUSR else 0o644
        files.append(SkillFile(rel, text, mode))
    return Skill(name, source, tuple(files))


def _walk(name: str, source: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, names in os.walk(source, followlinks=False):
        for entry in sorted(dirs) + sorted(names):
            path = Path(root, entry)
            if path.is_symlink():
                raise SkillError(
                    f"The skill {name!r} holds a symbolic link, {path}. Skills are copied "
                    f"as plain files, and a link could reach anywhere on this machine: "
                    f"replace it with the file itself."
                )
            if entry in names and not path.is_file():
                raise SkillError(
                    f"The skill {name!r} holds {path}, which is not a regular file; "
                    f"remove it from {source}."
                )
            if entry in names:
                out.append(path)
    return out


def read_skills(names: Iterable[str], known: dict[str, Path]) -> tuple[Skill, ...]:
    """The skills an agent lists, read (the config check made sure each exists)."""
    return tuple(read_skill(n, known[n]) for n in names)


def install_steps(skills: Iterable[Skill], directory: str) -> list[WriteFile]:
    """Steps writing each skill to ``directory/NAME/`` in the bottle (a provider's skills dir)."""
    from .plan import WriteFile  # plan imports this module

    return [
        WriteFile(f"{directory}/{skill.name}/{f.path}", f.content, f.mode)
        for skill in skills
        for f in skill.files
    ]
