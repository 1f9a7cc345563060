"""Model helpers: ssh upstreams, memory sizes, display names, host normalisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot_bottle_core.config import Agent, GitRepo, Resources


@pytest.mark.parametrize(
    ("upstream", "host_port"),
    [
        ("ssh://git@github.com/acme/app.git", "github.com:22"),
        ("ssh://github.com/acme/app.git", "github.com:22"),
        ("ssh://git@git.example.com:2222/acme/app.git", "git.example.com:2222"),
        ("ssh://git@[2001:db8::1]:2200/a.git", "[2001:db8::1]:2200"),
        ("git@github.com:acme/app.git", "github.com:22"),
        ("gitea.local:acme/app.git", "gitea.local:22"),
        ("git@GitHub.com:acme/app.git", "github.com:22"),
    ],
)
def test_upstream_host_port(upstream, host_port):
    assert GitRepo(name="x", upstream=upstream).upstream_host_port == host_port


@pytest.mark.parametrize(
    "upstream",
    ["https://github.com/a/b.git", "github.com", "ssh://host:0/x", "ssh://host", "ssh://host/", ""],
)
def test_bad_upstream_raises_value_error(upstream):
    with pytest.raises(ValueError):
        _ = GitRepo(name="x", upstream=upstream).upstream_host_port


@pytest.mark.parametrize(
    ("memory", "mib"),
    [("512m", 512), ("4g", 4096), ("1.5g", 1536), ("2048", 2048), ("1G", 1024), ("256MiB", 256)],
)
def test_memory_mib(memory, mib):
    assert Resources(memory=memory).memory_mib == mib


def test_memory_mib_none():
    assert Resources().memory_mib is None


def test_display_name():
    agent = Agent(name="bob", source=Path("/a/bob.md"), bottle="web", label="implementer")
    assert agent.display_name == "implementer (bob)"
    assert Agent(name="bob", source=Path("/a/bob.md"), bottle="web").display_name == "bob"
