"""Where bot-bottle keeps its files.

``$BOT_BOTTLE_HOME`` puts everything under one directory (tests always set
it); otherwise configuration goes to the platformdirs user config dir and
state (bottle state, queue, audit, logs) to the user state dir.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

APP = "bot-bottle"
HOME_ENV = "BOT_BOTTLE_HOME"


@attrs.frozen
class Home:
    config_dir: Path
    state_root: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Home:
        env = os.environ if environ is None else environ
        if env.get(HOME_ENV):
            root = Path(env[HOME_ENV]).expanduser()
            return cls(config_dir=root, state_root=root)
        import platformdirs  # only here: `list active` reads the home and should stay quick

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP)),
            state_root=Path(platformdirs.user_state_dir(APP)),
        )

    @property
    def manifest(self) -> Path:
        return self.config_dir / "manifest.yaml"

    @property
    def agents_dir(self) -> Path:
        return self.config_dir / "agents"

    @property
    def state_dir(self) -> Path:
        """One subdirectory per bottle instance, named by its slug."""
        return self.state_root / "state"

    @property
    def queue_dir(self) -> Path:
        return self.state_root / "queue"

    @property
    def audit_log(self) -> Path:
        return self.state_root / "audit.jsonl"

    @property
    def logs_dir(self) -> Path:
        return self.state_root / "logs"


# A project keeps its own manifest and agents in this directory, found by
# walking up from the working directory.
PROJECT_DIR = ".bot-bottle"


def find_project_dir(cwd: Path) -> Path | None:
    """The nearest ``.bot-bottle`` directory at or above ``cwd``."""
    for d in (cwd, *cwd.parents):
        candidate = d / PROJECT_DIR
        if candidate.is_dir():
            return candidate
    return None
