"""YAML data → typed config objects, with every mistake turned into a :class:`Problem`.

One :class:`cattrs.Converter` (extra keys forbidden, detailed validation)
with hooks that accept exactly what a careful user would write and raise
:class:`Invalid` with a readable message otherwise. :func:`problems_from`
walks cattrs' exception groups and turns them into problems whose paths
look like ``bottles.web.egress.routes[2].host``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, TypeVar

import attrs
import cattrs
from bot_bottle_sidecars.routes import Route, parse_route
from bot_bottle_sidecars.routes.wording import (
    describe,
    join_index,
    join_key,
    join_parts,
    quote,
    unknown_key_message,
)
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, override

from .models import INTERNAL_FIELDS, EnvValue, Problem, Resources

T = TypeVar("T")

ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_WHOLE_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", re.ASCII)
_MAPPING_KEY_NOTE = "Structuring mapping key"
_MAPPING_VALUE_NOTE = "Structuring mapping value"


class Invalid(Exception):
    """A value does not fit; ``message`` says what was expected and found."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParts(Exception):
    """Several problems inside one value, each at its place below it (``("auth", "scheme")``)."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(message for _at, message in problems))
        self.problems = problems


# --- wording ----------------------------------------------------------------------


def _quote_hint(value: object) -> str:
    if isinstance(value, bool | int | float) and not (
        isinstance(value, int) and abs(value) >= 10**15
    ):
        return f'; put it in quotes if you mean the text, e.g. "{_yaml_word(value)}"'
    return ""


def _yaml_word(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expected(cl: Any) -> str:
    """How to ask for a value of type ``cl``."""
    origin = typing.get_origin(cl)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(cl) if a is not type(None)]
        return expected(args[0]) if len(args) == 1 else "a value"
    if cl is str:
        return "a string"
    if cl is bool:
        return "true or false"
    if cl in (float, int):
        return "a number"
    if cl in (Path, PurePath):
        return "a file path"
    if origin is tuple:
        (item, *_rest) = typing.get_args(cl)
        if item is str:
            return "a list of strings"
        if attrs.has(item) or dataclasses.is_dataclass(item):
            return "a list of mappings"
        return "a list"
    if origin is dict:
        return "a mapping"
    if attrs.has(cl):
        return "a mapping"
    return getattr(cl, "__name__", str(cl))


# --- hooks ---------------------------------------------------------------------------


def _structure_str(value: object, _cl: Any) -> str:
    if isinstance(value, str):
        return value
    raise Invalid(f"expected a string, got {describe(value)}{_quote_hint(value)}")


def _structure_bool(value: object, _cl: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid(f"expected true or false, got {describe(value)}")


def _structure_float(value: object, _cl: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"expected a number, got {describe(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise Invalid("the number is too large") from None
    if not math.isfinite(number):
        raise Invalid(f"expected a finite number, got {describe(value)}")
    return number


def _structure_path(value: object, _cl: Any) -> Path:
    if isinstance(value, PurePath):
        return Path(value)
    if not isinstance(value, str):
        raise Invalid(f"expected a file path, got {describe(value)}")
    if not value.strip():
        raise Invalid("expected a file path, got an empty string")
    if any(ord(c) < 32 for c in value):
        raise Invalid(f"the path {quote(value)} contains control characters")
    return Path(value)


def _structure_memory(value: object, _cl: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise Invalid(
        f"expected a size like '512m', '4g' or a number of MiB (2048), got {describe(value)}"
    )


def _structure_env_value(value: object, _cl: Any) -> EnvValue:
    if isinstance(value, str):
        if "${" in value:
            m = _WHOLE_REF_RE.fullmatch(value)
            if not m:
                raise Invalid(
                    f"{quote(value)} is not a host variable reference: only a whole value "
                    "like '${NAME}' (NAME made of letters, digits and _) is supported"
                )
            return EnvValue("host", m[1])
        if value.startswith("?"):
            return EnvValue("prompt", value[1:].strip())
        return EnvValue("literal", value)
    if isinstance(value, bool | int | float):
        raise Invalid(
            f"env values must be strings, got {describe(value)}; "
            f'put it in quotes: "{_yaml_word(value)}"'
        )
    raise Invalid(f"env values must be strings, got {describe(value)}")


def _structure_route(value: object, _cl: Any) -> Route:
    # One route schema for config check, the preflight and the egress sidecar.
    route, problems = parse_route(value)
    if route is None:
        raise InvalidParts([(p.at, p.message) for p in problems])
    return route


def _add_note(exc: BaseException, note: str) -> None:
    exc.__notes__ = [*getattr(exc, "__notes__", []), note]


def _tuple_hook_factory(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(cl: Any) -> Callable[[Any, Any], Any]:
        item_type = typing.get_args(cl)[0]

        def hook(value: object, _cl: Any) -> tuple:
            if value is None:
                return ()
            if not isinstance(value, list):
                hint = ""
                if isinstance(value, str) and item_type is str:
                    hint = f"; write it as a list: [{value}]"
                raise Invalid(f"expected {expected(cl)}, got {describe(value)}{hint}")
            out: list[Any] = []
            errors: list[Exception] = []
            for i, item in enumerate(value):
                try:
                    out.append(conv.structure(item, item_type))
                except Exception as exc:
                    _add_note(exc, IterableValidationNote(f"Structuring item @ {i}", i, item_type))
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {cl!r}", errors, cl)
            return tuple(out)

        return hook

    return factory


def _dict_hook_factory(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(cl: Any) -> Callable[[Any, Any], Any]:
        key_type, value_type = typing.get_args(cl)

        def hook(value: object, _cl: Any) -> dict:
            if value is None:
                return {}
            if not isinstance(value, dict):
                raise Invalid(f"expected a mapping (NAME: value lines), got {describe(value)}")
            out: dict[Any, Any] = {}
            errors: list[Exception] = []
            for k, v in value.items():
                try:
                    key = conv.structure(k, key_type)
                except Exception as exc:
                    _add_note(
                        exc, IterableValidationNote(f"{_MAPPING_KEY_NOTE} @ {k!r}", k, key_type)
                    )
                    errors.append(exc)
                    continue
                try:
                    out[key] = conv.structure(v, value_type)
                except Exception as exc:
                    _add_note(
                        exc, IterableValidationNote(f"{_MAPPING_VALUE_NOTE} @ {k!r}", k, value_type)
                    )
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {cl!r}", errors, cl)
            return out

        return hook

    return factory


_FIELD_OVERRIDES: dict[type, dict[str, Any]] = {
    Resources: {"memory": override(struct_hook=_structure_memory)},
}


def _attrs_hook_factory(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(cl: Any) -> Callable[[Any, Any], Any]:
        base = make_dict_structure_fn(cl, conv, **_FIELD_OVERRIDES.get(cl, {}))
        # A container whose every field has a default may be left empty (`egress:`).
        empty_ok = all(f.default is not attrs.NOTHING for f in attrs.fields(cl))

        def hook(value: object, _cl: Any) -> Any:
            if value is None and empty_ok:
                value = {}
            if not isinstance(value, dict):
                raise Invalid(f"expected a mapping (key: value lines), got {describe(value)}")
            return base(value, cl)

        return hook

    return factory


def _is_var_tuple(cl: Any) -> bool:
    args = typing.get_args(cl)
    return typing.get_origin(cl) is tuple and len(args) == 2 and args[1] is Ellipsis


def make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook_factory(attrs.has, _attrs_hook_factory(conv))
    conv.register_structure_hook_factory(_is_var_tuple, _tuple_hook_factory(conv))
    conv.register_structure_hook_factory(
        lambda cl: typing.get_origin(cl) is dict, _dict_hook_factory(conv)
    )
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(Path, _structure_path)
    conv.register_structure_hook(EnvValue, _structure_env_value)
    conv.register_structure_hook(Route, _structure_route)
    return conv


converter = make_converter()


# --- errors → problems ----------------------------------------------------------------


def allowed_keys(cl: type) -> list[str]:
    internal = INTERNAL_FIELDS.get(cl, frozenset())
    return [f.name for f in attrs.fields(cl) if f.name not in internal]


def problems_from(exc: BaseException, file: Path, path: str) -> list[Problem]:
    """Every problem inside ``exc`` (a cattrs error group or one of our own)."""
    out: list[Problem] = []
    _walk(exc, file, path, out)
    return out


def _walk(exc: BaseException, file: Path, path: str, out: list[Problem]) -> None:
    if isinstance(exc, Invalid):
        out.append(Problem(file, path, exc.message))
    elif isinstance(exc, InvalidParts):
        out.extend(Problem(file, join_parts(path, at), message) for at, message in exc.problems)
    elif isinstance(exc, ClassValidationError):
        with_notes, others = exc.group_exceptions()
        for sub, note in with_notes:
            sub_path = join_key(path, note.name)
            if type(sub) is KeyError and sub.args == (note.name,):
                out.append(Problem(file, sub_path, f"required key {note.name!r} is missing"))
            else:
                _walk(sub, file, sub_path, out)
        for sub in others:
            _walk_other(sub, file, path, out)
    elif isinstance(exc, IterableValidationError):
        with_notes, others = exc.group_exceptions()
        for sub, note in with_notes:
            if note.startswith(_MAPPING_KEY_NOTE):
                sub_out: list[Problem] = []
                _walk(sub, file, join_key(path, note.index), sub_out)
                out.extend(Problem(p.file, p.path, f"invalid key: {p.message}") for p in sub_out)
            elif note.startswith(_MAPPING_VALUE_NOTE) or not isinstance(note.index, int):
                _walk(sub, file, join_key(path, note.index), out)
            else:
                _walk(sub, file, join_index(path, note.index), out)
        for sub in others:
            _walk_other(sub, file, path, out)
    elif isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            _walk(sub, file, path, out)
    else:
        _walk_other(exc, file, path, out)


def _walk_other(exc: BaseException, file: Path, path: str, out: list[Problem]) -> None:
    if isinstance(exc, ForbiddenExtraKeysError):
        allowed = allowed_keys(exc.cl)
        for key in sorted(exc.extra_fields, key=repr):
            out.append(Problem(file, join_key(path, key), unknown_key_message(key, allowed)))
    elif isinstance(exc, Invalid | InvalidParts | ClassValidationError | IterableValidationError):
        _walk(exc, file, path, out)
    elif isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            _walk(sub, file, path, out)
    else:
        out.append(Problem(file, path, f"could not be read: {type(exc).__name__}: {exc}"))


def structure(value: object, cl: type[T], file: Path, path: str) -> tuple[T | None, list[Problem]]:
    """``(object, [])`` or ``(None, problems)``; never raises for bad data."""
    try:
        return converter.structure(value, cl), []
    except Exception as exc:
        problems = problems_from(exc, file, path)
        return None, problems or [Problem(file, path, f"could not be read: {exc}")]


__all__ = [
    "ENV_NAME_RE",
    "Invalid",
    "allowed_keys",
    "converter",
    "describe",
    "expected",
    "join_index",
    "join_key",
    "problems_from",
    "quote",
    "structure",
    "unknown_key_message",
]
