"""Slugs never collide, metadata is written atomically."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot_bottle_core.errors import BotBottleError
from bot_bottle_core.state import (
    Metadata,
    StateStore,
    is_slug,
    mint_slug,
    read_metadata,
    write_metadata,
)


def test_slug_shape(tmp_path):
    slug = mint_slug(tmp_path, "bob")
    assert is_slug(slug)
    agent, suffix = slug.rsplit("-", 1)
    assert agent == "bob" and len(suffix) == 5


def test_a_taken_slug_is_never_handed_out_twice(tmp_path):
    draws = iter(["aaaaa", "aaaaa", "aaaaa", "bbbbb"])
    first = mint_slug(tmp_path, "bob", suffix=lambda: next(draws))
    second = mint_slug(tmp_path, "bob", suffix=lambda: next(draws))
    assert (first, second) == ("bob-aaaaa", "bob-bbbbb")


def test_exhausted_slugs_give_a_clear_error(tmp_path):
    mint_slug(tmp_path, "bob", suffix=lambda: "aaaaa")
    with pytest.raises(BotBottleError, match="free slug for agent 'bob'"):
        mint_slug(tmp_path, "bob", suffix=lambda: "aaaaa", attempts=3)


RACER = """
import random, sys
from pathlib import Path
from bot_bottle_core.state import mint_slug
rng = random.Random(int(sys.argv[2]))
sys.stdin.readline()  # start together
# A tiny suffix space makes racing processes draw the same slug often.
for _ in range(30):
    print(mint_slug(Path(sys.argv[1]), "race", suffix=lambda: f"{rng.randrange(300):05d}"))
"""


def test_concurrent_starts_never_share_a_slug(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(6)
    ]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    slugs = [s for p in procs for s in p.communicate(timeout=60)[0].split()]
    assert all(p.returncode == 0 for p in procs)
    assert len(slugs) == 180
    assert len(set(slugs)) == 180
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(slugs)


def _meta(slug="bob-abcde", **kw):
    return Metadata(
        slug=slug, agent="bob", backend="docker", provider="claude", bottle="web", cwd="/w", **kw
    )


def test_metadata_round_trips(tmp_path):
    write_metadata(tmp_path, _meta(label="impl", color="red"))
    assert read_metadata(tmp_path) == _meta(
        label="impl", color="red", started_at=read_metadata(tmp_path).started_at
    )
    raw = json.loads((tmp_path / "metadata.json").read_text())
    assert raw["agent"] == "bob" and raw["label"] == "impl"


def test_failed_metadata_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    write_metadata(tmp_path, _meta())
    before = (tmp_path / "metadata.json").read_text()

    def explode(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("bot_bottle_core.state.os.fsync", explode)
    with pytest.raises(OSError, match="disk full"):
        write_metadata(tmp_path, _meta(label="new"))
    assert (tmp_path / "metadata.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["metadata.json"]


def test_corrupt_metadata_is_a_clear_error(tmp_path):
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(BotBottleError, match="is corrupt"):
        read_metadata(tmp_path)


def test_claim_is_removed_unless_kept(tmp_path):
    store = StateStore(tmp_path)
    with store.claimed("bob") as dropped:
        assert dropped.path.is_dir()
    assert not dropped.path.exists()
    with pytest.raises(RuntimeError), store.claimed("bob") as failed:
        raise RuntimeError
    assert not failed.path.exists()
    with store.claimed("bob") as kept:
        kept.keep()
    assert kept.path.is_dir()
    assert store.slugs() == [kept.slug]
