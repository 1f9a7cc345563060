"""Finding, reading and layering the configuration files; resolving env values.

Layers, lowest first: the built-in example (package data), the user's
(``home.manifest``, ``home.agents_dir/*.md``) and the project's (the
nearest ``.bot-bottle`` directory at or above the working directory).
A later layer replaces an earlier one's bottle or agent of the same name;
settings are overridden field by field. Every problem in every file is
collected before one :class:`ConfigError` is raised.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from ..home import Home, find_project_dir
from ..skills import SKILLS_DIR_NAME, find_skills
from .models import Agent, Bottle, Config, ConfigError, EnvValue, Problem, ResolvedEnv, Settings
from .structure import (
    allowed_keys,
    describe,
    join_key,
    quote,
    structure,
    unknown_key_message,
)
from .validate import (
    check_agent,
    check_agent_bottle,
    check_agent_skills,
    check_bottle,
    check_settings,
    name_problem,
)

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "builtin_config"
MANIFEST_NAME = "manifest.yaml"
AGENTS_DIR_NAME = "agents"
MANIFEST_KEYS = ("settings", "bottles")
_MERGE_TAG = "tag:yaml.org,2002:merge"


# --- YAML -----------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, _value in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable: the base class reports it
                    continue
                if duplicate:
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {quote(key)}",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError, text: str, file: Path, line_offset: int) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        what = str(problem)
        if context and "duplicate key" not in what:
            what = f"{what} ({context})"
    else:
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if mark is not None:
        line, column = mark.line, mark.column
    elif isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.position, int):
        # Reader errors (forbidden characters) only know the offset in the text.
        before = text[: exc.position]
        line, column = before.count("\n"), exc.position - (before.rfind("\n") + 1)
        char = exc.character
        code = char if isinstance(char, int) else ord(char) if isinstance(char, str) and char else 0
        what = f"unacceptable character U+{code:04X} (control characters are not allowed)"
    else:
        return Problem(file, "", f"invalid YAML: {what}")
    where = f"line {line + 1 + line_offset}, column {column + 1}"
    return Problem(file, "", f"invalid YAML at {where}: {what}")


def parse_yaml(text: str, file: Path, line_offset: int = 0) -> tuple[Any, Problem | None]:
    """``(data, None)`` or ``(None, problem)``; ``line_offset`` for front matter."""
    try:
        return yaml.load(text, Loader=_StrictLoader), None
    except yaml.YAMLError as exc:
        return None, _yaml_problem(exc, text, file, line_offset)
    except RecursionError:
        return None, Problem(file, "", "invalid YAML: nested too deeply")


def _read_text(file: Path, problems: list[Problem]) -> str | None:
    try:
        data = file.read_bytes()
    except OSError as exc:
        problems.append(Problem(file, "", f"could not be read: {exc.strerror or exc}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(file, "", f"is not UTF-8 text (undecodable byte at offset {exc.start})")
        )
        return None


# --- manifest ---------------------------------------------------------------------------


@attrs.frozen
class _Manifest:
    settings: Settings | None
    bottles: dict[str, Bottle]
    # Every bottle name the file declares, valid or not: agents referring to
    # a broken bottle are not also reported as referring to a missing one.
    declared: frozenset[str]


def _load_manifest(file: Path, problems: list[Problem]) -> _Manifest | None:
    text = _read_text(file, problems)
    if text is None:
        return None
    data, problem = parse_yaml(text, file)
    if problem:
        problems.append(problem)
        return None
    return _manifest_from_data(data, file, problems)


def _manifest_from_data(data: Any, file: Path, problems: list[Problem]) -> _Manifest | None:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(
            Problem(
                file,
                "",
                f"the manifest must be a mapping with the keys settings and bottles, "
                f"got {describe(data)}",
            )
        )
        return None
    for key in data:
        if key not in MANIFEST_KEYS:
            problems.append(
                Problem(file, join_key("", key), unknown_key_message(key, list(MANIFEST_KEYS)))
            )

    settings = None
    if data.get("settings") is not None:
        structured, found = structure(data["settings"], Settings, file, "settings")
        problems.extend(found)
        if structured is not None:
            settings, found = check_settings(structured, file, "settings")
            problems.extend(found)

    bottles: dict[str, Bottle] = {}
    declared: set[str] = set()
    raw_bottles = data.get("bottles")
    if raw_bottles is None:
        raw_bottles = {}
    if not isinstance(raw_bottles, dict):
        problems.append(
            Problem(
                file,
                "bottles",
                f"expected a mapping of bottle names to bottles, got {describe(raw_bottles)}",
            )
        )
        raw_bottles = {}
    for name, raw in raw_bottles.items():
        path = join_key("bottles", name)
        why = name_problem(name)
        if why:
            problems.append(Problem(file, path, f"bottle {why}"))
            continue
        declared.add(name)
        bottle = _bottle_from_data(name, raw, file, path, problems)
        if bottle is not None:
            bottles[name] = bottle
    return _Manifest(settings=settings, bottles=bottles, declared=frozenset(declared))


def _without_internal(
    raw: dict,
    internal: frozenset[str],
    allowed: list[str],
    file: Path,
    path: str,
    problems: list[Problem],
) -> dict:
    """Keys the loader fills in itself are unknown when written in a file."""
    out = {}
    for key, value in raw.items():
        if isinstance(key, str) and key in internal:
            problems.append(Problem(file, join_key(path, key), unknown_key_message(key, allowed)))
        else:
            out[key] = value
    return out


def _bottle_from_data(
    name: str, raw: Any, file: Path, path: str, problems: list[Problem]
) -> Bottle | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(
            Problem(
                file, path, f"a bottle must be a mapping (key: value lines), got {describe(raw)}"
            )
        )
        return None
    raw = _without_internal(
        raw, frozenset({"name", "source"}), allowed_keys(Bottle), file, path, problems
    )
    structured, found = structure({**raw, "name": name, "source": file}, Bottle, file, path)
    problems.extend(found)
    if structured is None:
        return None
    bottle, found = check_bottle(structured, path)
    problems.extend(found)
    return bottle


# --- agents -------------------------------------------------------------------------------

_FRONT_MATTER_HELP = (
    "an agent file starts with a line '---', then YAML settings (at least 'bottle: NAME'), "
    "then another '---' line, then the agent's prompt"
)


def _split_front_matter(text: str) -> tuple[str, str] | str:
    """``(front matter, body)`` or a message saying what is wrong."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return f"has no front matter: {_FRONT_MATTER_HELP}"
    for i in range(1, len(lines)):
        if lines[i].rstrip() == "---":
            front = "\n".join(lines[1:i])
            body = "\n".join(lines[i + 1 :])
            if body.startswith("\r\n"):
                body = body[2:]
            elif body.startswith("\n"):
                body = body[1:]
            return front, body
    return (
        "the front matter is not closed: add a '---' line after the settings "
        f"({_FRONT_MATTER_HELP})"
    )


def _load_agent(file: Path, problems: list[Problem]) -> Agent | None:
    name = file.stem
    why = name_problem(name)
    if why:
        problems.append(Problem(file, "", f"agent {why} (the name comes from the file name)"))
        return None
    text = _read_text(file, problems)
    if text is None:
        return None
    split = _split_front_matter(text)
    if isinstance(split, str):
        problems.append(Problem(file, "", split))
        return None
    front, body = split
    data, problem = parse_yaml(front, file, line_offset=1)
    if problem:
        problems.append(problem)
        return None
    return _agent_from_data(name, data, body, file, problems)


def _agent_from_data(
    name: str, data: Any, body: str, file: Path, problems: list[Problem]
) -> Agent | None:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(
            Problem(
                file,
                "",
                f"the front matter must be a mapping (key: value lines, at least 'bottle: NAME'), "
                f"got {describe(data)}",
            )
        )
        return None
    data = _without_internal(
        data, frozenset({"name", "source", "prompt"}), allowed_keys(Agent), file, "", problems
    )
    structured, found = structure(
        {**data, "name": name, "source": file, "prompt": body}, Agent, file, ""
    )
    problems.extend(found)
    if structured is None:
        return None
    agent, found = check_agent(structured)
    problems.extend(found)
    return agent


# --- layering ------------------------------------------------------------------------------


@attrs.frozen
class _Layer:
    manifest: Path
    agents_dir: Path


def _layers(home: Home, cwd: Path, include_builtin: bool) -> list[_Layer]:
    layers = []
    if include_builtin:
        layers.append(_Layer(BUILTIN_DIR / MANIFEST_NAME, BUILTIN_DIR / AGENTS_DIR_NAME))
    layers.append(_Layer(home.manifest, home.agents_dir))
    project = find_project_dir(cwd)
    if project is not None and not _same_dir(project, home.config_dir):
        layers.append(_Layer(project / MANIFEST_NAME, project / AGENTS_DIR_NAME))
    return layers


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _agent_files(agents_dir: Path, problems: list[Problem]) -> list[Path]:
    if not agents_dir.exists():
        return []
    if not agents_dir.is_dir():
        problems.append(Problem(agents_dir, "", "should be a directory of agent files (NAME.md)"))
        return []
    try:
        return sorted(p for p in agents_dir.iterdir() if p.suffix == ".md" and p.is_file())
    except OSError as exc:
        problems.append(Problem(agents_dir, "", f"could not be read: {exc.strerror or exc}"))
        return []


def _guarded(fn: Callable[..., Any], file: Path, problems: list[Problem]) -> Any:
    """The safety net: whatever goes wrong with one file becomes a problem."""
    try:
        return fn(file, problems)
    except Exception as exc:  # pragma: no cover - every known mistake has a message
        problems.append(Problem(file, "", f"could not be read: {type(exc).__name__}: {exc}"))
        return None


# Settings the environment overrides, above every file (a machine's own facts:
# an air-gapped base image, a corporate CA), as BOT_BOTTLE_<FIELD>.
ENV_SETTINGS = {
    "base_image": "BOT_BOTTLE_BASE_IMAGE",
    "build_ca_bundle": "BOT_BOTTLE_BUILD_CA_BUNDLE",
}
ENV_SOURCE = Path("<environment>")


def _env_settings(environ: Mapping[str, str], problems: list[Problem]) -> Settings:
    base = environ.get(ENV_SETTINGS["base_image"]) or None
    ca_raw = environ.get(ENV_SETTINGS["build_ca_bundle"]) or None
    ca = Path(ca_raw).expanduser() if ca_raw else None
    if ca is not None and not ca.is_file():
        problems.append(Problem(ENV_SOURCE, ENV_SETTINGS["build_ca_bundle"], f"{ca} is not a file"))
        ca = None
    return Settings(base_image=base, build_ca_bundle=ca)


def load_config(
    home: Home,
    cwd: Path,
    *,
    include_builtin: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, merge and check every configuration file; raise :class:`ConfigError`."""
    problems: list[Problem] = []
    files: list[Path] = []
    settings = Settings()
    bottles: dict[str, Bottle] = {}
    declared: set[str] = set()
    agents: dict[str, Agent] = {}
    every_agent: list[Agent] = []

    layers = _layers(home, cwd, include_builtin)
    for layer in layers:
        if layer.manifest.exists():
            files.append(layer.manifest)
            manifest = _guarded(_load_manifest, layer.manifest, problems)
            if manifest is not None:
                if manifest.settings is not None:
                    settings = _merge_settings(settings, manifest.settings)
                bottles.update(manifest.bottles)
                declared |= manifest.declared
        for file in _agent_files(layer.agents_dir, problems):
            files.append(file)
            agent = _guarded(_load_agent, file, problems)
            if agent is not None:
                agents[agent.name] = agent
                every_agent.append(agent)

    env = os.environ if environ is None else environ
    settings = _merge_settings(settings, _env_settings(env, problems))
    # Skills sit next to each layer's agents/ (skills/NAME/SKILL.md).
    skills = find_skills(layer.agents_dir.parent / SKILLS_DIR_NAME for layer in layers)
    for agent in every_agent:
        problems.extend(check_agent_bottle(agent, declared))
        problems.extend(check_agent_skills(agent, skills))
    if problems:
        raise ConfigError(problems)
    return Config(
        settings=settings, bottles=bottles, agents=agents, skills=skills, files=tuple(files)
    )


def _merge_settings(base: Settings, over: Settings) -> Settings:
    changes = {
        f.name: getattr(over, f.name)
        for f in attrs.fields(Settings)
        if getattr(over, f.name) is not None
    }
    return attrs.evolve(base, **changes)


# --- env ---------------------------------------------------------------------------------


def resolve_env(
    env: dict[str, EnvValue],
    *,
    environ: Mapping[str, str],
    ask: Callable[[str, str], str] | None,
    bottle: Bottle,
) -> ResolvedEnv:
    """The bottle's env values: literals, host variables, then answers to prompts.

    Missing host variables are all reported before anything is asked.
    """

    def where(key: str) -> str:
        return join_key(join_key(join_key("bottles", bottle.name), "env"), key)

    missing = [
        Problem(
            bottle.source,
            where(key),
            f"host variable {value.value} is not set (bottle {bottle.name!r} takes "
            f"{key} from ${{{value.value}}})",
        )
        for key, value in env.items()
        if value.kind == "host" and value.value not in environ
    ]
    if missing:
        raise ConfigError(
            missing,
            hint="Set the variable in the environment you run bot-bottle from, "
            "or change the bottle's env.",
        )
    prompts = [key for key, value in env.items() if value.kind == "prompt"]
    if prompts and ask is None:
        raise ConfigError(
            [
                Problem(
                    bottle.source,
                    where(key),
                    f"the value of {key} must be typed at start, but no terminal is attached",
                )
                for key in prompts
            ],
            hint="Start the bottle from a terminal, or give the value as a literal or ${HOST_VAR}.",
        )
    values: dict[str, str] = {}
    for key, value in env.items():
        if value.kind == "literal":
            values[key] = value.value
        elif value.kind == "host":
            values[key] = environ[value.value]
        else:
            assert ask is not None
            values[key] = ask(key, value.value or key)
    return ResolvedEnv(values=values, names=tuple(env))
