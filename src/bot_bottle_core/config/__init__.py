"""The configuration: manifest (settings, bottles) and agent files, layered.

``load_config`` reads the built-in example, the user's files and the
project's files, and returns one :class:`Config` or raises one
:class:`ConfigError` naming every problem by file and path.
"""

from __future__ import annotations

from .load import load_config, resolve_env
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
