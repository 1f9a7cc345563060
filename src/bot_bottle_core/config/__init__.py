"""The configuration: manifest (settings, bottles) and agent files, layered.

``load_config`` reads the built-in example, the user's files and the
project's files, and returns one :class:`Config` or raises one
:class:`ConfigError` naming every problem by file and path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import (
    Agent,
    Bottle,
    Config,
    ConfigError,
    Egress,
    EnvValue,
    Git,
    GitRepo,
    Problem,
    ProvisionedKey,
    ResolvedEnv,
    Resources,
    Route,
    RouteAuth,
    Settings,
)

__all__ = [
    "Agent",
    "Bottle",
    "Config",
    "ConfigError",
    "Egress",
    "EnvValue",
    "Git",
    "GitRepo",
    "Problem",
    "ProvisionedKey",
    "ResolvedEnv",
    "Resources",
    "Route",
    "RouteAuth",
    "Settings",
    "load_config",
    "resolve_env",
]

if TYPE_CHECKING:
    from .load import load_config, resolve_env


def __getattr__(name: str) -> Any:
    # The loader pulls in yaml and cattrs (~100 ms); commands that only need
    # the models, such as `list active`, should not pay for them.
    if name in ("load_config", "resolve_env"):
        from . import load

        return getattr(load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
