"""What the scenario model expects at a key path such as ``traffic.calendar.0.days``.

Error messages say what is allowed ("a number from 0 to 1", "landing, category, ...")
and suggest the key that was probably meant; overrides check their path before they are
applied. Both walk the model's type annotations alongside the data, key by key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from fauxsim.scenario.model import Scenario

if TYPE_CHECKING:
    from fauxsim.scenario.rules import Loc


@dataclass(frozen=True, slots=True)
class Expected:
    """The type the model wants at a path, with its constraints (bounds, lengths, pattern)."""

    annotation: Any
    constraints: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class UnknownKey:
    """A path that leaves the model: ``loc[:depth]`` exists, ``loc[depth]`` does not."""

    depth: int
    valid: tuple[str, ...]

    def suggestion(self, key: object) -> str:
        return did_you_mean(str(key), self.valid)


def did_you_mean(word: str, candidates: tuple[str, ...] | list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or nothing if none is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def model_keys(model: type[BaseModel]) -> tuple[str, ...]:
    """The keys a model shows in YAML: each field's alias, else its name."""
    return tuple(info.alias or name for name, info in model.model_fields.items())


def expected_at(loc: Loc, data: object) -> Expected | UnknownKey:
    """What the model expects at ``loc``; ``data`` (the raw document) picks union members."""
    current = Expected(Scenario)
    value: object = data
    for depth, key in enumerate(loc):
        annotation = _unwrap(current.annotation, ())[0]
        step = _step(annotation, key, value)
        if step is None:
            return UnknownKey(depth, _keys_at(annotation, value))
        current = step
        value = _child(value, key)
    return Expected(*_unwrap(current.annotation, current.constraints))


def _keys_at(annotation: Any, value: object) -> tuple[str, ...]:  # noqa: ANN401 - any type annotation
    """The keys a mapping at this place may have (none for open mappings and scalars)."""
    members = _chosen_members(annotation, value)
    if members:
        return tuple(dict.fromkeys(key for member in members for key in model_keys(member)))
    return model_keys(annotation) if _is_model(annotation) else ()


def _chosen_members(annotation: Any, value: object) -> list[type[BaseModel]]:  # noqa: ANN401
    """Members of a discriminated union (distributions): the one `type` names, else all."""
    members = _model_members(annotation)
    tag = value.get("type") if isinstance(value, dict) else None
    chosen = [m for m in members if tag in get_args(m.model_fields["type"].annotation)]
    return chosen or members


def _step(annotation: Any, key: str | int, value: object) -> Expected | None:  # noqa: ANN401 - any type annotation
    """The expected type one key below ``annotation``, or None if there is no such key."""
    members = _chosen_members(annotation, value)
    if members:
        found = (_field_of(member, key) for member in members)
        return next((step for step in found if step is not None), None)
    if _is_model(annotation):
        return _field_of(annotation, key)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is dict and len(args) == 2:  # noqa: PLR2004 - key and value types
        return Expected(args[1])
    if origin is list and args and isinstance(key, int):
        return Expected(args[0])
    return None


def _field_of(model: type[BaseModel], key: str | int) -> Expected | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return Expected(info.annotation, tuple(info.metadata))
    return None


def _unwrap(annotation: Any, constraints: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:  # noqa: ANN401
    """Strip Annotated (collecting its constraints) and Optional."""
    found = list(constraints)
    while True:
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
            continue
        if _is_union(annotation):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation, tuple(found)


def _child(value: object, key: str | int) -> object:
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    return None


def _is_union(annotation: object) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _model_members(annotation: object) -> list[type[BaseModel]]:
    if not _is_union(annotation):
        return []
    members = [_unwrap(arg, ())[0] for arg in get_args(annotation)]
    return members if all(_is_model(member) for member in members) else []


def describe(expected: Expected) -> str:
    """What the model allows, in words: "a number from 0 to 1", "monday, tuesday, ..."."""
    annotation, constraints = expected.annotation, expected.constraints
    members = _model_members(annotation)
    if members:
        tags = ", ".join(get_args(m.model_fields["type"].annotation)[0] for m in members)
        return f"a distribution: a mapping whose `type` is one of {tags}"
    if _is_model(annotation):
        return "a mapping with keys " + ", ".join(model_keys(annotation))
    if _is_union(annotation):
        # Simplest form first: "a date ... or a date-time ...".
        written = [option for option in get_args(annotation) if option is not type(None)]
        options = sorted(written, key=lambda option: option is dt.datetime)
        return " or ".join(describe(Expected(option)) for option in options)
    return _describe_simple(annotation, constraints)


def closed_set(expected: Expected) -> tuple[str, ...]:
    """The values an enum or Literal allows (for "did you mean"); empty for open types."""
    annotation = expected.annotation
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(str(member.value) for member in annotation)
    if get_origin(annotation) is Literal:
        return tuple(str(arg) for arg in get_args(annotation))
    return ()


_SIMPLE: dict[object, str] = {
    bool: "true or false",
    str: "text",
    dt.date: "a date such as 2025-01-01",
    dt.datetime: "a date-time such as 2025-01-01T09:00:00",
}

_PATTERNS = {r"^[A-Z]{3}$": "a three-letter currency code such as USD or EUR"}


def _describe_simple(annotation: Any, constraints: tuple[Any, ...]) -> str:  # noqa: ANN401
    choices = closed_set(Expected(annotation))
    if choices:
        return ", ".join(choices)
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation in (int, float):
        kind = "a whole number" if annotation is int else "a number"
        return " ".join([kind, *_bounds(constraints)])
    if origin is list and args:
        item = describe(Expected(*_unwrap(args[0], ())))
        return f"a list{_length(constraints, 'item', 'items')}, each {item}"
    if origin is dict and len(args) == 2:  # noqa: PLR2004 - key and value types
        keys = describe(Expected(*_unwrap(args[0], ())))
        values = describe(Expected(*_unwrap(args[1], ())))
        return f"a mapping{_length(constraints, 'entry', 'entries')} from {keys} to {values}"
    pattern = next(
        (getattr(c, "pattern", None) for c in constraints if hasattr(c, "pattern")), None
    )
    if annotation is str and pattern:
        return _PATTERNS.get(pattern, f"text matching {pattern}")
    return _SIMPLE.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(constraints: tuple[Any, ...]) -> list[str]:
    low: tuple[bool, object] | None = None  # (inclusive, bound)
    high: tuple[bool, object] | None = None
    for item in constraints:
        if isinstance(item, annotated_types.Ge):
            low = (True, item.ge)
        elif isinstance(item, annotated_types.Gt):
            low = (False, item.gt)
        elif isinstance(item, annotated_types.Le):
            high = (True, item.le)
        elif isinstance(item, annotated_types.Lt):
            high = (False, item.lt)
    if low and high and low[0] and high[0]:
        return [f"from {number(low[1])} to {number(high[1])}"]
    parts = []
    if low:
        parts.append(f"{'at least' if low[0] else 'above'} {number(low[1])}")
    if high:
        parts.append(f"{'at most' if high[0] else 'below'} {number(high[1])}")
    return [" and ".join(parts)] if parts else []


def _length(constraints: tuple[Any, ...], one: str, many: str) -> str:
    low = next((c.min_length for c in constraints if isinstance(c, annotated_types.MinLen)), None)
    high = next((c.max_length for c in constraints if isinstance(c, annotated_types.MaxLen)), None)
    if low is not None and low == high:
        return f" of exactly {low} {one if low == 1 else many}"
    if low:
        return f" of at least {low} {one if low == 1 else many}"
    return ""


def number(value: object) -> str:
    """A bound or value as a person writes it: 1 rather than 1.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:  # noqa: PLR2004 - beyond, 1e+20 reads better
        return str(int(value))
    return str(value)


def field_default(loc: Loc, data: object) -> tuple[bool, object]:
    """The default pydantic would fill in at ``loc`` if the key were absent, as YAML data.

    Only keys of models have defaults; ``(False, None)`` for anything else.
    """
    if not loc:
        return False, None
    parent = expected_at(loc[:-1], data)
    if not isinstance(parent, Expected):
        return False, None
    parent_value = data
    for key in loc[:-1]:
        parent_value = _child(parent_value, key)
    members = _chosen_members(parent.annotation, parent_value) or [parent.annotation]
    for member in members:
        if not _is_model(member):
            continue
        for name, info in member.model_fields.items():
            if loc[-1] in (name, info.alias) and not info.is_required():
                default = info.get_default(call_default_factory=True, validated_data={})
                return True, to_jsonable_python(default, by_alias=True)
    return False, None
