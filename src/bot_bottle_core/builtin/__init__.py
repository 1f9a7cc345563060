"""Plugins that ship inside the core distribution."""

from __future__ import annotations

from . import shell

# (kind, name, plugin module)
BUILTIN_PLUGINS = (("provider", "shell", shell),)
