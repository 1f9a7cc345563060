"""The typed face of the plugin manager: one method per hook.

This is the only place that decides which plugin a hook call goes to.
Targeted hooks go to one named plugin through pluggy's
``subset_hook_caller``; broadcast hooks go to every available plugin of a
kind, one at a time, so a plugin that raises is reported and the others'
answers still count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar

import attrs
import pluggy

from .config import Agent
from .errors import BotBottleError, NotAvailableYet, PluginError
from .hookspecs import Progress
from .plan import (
    ActiveBottle,
    AgentMode,
    AuthProvision,
    Availability,
    BackendPlan,
    BoundaryReport,
    CleanupItem,
    CleanupOutcome,
    DeployKey,
    DeployKeyRequest,
    PrepareRequest,
    ProvisionStep,
)
from .plugins import PluginRecord, load_plugins, new_manager
from .skills import Skill

T = TypeVar("T")
DEBUG_ENV = "BOT_BOTTLE_DEBUG"

KIND_WORDS = {"backend": "backend", "provider": "provider", "git_host": "git host"}


@attrs.frozen
class Broadcast(Generic[T]):
    """Merged answers of a broadcast hook, and what went wrong on the way."""

    results: list[T]
    problems: list[str]
    # Backends left out because they cannot work here (not an error).
    skipped: list[str] = attrs.field(factory=list)
    # Backends that were asked and failed.
    failed: list[str] = attrs.field(factory=list)
    # Backends that answered.
    answered: list[str] = attrs.field(factory=list)


class _Target:
    """Calls hooks of exactly one registered plugin."""

    def __init__(self, plugins: Plugins, record: PluginRecord) -> None:
        self._plugins = plugins
        self.record = record

    @property
    def name(self) -> str:
        return self.record.name

    def implements(self, hook: str) -> bool:
        caller = getattr(self._plugins.pm.hook, hook)
        return any(impl.plugin is self.record.plugin for impl in caller.get_hookimpls())

    def _call(self, hook: str, *, default: Any = NotImplemented, **kwargs: Any) -> Any:
        if not self.implements(hook):
            if default is not NotImplemented:
                return default
            r = self.record
            raise NotAvailableYet(f"the {KIND_WORDS[r.kind]} '{r.name}' cannot {hook} yet")
        caller = self._plugins.caller(hook, self.record)
        try:
            results = caller(**kwargs)
        except BotBottleError:
            raise
        except Exception as exc:
            r = self.record
            if os.environ.get(DEBUG_ENV):
                raise
            raise PluginError(
                f"The {KIND_WORDS[r.kind]} plugin '{r.name}' ({r.distribution} {r.version}) "
                f"failed in {hook}: {type(exc).__name__}: {exc}. "
                f"Run again with {DEBUG_ENV}=1 for the traceback, and report it to the "
                "plugin's authors."
            ) from exc
        return results[0] if results else None

    def is_available(self) -> Availability:
        try:
            answer = self._call("is_available", default=Availability.yes())
        except BotBottleError as exc:
            return Availability.no(str(exc))
        return answer if isinstance(answer, Availability) else Availability.yes()


class Backend(_Target):
    def prepare(self, request: PrepareRequest) -> BackendPlan:
        return self._call("prepare", request=request)

    def launch(
        self,
        request: PrepareRequest,
        plan: BackendPlan,
        provision: Sequence[ProvisionStep],
        progress: Progress,
    ) -> BoundaryReport | None:
        return self._call(
            "launch", request=request, plan=plan, provision=provision, progress=progress
        )

    def check_boundary(self, slug: str) -> BoundaryReport:
        return self._call("check_boundary", slug=slug)

    def attach_argv(self, slug: str, argv: Sequence[str], tty: bool = True) -> list[str]:
        return self._call("attach_argv", slug=slug, argv=argv, tty=tty)

    def wait_stopped(self, slug: str) -> bool:
        """Block until the bottle stopped; False when this backend cannot tell."""
        return self._call("wait_stopped", default=False, slug=slug) is not False

    def reload_routes(self, slug: str) -> None:
        self._call("reload_routes", slug=slug)

    def stop(self, slug: str, preserve: bool, progress: Progress) -> None:
        self._call("stop", slug=slug, preserve=preserve, progress=progress)

    def snapshot(self, slug: str, paths: Sequence[str], dest: Path) -> None:
        self._call("snapshot", slug=slug, paths=paths, dest=dest)


class Provider(_Target):
    def agent_dockerfile(self) -> Path:
        return self._call("agent_dockerfile")

    def agent_guest_home(self) -> str:
        return self._call("agent_guest_home")

    def agent_argv(self, agent: Agent, mode: AgentMode) -> list[str]:
        return self._call("agent_argv", agent=agent, mode=mode)

    def provision_auth(self, agent: Agent, environ: Mapping[str, str]) -> AuthProvision:
        return self._call("provision_auth", agent=agent, environ=environ, default=AuthProvision())

    def provision_steps(
        self, agent: Agent, supervise_url: str | None, skills: Sequence[Skill] = ()
    ) -> list[ProvisionStep]:
        """All provisioning steps in the order a launch applies them."""
        home = self.agent_guest_home()
        steps: list[ProvisionStep] = []
        for hook in ("provision_settings", "provision_prompt"):
            steps += self._call(hook, agent=agent, guest_home=home, default=[])
        if skills:
            steps += self._call(
                "provision_skills", agent=agent, skills=tuple(skills), guest_home=home, default=[]
            )
        if supervise_url is not None:
            steps += self._call(
                "provision_supervise", agent=agent, guest_home=home, url=supervise_url, default=[]
            )
        return steps

    def agent_transcript_dirs(self) -> list[str]:
        home = self.agent_guest_home()
        return self._call("agent_transcript_dirs", guest_home=home, default=[])


class GitHost(_Target):
    def deploy_key_create(self, request: DeployKeyRequest) -> DeployKey:
        return self._call("deploy_key_create", request=request)

    def deploy_key_delete(self, key: DeployKey, token: str) -> None:
        self._call("deploy_key_delete", key=key, token=token)


_TARGETS: dict[str, type[_Target]] = {"backend": Backend, "provider": Provider, "git_host": GitHost}


class Plugins:
    """Loaded plugins and the typed calls into them."""

    def __init__(self, pm: pluggy.PluginManager, records: list[PluginRecord]) -> None:
        self.pm = pm
        self.records = records
        self._callers: dict[tuple[str, str], Callable[..., list[Any]]] = {}

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Plugins:
        pm = new_manager()
        return cls(pm, load_plugins(pm, environ=environ, **kwargs))

    # -- lookup

    def names(self, kind: str) -> list[str]:
        return [r.name for r in self.records if r.kind == kind and r.status == "ok"]

    def caller(self, hook: str, record: PluginRecord) -> Callable[..., list[Any]]:
        key = (hook, record.key)
        if key not in self._callers:
            others = [p for p in self.pm.get_plugins() if p is not record.plugin]
            self._callers[key] = self.pm.subset_hook_caller(hook, remove_plugins=others)
        return self._callers[key]

    def _target(self, kind: str, name: str) -> Any:
        word = KIND_WORDS[kind]
        matches = [r for r in self.records if r.kind == kind and r.name == name]
        ok = [r for r in matches if r.status == "ok"]
        if ok:
            return _TARGETS[kind](self, ok[0])
        if matches:
            r = matches[0]
            raise PluginError(
                f"The {word} plugin '{name}' is {r.status}: {r.error}. "
                "See `bot-bottle plugins list`."
            )
        known = ", ".join(self.names(kind)) or "none"
        raise PluginError(
            f"Unknown {word} '{name}'. Installed {word}s: {known}. "
            f"Install the plugin that provides it (for example pip install 'bot-bottle[{name}]') "
            "and check `bot-bottle plugins list`."
        )

    def backend(self, name: str) -> Backend:
        return self._target("backend", name)

    def provider(self, name: str) -> Provider:
        return self._target("provider", name)

    def git_host(self, name: str) -> GitHost:
        return self._target("git_host", name)

    def availability(self, record: PluginRecord) -> Availability:
        if record.status != "ok":
            return Availability.no(record.error or record.status)
        return _TARGETS[record.kind](self, record).is_available()

    @cached_property
    def _backends(self) -> list[Backend]:
        return [self.backend(n) for n in self.names("backend")]

    # -- broadcast

    def _broadcast(self, hook: str, each: Callable[[Backend], list[T]]) -> Broadcast[T]:
        results: list[T] = []
        problems: list[str] = []
        skipped: list[str] = []
        failed: list[str] = []
        answered: list[str] = []
        implemented = [b for b in self._backends if b.implements(hook)]
        if not implemented:
            raise NotAvailableYet(f"no installed backend can {hook.replace('_', ' ')}")
        for backend in implemented:
            avail = backend.is_available()
            if not avail.available:
                problems.append(f"{backend.name}: skipped, not available ({avail.reason})")
                skipped.append(backend.name)
                continue
            try:
                results += each(backend)
            except BotBottleError as exc:
                problems.append(f"{backend.name}: {exc}")
                failed.append(backend.name)
            else:
                answered.append(backend.name)
        return Broadcast(results, problems, skipped, failed, answered)

    def enumerate_active(self) -> Broadcast[ActiveBottle]:
        return self._broadcast("enumerate_active", lambda b: b._call("enumerate_active"))

    def prepare_cleanup(
        self,
        live_slugs: frozenset[str],
        preserved_slugs: frozenset[str] = frozenset(),
        home_id: str | None = None,
    ) -> Broadcast[CleanupItem]:
        return self._broadcast(
            "prepare_cleanup",
            lambda b: b._call(
                "prepare_cleanup",
                live_slugs=live_slugs,
                preserved_slugs=preserved_slugs,
                home_id=home_id,
            ),
        )

    def cleanup(
        self, items: Sequence[CleanupItem], progress: Progress
    ) -> Broadcast[CleanupOutcome]:
        def each(b: Backend) -> list[CleanupOutcome]:
            mine = [i for i in items if i.backend == b.name]
            return b._call("cleanup", items=mine, progress=progress) if mine else []

        return self._broadcast("cleanup", each)
