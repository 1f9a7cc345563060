"""Semantic checks on structured config, and the normalised values they yield.

Each ``check_*`` takes a freshly structured object and returns the object
to keep (hosts lower-cased, methods upper-cased, paths resolved against
the file's directory, ...) together with every problem found, each at its
precise path inside the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
from bot_bottle_sidecars.routes import duplicate_hosts

from .models import (
    Agent,
    Bottle,
    Egress,
    EnvValue,
    Git,
    GitRepo,
    Problem,
    ProvisionedKey,
    Resources,
    Settings,
    parse_memory_mib,
    parse_ssh_url,
)
from .structure import ENV_NAME_RE, describe, join_index, join_key, quote

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}", re.ASCII)
NAME_RULE = (
    "lower-case letters, digits, '-' and '_', starting with a letter or digit, "
    "at most 40 characters (it becomes part of container names)"
)
REPO_NAME_RE = re.compile(r"[A-Za-z0-9._-]+", re.ASCII)
# One path component: the name becomes a directory inside the bottle.
SKILL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
COLORS = ("red", "green", "yellow", "blue", "magenta", "cyan", "orange", "purple", "pink", "gray")
_HEX_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}", re.ASCII)
_TOKEN_RE = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", re.ASCII)
_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a bottle or an agent, or None."""
    if not isinstance(name, str):
        return f"name must be a string, got {describe(name)}"
    if not NAME_RE.fullmatch(name):
        return f"name {quote(name)} is not allowed: use {NAME_RULE}"
    return None


def is_env_name(name: object) -> bool:
    return isinstance(name, str) and ENV_NAME_RE.fullmatch(name) is not None


def _env_name_message(what: str, value: str) -> str:
    return (
        f"{what} {quote(value)} is not a valid environment variable name "
        "(letters, digits and _, not starting with a digit)"
    )


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


# --- settings ---------------------------------------------------------------------


def resolve_path(path: Path, file: Path, at: str, problems: list[Problem]) -> Path:
    """``~`` expanded, relative paths taken from the directory of ``file``."""
    try:
        path = path.expanduser()
    except RuntimeError:  # "~name" for an unknown user, or no home directory
        problems.append(
            Problem(file, at, f"cannot expand '~' in {quote(str(path))}: no such user or home")
        )
        return path
    return path if path.is_absolute() else file.parent / path


def check_settings(settings: Settings, file: Path, prefix: str) -> tuple[Settings, list[Problem]]:
    problems: list[Problem] = []
    for field in ("default_backend", "base_image"):
        value = getattr(settings, field)
        if value is not None and (not value.strip() or any(c.isspace() for c in value)):
            problems.append(
                Problem(
                    file, join_key(prefix, field), f"{field} must be one word, got {quote(value)}"
                )
            )
    bundle = settings.build_ca_bundle
    if bundle is not None:
        bundle = resolve_path(bundle, file, join_key(prefix, "build_ca_bundle"), problems)
    return attrs.evolve(settings, build_ca_bundle=bundle), problems


# --- bottles -----------------------------------------------------------------------


def check_bottle(bottle: Bottle, prefix: str) -> tuple[Bottle, list[Problem]]:
    """``prefix`` is the bottle's own path, e.g. ``bottles.web``."""
    file = bottle.source
    problems: list[Problem] = []
    why = name_problem(bottle.name)
    if why:
        problems.append(Problem(file, prefix, f"bottle {why}"))
    env = _check_env(bottle.env, file, join_key(prefix, "env"), problems)
    egress = _check_egress(bottle.egress, file, join_key(prefix, "egress"), problems)
    git = _check_git(bottle.git, file, join_key(prefix, "git"), problems)
    _check_resources(bottle.resources, file, join_key(prefix, "resources"), problems)
    dockerfile = bottle.dockerfile
    if dockerfile is not None:
        dockerfile = resolve_path(dockerfile, file, join_key(prefix, "dockerfile"), problems)
    checked = attrs.evolve(bottle, env=env, egress=egress, git=git, dockerfile=dockerfile)
    return checked, problems


def _check_env(
    env: dict[str, EnvValue], file: Path, prefix: str, problems: list[Problem]
) -> dict[str, EnvValue]:
    out: dict[str, EnvValue] = {}
    for key, value in env.items():
        path = join_key(prefix, key)
        if not is_env_name(key):
            problems.append(Problem(file, path, _env_name_message("env name", key)))
        if value.kind == "literal" and "\x00" in value.value:
            problems.append(Problem(file, path, "env values must not contain NUL characters"))
        if value.kind == "prompt" and not value.value:
            value = EnvValue("prompt", key)
        out[key] = value
    return out


def _check_egress(egress: Egress, file: Path, prefix: str, problems: list[Problem]) -> Egress:
    # Each route was checked as it was read (config.structure, by the shared
    # route schema); what is left is how routes relate to each other.
    base = join_key(prefix, "routes")
    for i, first in duplicate_hosts([r.host for r in egress.routes]):
        host = egress.routes[i].host
        problems.append(
            Problem(
                file,
                join_key(join_index(base, i), "host"),
                f"duplicate host {quote(host)}: already routed by "
                f"{join_index(base, first)}; merge the two routes",
            )
        )
    return egress


def _check_git(git: Git, file: Path, prefix: str, problems: list[Problem]) -> Git:
    repos: list[GitRepo] = []
    seen: dict[str, int] = {}
    base = join_key(prefix, "repos")
    for i, repo in enumerate(git.repos):
        path = join_index(base, i)
        repos.append(_check_repo(repo, file, path, problems))
        if REPO_NAME_RE.fullmatch(repo.name):
            if repo.name in seen:
                problems.append(
                    Problem(
                        file,
                        join_key(path, "name"),
                        f"duplicate repo name {quote(repo.name)}: already used by "
                        f"{join_index(base, seen[repo.name])}",
                    )
                )
            else:
                seen[repo.name] = i
    return Git(repos=tuple(repos))


def _check_repo(repo: GitRepo, file: Path, path: str, problems: list[Problem]) -> GitRepo:
    if not REPO_NAME_RE.fullmatch(repo.name) or repo.name in (".", ".."):
        problems.append(
            Problem(
                file,
                join_key(path, "name"),
                f"repo name {quote(repo.name)} is not allowed: use letters, digits, '.', '-' "
                "and '_' (the agent clones it as http://git-gate/<name>.git)",
            )
        )
    try:
        parse_ssh_url(repo.upstream)
    except ValueError as exc:
        problems.append(Problem(file, join_key(path, "upstream"), str(exc)))

    if repo.identity is not None and repo.provisioned_key is not None:
        problems.append(
            Problem(
                file,
                path,
                "set exactly one of identity or provisioned_key, not both: "
                "identity is a key file you hold, provisioned_key mints one at start",
            )
        )
    elif repo.identity is None and repo.provisioned_key is None:
        problems.append(
            Problem(
                file,
                path,
                "the repo needs a key: set identity (an SSH private key file on this host) "
                "or provisioned_key (a deploy key minted by a git host plugin)",
            )
        )
    identity = repo.identity
    if identity is not None:
        identity = resolve_path(identity, file, join_key(path, "identity"), problems)
    key = repo.provisioned_key
    if key is not None:
        _check_provisioned_key(key, file, join_key(path, "provisioned_key"), problems)
    for j, branch in enumerate(repo.protected_branches):
        if not branch.strip() or any(c.isspace() for c in branch) or _has_control(branch):
            problems.append(
                Problem(
                    file,
                    join_index(join_key(path, "protected_branches"), j),
                    f"branch name {quote(branch)} must be one non-empty word",
                )
            )
    for j, pattern in enumerate(repo.protected_paths):
        if not pattern.strip("/ ") or _has_control(pattern):
            problems.append(
                Problem(
                    file,
                    join_index(join_key(path, "protected_paths"), j),
                    f"path pattern {quote(pattern)} must name a path inside the repository, "
                    "like '.github/workflows/**'",
                )
            )
    return attrs.evolve(repo, identity=identity)


def _check_provisioned_key(
    key: ProvisionedKey, file: Path, path: str, problems: list[Problem]
) -> None:
    if not key.plugin.strip():
        problems.append(
            Problem(
                file, join_key(path, "plugin"), "plugin must name a git host plugin, e.g. 'gitea'"
            )
        )
    if not re.match(r"https?://[^/\s]+", key.api_url, re.ASCII):
        problems.append(
            Problem(
                file,
                join_key(path, "api_url"),
                "api_url must start with http:// or https:// and name a host, "
                f"got {quote(key.api_url)}",
            )
        )
    if not key.repo.strip():
        problems.append(
            Problem(
                file, join_key(path, "repo"), "repo must name the repository, e.g. 'org/project'"
            )
        )
    if not is_env_name(key.token_ref):
        problems.append(
            Problem(
                file,
                join_key(path, "token_ref"),
                _env_name_message("token_ref", key.token_ref)
                + "; it names the host variable that holds the API token",
            )
        )


def _check_resources(res: Resources, file: Path, prefix: str, problems: list[Problem]) -> None:
    if res.cpus is not None and res.cpus <= 0:
        problems.append(
            Problem(file, join_key(prefix, "cpus"), f"cpus must be more than 0, got {res.cpus:g}")
        )
    if res.memory is not None:
        path = join_key(prefix, "memory")
        try:
            mib = parse_memory_mib(res.memory)
        except ValueError as exc:
            problems.append(Problem(file, path, str(exc)))
        else:
            if mib <= 0:
                problems.append(
                    Problem(file, path, f"memory must be at least 1 MiB, got {quote(res.memory)}")
                )


# --- agents ---------------------------------------------------------------------------


def check_agent(agent: Agent) -> tuple[Agent, list[Problem]]:
    file = agent.source
    problems: list[Problem] = []
    if not agent.bottle.strip():
        problems.append(Problem(file, "bottle", "bottle must name a bottle from the manifest"))
    if not agent.provider.strip() or any(c.isspace() for c in agent.provider):
        problems.append(
            Problem(
                file,
                "provider",
                f"provider must be one word naming a provider plugin (e.g. 'claude'), "
                f"got {quote(agent.provider)}",
            )
        )
    for i, skill in enumerate(agent.skills):
        if not SKILL_NAME.fullmatch(skill):
            problems.append(
                Problem(
                    file,
                    join_index("skills", i),
                    f"skill {quote(skill)} must be the name of a directory under skills/ "
                    "(letters, digits, '.', '_' and '-')",
                )
            )
    if agent.label is not None and (
        not agent.label.strip() or _has_control(agent.label) or len(agent.label) > 64
    ):
        problems.append(
            Problem(
                file,
                "label",
                f"label must be non-empty printable text of at most 64 characters, "
                f"got {quote(agent.label)}",
            )
        )
    color = agent.color
    if color is not None:
        lowered = color.strip().lower()
        if lowered in COLORS or _HEX_COLOR_RE.fullmatch(lowered):
            color = lowered
        else:
            problems.append(
                Problem(
                    file,
                    "color",
                    f"unknown color {quote(agent.color)}; use one of {', '.join(COLORS)} "
                    "or #rrggbb",
                )
            )
    if agent.auth_token is not None and not is_env_name(agent.auth_token):
        problems.append(
            Problem(
                file,
                "auth_token",
                _env_name_message("auth_token", agent.auth_token)
                + "; it names the host variable that holds the provider's credential",
            )
        )
    return attrs.evolve(agent, color=color), problems


def check_agent_skills(agent: Agent, known: Mapping[str, Path]) -> list[Problem]:
    return [
        Problem(
            agent.source,
            join_index("skills", i),
            f"no skill named {quote(skill)}: a skill is a directory skills/{skill}/ holding "
            f"SKILL.md, next to agents/ in the config dir or in the project's .bot-bottle"
            + (f"; known skills: {', '.join(sorted(known))}" if known else ""),
        )
        for i, skill in enumerate(agent.skills)
        if SKILL_NAME.fullmatch(skill) and skill not in known
    ]


def check_agent_bottle(agent: Agent, known: Iterable[str]) -> list[Problem]:
    names = sorted(set(known))
    if agent.bottle in names or not agent.bottle.strip():
        return []
    listing = f"known bottles: {', '.join(names)}" if names else "no bottles are defined"
    return [
        Problem(
            agent.source,
            "bottle",
            f"bottle {quote(agent.bottle)} is not defined in any manifest; {listing}",
        )
    ]
