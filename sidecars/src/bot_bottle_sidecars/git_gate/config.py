"""The gate's configuration: ``git-gate.json`` in the bundle's config directory.

``{"repos": [{"name", "upstream", "protected_branches", "protected_paths",
"allow_force_push", "read_only"}], "ssh_hosts": {"host": "address"}}``. The
private key of repo ``name`` comes in the environment variable
``BOT_BOTTLE_GIT_KEY_<name>`` (only this daemon is given it) and is written to a
file only the sidecar user can read.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import layout

CONFIG_FILE = layout.GIT_GATE_CONFIG
ENV_CONFIG = layout.ENV_GIT_GATE_CONFIG
ENV_KEY_PREFIX = layout.ENV_GIT_KEY_PREFIX
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ConfigError(ValueError):
    """The gate's configuration cannot be used; the message says why."""


@dataclass(frozen=True)
class GateRepo:
    name: str
    upstream: str
    protected_branches: tuple[str, ...] = ()
    protected_paths: tuple[str, ...] = ()
    allow_force_push: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class GateConfig:
    repos: dict[str, GateRepo]
    ssh_hosts: dict[str, str] = field(default_factory=dict)


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what} must be a list of non-empty strings")
    return tuple(value)


def parse_config(data: object) -> GateConfig:
    if not isinstance(data, dict) or not isinstance(data.get("repos"), list):
        raise ConfigError("the git gate's config must be an object with a 'repos' list")
    repos: dict[str, GateRepo] = {}
    for i, raw in enumerate(data["repos"]):
        where = f"repos[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be an object")
        name, upstream = raw.get("name"), raw.get("upstream")
        if not isinstance(name, str) or not NAME_RE.match(name) or name.endswith(".git"):
            raise ConfigError(f"{where}.name {name!r} is not a repository name")
        if name in repos:
            raise ConfigError(f"{where}.name {name!r} is given twice")
        if not isinstance(upstream, str) or not upstream or upstream.startswith("-"):
            raise ConfigError(f"{where}.upstream must be a git URL")
        repos[name] = GateRepo(
            name=name,
            upstream=upstream,
            protected_branches=_strings(raw.get("protected_branches", []), where),
            protected_paths=_strings(raw.get("protected_paths", []), where),
            allow_force_push=raw.get("allow_force_push", False) is True,
            read_only=raw.get("read_only", False) is True,
        )
    hosts = data.get("ssh_hosts", {})
    if not isinstance(hosts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in hosts.items()
    ):
        raise ConfigError("ssh_hosts must map host names to addresses")
    return GateConfig(repos, dict(hosts))


def load_config(path: str | os.PathLike[str] | None = None) -> GateConfig:
    path = Path(path or os.environ.get(ENV_CONFIG) or CONFIG_FILE)
    try:
        return parse_config(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
