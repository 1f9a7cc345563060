"""Fixtures for the configuration tests: an isolated home and file writers."""

from __future__ import annotations

import textwrap
from pathlib import Path

import attrs
import pytest

from bot_bottle_core.config import Config, ConfigError, load_config
from bot_bottle_core.home import HOME_ENV, Home


@attrs.define
class ConfigEnv:
    """A temporary home (``$BOT_BOTTLE_HOME``) and a working directory."""

    home: Home
    cwd: Path

    @property
    def project_dir(self) -> Path:
        return self.cwd / ".bot-bottle"

    def _write(self, path: Path, text: str | bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def manifest(self, text: str | bytes) -> Path:
        return self._write(self.home.manifest, text)

    def agent(self, name: str, text: str | bytes) -> Path:
        return self._write(self.home.agents_dir / f"{name}.md", text)

    def skill(self, name: str, text: str = "---\nname: x\ndescription: x\n---\n") -> Path:
        return self._write(self.home.config_dir / "skills" / name / "SKILL.md", text)

    def project_manifest(self, text: str | bytes) -> Path:
        return self._write(self.project_dir / "manifest.yaml", text)

    def project_agent(self, name: str, text: str | bytes) -> Path:
        return self._write(self.project_dir / "agents" / f"{name}.md", text)

    def load(self, *, include_builtin: bool = False) -> Config:
        return load_config(self.home, self.cwd, include_builtin=include_builtin)

    def error(self, *, include_builtin: bool = False) -> ConfigError:
        with pytest.raises(ConfigError) as info:
            self.load(include_builtin=include_builtin)
        return info.value


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigEnv:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    cwd = tmp_path / "work" / "sub"
    cwd.mkdir(parents=True)
    return ConfigEnv(home=Home.from_env(), cwd=cwd)
