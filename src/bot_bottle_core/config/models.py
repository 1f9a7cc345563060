"""The typed configuration: what a manifest and the agent files declare.

Every class is frozen; :func:`bot_bottle_core.config.load_config` builds
them from YAML through :mod:`.structure` and checks them in :mod:`.validate`.
The field names are the YAML key names.
"""

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import attrs
from bot_bottle_sidecars.routes import Route, RouteAuth  # noqa: F401  (re-exported: one definition)

from ..errors import BotBottleError

CHECK_HINT = "Fix the file and run `bot-bottle config check`."


@attrs.frozen
class Problem:
    """One thing wrong in one file, at one place inside it.

    ``path`` is the dotted/bracketed location inside the file
    (``bottles.web.egress.routes[2].host``), ``""`` for the whole file.
    """

    file: Path
    path: str
    message: str

    def __str__(self) -> str:
        if self.path:
            return f"{self.file}: {self.path}: {self.message}"
        return f"{self.file}: {self.message}"


def _natural_key(text: str) -> tuple:
    # "routes[10]" sorts after "routes[2]".
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _sentence(message: str) -> str:
    message = message.rstrip()
    return message if message.endswith((".", "!", "?")) else message + "."


class ConfigError(BotBottleError):
    """The configuration is wrong; ``problems`` says where and why.

    ``str(err)`` is one paragraph: a single problem on one line, several
    problems one per line after a heading, then a hint on what to do.
    """

    def __init__(self, problems: Iterable[Problem], *, hint: str = CHECK_HINT) -> None:
        unique = dict.fromkeys(problems)
        self.problems: tuple[Problem, ...] = tuple(
            sorted(unique, key=lambda p: (str(p.file), _natural_key(p.path), p.message))
        )
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.problems:
            return f"Configuration error. {self.hint}"
        if len(self.problems) == 1:
            p = self.problems[0]
            where = f"{p.file}: {p.path}" if p.path else f"{p.file}"
            return f"Configuration error in {where}: {_sentence(p.message)} {self.hint}"
        lines = [f"Configuration errors ({len(self.problems)}):"]
        lines += [f"  {p}" for p in self.problems]
        lines.append(self.hint)
        return "\n".join(lines)


# --- settings -----------------------------------------------------------------


@attrs.frozen
class Settings:
    """Global knobs; a later layer overrides an earlier one field by field."""

    default_backend: str | None = None
    base_image: str | None = None
    build_ca_bundle: Path | None = None


# --- egress ---------------------------------------------------------------------


# Route and RouteAuth have one definition, shared with the egress sidecar and
# checked by the same rules everywhere (bot_bottle_sidecars.routes).


@attrs.frozen
class Egress:
    routes: tuple[Route, ...] = ()


# --- git ------------------------------------------------------------------------


@attrs.frozen
class SshUrl:
    user: str | None
    host: str
    port: int
    path: str

    @property
    def host_port(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_SSH_URL_RE = re.compile(
    r"^ssh://(?:(?P<user>[^@/\s]+)@)?"
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^@/:\[\]\s]+))"
    r"(?::(?P<port>[^/]*))?"
    r"(?P<path>/\S*)$"
)
_SCP_RE = re.compile(
    r"^(?:(?P<user>[^@/:\s]+)@)?(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^@/:\[\]\s]+)):(?P<path>[^\s]+)$"
)
_UPSTREAM_FORMS = "ssh://[user@]host[:port]/path or user@host:path"


def parse_ssh_url(url: str) -> SshUrl:
    """Parse an ssh upstream; raise ``ValueError`` with a readable reason."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"upstream must be an ssh URL ({_UPSTREAM_FORMS})")
    m = _SSH_URL_RE.match(url)
    if m:
        port_text = m["port"]
        if port_text is None or port_text == "":
            port = 22
        elif port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            raise ValueError(f"upstream port {port_text!r} is not a number between 1 and 65535")
        if m["path"] == "/":
            raise ValueError("upstream has no repository path after the host")
        return SshUrl(m["user"], (m["ipv6"] or m["host"]).lower(), port, m["path"])
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if scheme:
        raise ValueError(
            f"upstream must be an ssh URL ({_UPSTREAM_FORMS}); "
            f"{scheme[1]!r} URLs are not supported: the git gate talks to upstream over SSH"
        )
    m = _SCP_RE.match(url)
    if m:
        return SshUrl(m["user"], (m["ipv6"] or m["host"]).lower(), 22, m["path"])
    raise ValueError(f"upstream {url!r} is not an ssh URL ({_UPSTREAM_FORMS})")


@attrs.frozen
class ProvisionedKey:
    """A deploy key minted by a git host plugin at launch, revoked at teardown."""

    plugin: str
    api_url: str
    repo: str
    token_ref: str
    read_only: bool = True


@attrs.frozen
class GitRepo:
    name: str
    upstream: str
    identity: Path | None = None
    provisioned_key: ProvisionedKey | None = None
    protected_branches: tuple[str, ...] = ()
    # Globs (``**`` spans directories) no pushed commit may touch, e.g. CI workflows.
    protected_paths: tuple[str, ...] = ()
    allow_force_push: bool = False

    @property
    def upstream_host_port(self) -> str:
        """``host:port`` of the ssh upstream (port 22 when the URL has none)."""
        return parse_ssh_url(self.upstream).host_port


@attrs.frozen
class Git:
    repos: tuple[GitRepo, ...] = ()


# --- resources ------------------------------------------------------------------

_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:([mMgG])(?:[iI]?[bB])?)?\s*$", re.ASCII)


def parse_memory_mib(text: str) -> int:
    """``"512m"`` → 512, ``"1.5g"`` → 1536, ``"2048"`` → 2048 (MiB)."""
    m = _MEMORY_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(
            f"memory {text!r} is not a size: write MiB as a number (2048) "
            "or use a unit, like '512m' or '4g'"
        )
    try:
        amount = Decimal(m[1])
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        raise ValueError(f"memory {text!r} is not a number") from None
    if (m[2] or "m").lower() == "g":
        amount *= 1024
    return int(amount)


@attrs.frozen
class Resources:
    cpus: float | None = None
    memory: str | None = None

    @property
    def memory_mib(self) -> int | None:
        return None if self.memory is None else parse_memory_mib(self.memory)


# --- env ------------------------------------------------------------------------


@attrs.frozen
class EnvValue:
    """Where a bottle env value comes from.

    ``literal``: ``value`` is the text; ``host``: ``value`` is the host
    variable named by ``${VAR}``; ``prompt``: ``value`` is the question asked
    at start (``?text``, or the variable's name for a bare ``?``).
    """

    kind: Literal["literal", "host", "prompt"]
    value: str


# --- bottles and agents -----------------------------------------------------------


@attrs.frozen
class Bottle:
    name: str
    source: Path
    env: dict[str, EnvValue] = attrs.field(factory=dict)
    egress: Egress = attrs.field(factory=Egress)
    git: Git = attrs.field(factory=Git)
    dockerfile: Path | None = None
    resources: Resources = attrs.field(factory=Resources)


@attrs.frozen
class Agent:
    name: str
    source: Path
    bottle: str
    provider: str = "claude"
    skills: tuple[str, ...] = ()
    label: str | None = None
    color: str | None = None
    auth_token: str | None = None
    prompt: str = ""

    @property
    def display_name(self) -> str:
        return f"{self.label} ({self.name})" if self.label else self.name


@attrs.frozen
class Config:
    """Everything loaded: settings, bottles and agents merged over layers."""

    settings: Settings = attrs.field(factory=Settings)
    bottles: dict[str, Bottle] = attrs.field(factory=dict)
    agents: dict[str, Agent] = attrs.field(factory=dict)
    # Skill name → its directory (skills/NAME/ holding SKILL.md), over all layers.
    skills: dict[str, Path] = attrs.field(factory=dict)
    files: tuple[Path, ...] = ()


@attrs.frozen
class ResolvedEnv:
    """Bottle env values ready for the agent; ``names`` in declaration order."""

    values: dict[str, str]
    names: tuple[str, ...]


# Fields filled in by the loader, never written in a file.
INTERNAL_FIELDS: dict[type, frozenset[str]] = {
    Bottle: frozenset({"name", "source"}),
    Agent: frozenset({"name", "source", "prompt"}),
}
