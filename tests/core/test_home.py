"""Where bot-bottle keeps its files."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from bot_bottle_core.home import Home, find_project_dir


def test_bot_bottle_home_puts_everything_under_one_directory(tmp_path):
    home = Home.from_env({"BOT_BOTTLE_HOME": str(tmp_path)})
    assert home.manifest == tmp_path / "manifest.yaml"
    assert home.agents_dir == tmp_path / "agents"
    assert home.state_dir == tmp_path / "state"
    assert home.audit_log == tmp_path / "audit.jsonl"


def test_without_it_config_and_state_follow_platformdirs():
    home = Home.from_env({})
    assert home.config_dir == Path(platformdirs.user_config_dir("bot-bottle"))
    assert home.state_dir == Path(platformdirs.user_state_dir("bot-bottle")) / "state"
    assert home.config_dir != home.state_root


def test_project_dir_is_found_from_a_subdirectory(tmp_path):
    (tmp_path / ".bot-bottle").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_dir(deep) == tmp_path / ".bot-bottle"
