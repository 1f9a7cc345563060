"""Finding, loading and registering plugins.

Plugins come from three entry-point groups, one per kind. Loading is
defensive: a plugin that fails to import, implements hooks that do not
exist or belong to another kind, or claims a name another distribution
also claims is recorded with its error and left out; everything else keeps
working. ``bot-bottle plugins list`` shows those records.

Two environment variables narrow loading, for tests and for bisecting a bad
plugin: ``BOT_BOTTLE_PLUGINS`` (comma-separated names to load; empty loads
none) and ``BOT_BOTTLE_DISABLE_PLUGINS`` (names to skip). Built-in plugins
are part of the core and always load.
"""

from __future__ import annotations

import importlib.metadata as md
import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs
import pluggy

from . import hookspecs
from .builtin import BUILTIN_PLUGINS

ENTRY_POINT_GROUPS = {kind: f"bot_bottle.{kind}" for kind in hookspecs.KINDS}
ONLY_ENV = "BOT_BOTTLE_PLUGINS"
DISABLE_ENV = "BOT_BOTTLE_DISABLE_PLUGINS"
CORE_DIST = "bot-bottle"

Status = Literal["ok", "broken", "conflict", "disabled"]


@attrs.frozen
class PluginRecord:
    """One plugin as found, whether or not it loaded."""

    name: str
    kind: str
    distribution: str
    version: str
    status: Status = "ok"
    error: str | None = None
    builtin: bool = False
    plugin: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def key(self) -> str:
        """The name it is registered under in pluggy (unique across kinds)."""
        return f"{self.kind}:{self.name}"


@attrs.frozen
class _Candidate:
    name: str
    kind: str
    distribution: str
    version: str
    load: Any  # zero-argument callable returning the plugin object
    builtin: bool = False


def core_version() -> str:
    try:
        return md.version(CORE_DIST)
    except md.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _names(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(n.strip() for n in value.split(",") if n.strip())


def _entry_point_candidates() -> Iterable[_Candidate]:
    for kind, group in ENTRY_POINT_GROUPS.items():
        for ep in md.entry_points(group=group):
            dist = ep.dist.name if ep.dist is not None else "unknown"
            version = ep.dist.version if ep.dist is not None else "unknown"
            yield _Candidate(ep.name, kind, dist, version, ep.load)


def _builtin_candidates() -> Iterable[_Candidate]:
    version = core_version()
    for kind, name, module in BUILTIN_PLUGINS:
        yield _Candidate(name, kind, CORE_DIST, version, lambda m=module: m, builtin=True)


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _hook_problem(pm: pluggy.PluginManager, plugin: object, kind: str) -> str | None:
    """Why a registered plugin must be refused, or None when it is fine."""
    allowed = hookspecs.KIND_HOOKS[kind] | hookspecs.COMMON_HOOKS
    callers = pm.get_hookcallers(plugin) or []
    if not callers:
        return "implements no bot-bottle hook (are its functions decorated with @hookimpl?)"
    unknown = sorted(c.name for c in callers if not c.has_spec())
    if unknown:
        return f"implements unknown hook(s): {', '.join(unknown)}"
    foreign = sorted(c.name for c in callers if c.name not in allowed)
    if foreign:
        return f"is a {kind} plugin but implements hook(s) of another kind: {', '.join(foreign)}"
    return None


def register(pm: pluggy.PluginManager, cand: _Candidate) -> PluginRecord:
    """Import and register one candidate, turning every failure into a record."""
    base = dict(
        name=cand.name,
        kind=cand.kind,
        distribution=cand.distribution,
        version=cand.version,
        builtin=cand.builtin,
    )
    try:
        plugin = cand.load()
    except (Exception, SystemExit) as exc:  # a broken plugin must not take the rest down
        return PluginRecord(**base, status="broken", error=f"import failed: {_describe(exc)}")
    key = f"{cand.kind}:{cand.name}"
    try:
        pm.register(plugin, name=key)
    except Exception as exc:
        return PluginRecord(**base, status="broken", error=f"refused: {_describe(exc)}")
    problem = _hook_problem(pm, plugin, cand.kind)
    if problem:
        pm.unregister(plugin)
        return PluginRecord(**base, status="broken", error=problem)
    return PluginRecord(**base, plugin=plugin)


def _describe(exc: BaseException, limit: int = 400) -> str:
    """One line: the exception type and its message, lines joined."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_plugins(
    pm: pluggy.PluginManager,
    *,
    environ: Mapping[str, str] | None = None,
    candidates: Iterable[_Candidate] | None = None,
) -> list[PluginRecord]:
    """Register built-ins and every entry-point plugin; return all records."""
    env = os.environ if environ is None else environ
    only = _names(env.get(ONLY_ENV))
    disabled = _names(env.get(DISABLE_ENV)) or frozenset()
    found = list(_builtin_candidates())
    found += list(_entry_point_candidates() if candidates is None else candidates)

    by_key: dict[tuple[str, str], list[_Candidate]] = {}
    for cand in found:
        by_key.setdefault((cand.kind, cand.name), []).append(cand)

    records: list[PluginRecord] = []
    for (kind, name), cands in by_key.items():
        if len(cands) > 1:
            who = " and ".join(f"{c.distribution} {c.version}" for c in cands)
            error = (
                f"the {kind} name '{name}' is claimed by {who}; "
                "uninstall one of them (pip uninstall DIST) so the name is unambiguous"
            )
            records += [
                PluginRecord(name, kind, c.distribution, c.version, "conflict", error, c.builtin)
                for c in cands
            ]
            continue
        cand = cands[0]
        if not cand.builtin and (name in disabled or (only is not None and name not in only)):
            why = f"{DISABLE_ENV} lists it" if name in disabled else f"{ONLY_ENV} leaves it out"
            records.append(
                PluginRecord(name, kind, cand.distribution, cand.version, "disabled", why)
            )
            continue
        records.append(register(pm, cand))
    records.sort(key=lambda r: (hookspecs.KINDS.index(r.kind), r.name, r.distribution))
    return records
