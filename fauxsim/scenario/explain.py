"""Pydantic's validation errors explained to a person, one :class:`Problem` each.

Pydantic's ``loc`` mixes keys with the names of union members (``start.datetime``,
``price.lognormal.median``); we follow it through the data the user wrote, so the path
shown is always one they can find in their file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

import annotated_types

from fauxsim.scenario.paths import (
    Expected,
    UnknownKey,
    closed_set,
    describe,
    did_you_mean,
    expected_at,
    number,
)
from fauxsim.scenario.problems import kind_of, show
from fauxsim.scenario.rules import RULE_ERROR_TYPE, violations_in

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

    from fauxsim.scenario.problems import Locator, Problem
    from fauxsim.scenario.rules import Loc

_BOUNDS = {
    "greater_than": ("must be above", "gt"),
    "greater_than_equal": ("must be at least", "ge"),
    "less_than": ("must be below", "lt"),
    "less_than_equal": ("must be at most", "le"),
}


@dataclass(frozen=True, slots=True)
class _Located:
    path: Loc  # keys the user wrote (plus the missing key, for "missing")
    about_key: bool  # the key itself is wrong, not its value
    via_union: bool  # pydantic tried several types here (datetime | date)


def explain(error: ValidationError, data: object, locator: Locator) -> list[Problem]:
    """One problem per thing to fix; the failures of every union member count as one."""
    problems: list[Problem] = []
    union_failures: dict[tuple[Loc, bool], list[ErrorDetails]] = {}
    errors = [(details, _locate(details, data)) for details in error.errors(include_url=False)]
    # A key that is not allowed is the problem; what its value holds does not matter.
    unknown_keys = {located.path for _, located in errors if located.about_key}
    for details, located in errors:
        if not located.about_key and any(located.path[: len(key)] == key for key in unknown_keys):
            continue
        if located.via_union:
            union_failures.setdefault((located.path, located.about_key), []).append(details)
        else:
            problems += _explain_one(details, located, data, locator)
    for (path, _), failures in union_failures.items():
        problems.append(_explain_union(path, failures, data, locator))
    return problems


def _locate(details: ErrorDetails, data: object) -> _Located:
    path: list[str | int] = []
    value, about_key, via_union = data, False, False
    last = len(details["loc"]) - 1
    for index, part in enumerate(details["loc"]):
        if part == "[key]":
            about_key = True
        elif _has(value, part):
            path.append(part)
            value = value[part]  # type: ignore[index] # _has checked the container
            via_union = False
        elif index == last and details["type"] == "missing":
            path.append(part)
            via_union = False
        else:  # not a key the user wrote: the name of a union member pydantic tried
            via_union = True
    return _Located(tuple(path), about_key, via_union)


def _has(container: object, part: str | int) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _shown_value_at(data: object, loc: Loc) -> str | None:
    """The value written at ``loc`` as messages show it; None if nothing is written there."""
    value = data
    for part in loc:
        if not _has(value, part):
            return None
        value = value[part]  # type: ignore[index] # _has checked the container
    return show(value)


def _allowed(loc: Loc, data: object) -> str | None:
    expected = expected_at(loc, data)
    return describe(expected) if isinstance(expected, Expected) else None


def _explain_one(
    details: ErrorDetails, located: _Located, data: object, locator: Locator
) -> list[Problem]:
    kind, path, value = details["type"], located.path, details["input"]
    context: dict[str, Any] = dict(details.get("ctx") or {})
    if kind == RULE_ERROR_TYPE:
        return [
            locator.problem(
                (*path, *violation.loc),
                violation.message,
                got=_shown_value_at(data, (*path, *violation.loc)),
                allowed=violation.allowed,
                reads=[(*path, *read) for read in violation.reads],
            )
            for violation in violations_in(context)
        ]
    if kind == "missing":  # shown at the mapping that lacks the key
        allowed = _allowed(path, data)
        return [locator.problem(path, "required key is missing", allowed=allowed, place=path[:-1])]
    if kind == "extra_forbidden":
        unknown = expected_at(path, data)
        valid = unknown.valid if isinstance(unknown, UnknownKey) else ()
        message = f"unknown key {path[-1]!r}{did_you_mean(str(path[-1]), valid)}"
        return [locator.problem(path, message, allowed=", ".join(valid) or None, key=True)]
    if kind in {"enum", "literal_error"}:
        return [_unknown_choice(path, value, data, locator, about_key=located.about_key)]
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        return [_distribution_type(path, context.get("tag"), data, locator)]
    return [_explain_value(details, path, data, locator)]


def _explain_value(details: ErrorDetails, path: Loc, data: object, locator: Locator) -> Problem:
    kind, value = details["type"], details["input"]
    context: dict[str, Any] = dict(details.get("ctx") or {})
    allowed = _allowed(path, data)
    if kind in _BOUNDS:
        words, bound = _BOUNDS[kind]
        message = f"{words} {number(context[bound])}"
    elif kind in {"too_short", "too_long"}:
        return _wrong_length(path, context, data, locator)
    elif kind == "string_too_short":
        message = "must not be empty"
    elif kind == "string_pattern_mismatch":
        message = "is not in the expected form"
    elif kind in {"value_error", "assertion_error"}:
        message, allowed = str(context.get("error", details["msg"])), None
    elif kind == "invalid_key":
        message, allowed = "keys must be text", None
    elif kind.endswith(("_type", "_parsing")) or kind in {
        "int_from_float",
        "model_attributes_type",
    }:
        return locator.problem(path, f"must be {allowed}", got=kind_of(value))
    else:
        message = details["msg"][:1].lower() + details["msg"][1:]
    return locator.problem(path, message, got=show(value), allowed=allowed)


def _wrong_length(path: Loc, context: dict[str, Any], data: object, locator: Locator) -> Problem:
    expected = expected_at(path, data)
    constraints = expected.constraints if isinstance(expected, Expected) else ()
    low = next((c.min_length for c in constraints if isinstance(c, annotated_types.MinLen)), None)
    high = next((c.max_length for c in constraints if isinstance(c, annotated_types.MaxLen)), None)
    if low is not None and low == high:
        words, bound = "exactly", low
    elif "min_length" in context:
        words, bound = "at least", context["min_length"]
    else:
        words, bound = "at most", context["max_length"]
    one, many = (
        ("entry", "entries") if context.get("field_type") == "Dictionary" else ("item", "items")
    )
    count = int(context.get("actual_length") or 0)
    message = f"must have {words} {bound} {one if bound == 1 else many}"
    got = f"{count} {one if count == 1 else many}"
    return locator.problem(path, message, got=got, allowed=_allowed(path, data))


def _explain_union(
    path: Loc, failures: list[ErrorDetails], data: object, locator: Locator
) -> Problem:
    reasons = {str((failure.get("ctx") or {}).get("error", "")) for failure in failures}
    reason = reasons.pop() if len(reasons) == 1 else ""
    got, allowed = kind_of(failures[0]["input"]), _allowed(path, data)
    if reason:  # every member failed for the same reason, e.g. "day value is outside ..."
        return locator.problem(path, reason, got=got, allowed=allowed)
    return locator.problem(path, f"must be {allowed}", got=got)


def _unknown_choice(
    path: Loc, value: object, data: object, locator: Locator, *, about_key: bool
) -> Problem:
    # A wrong key of a mapping keyed by an enum (a funnel state) or a wrong value.
    expected = _key_type(path[:-1], data) if about_key else expected_at(path, data)
    choices = closed_set(expected) if isinstance(expected, Expected) else ()
    noun = "key" if about_key else "value"
    message = f"unknown {noun} {value!r}{did_you_mean(str(value), choices)}"
    return locator.problem(path, message, allowed=", ".join(choices) or None, key=about_key)


def _key_type(mapping: Loc, data: object) -> Expected | None:
    """The type of the keys of the mapping at ``mapping``."""
    expected = expected_at(mapping, data)
    if not isinstance(expected, Expected):
        return None
    args = get_args(expected.annotation)
    return Expected(args[0]) if len(args) == 2 else None  # noqa: PLR2004 - dict[key, value]


def _distribution_type(path: Loc, tag: object, data: object, locator: Locator) -> Problem:
    expected = expected_at(path, data)
    tags = _tags(expected) if isinstance(expected, Expected) else ()
    allowed = ", ".join(tags) or None
    if tag is None:
        return locator.problem(path, "missing key 'type'", allowed=allowed)
    message = f"unknown type {tag!r}{did_you_mean(str(tag), tags)}"
    return locator.problem((*path, "type"), message, allowed=allowed)


def _tags(expected: Expected) -> tuple[str, ...]:
    members = get_args(expected.annotation)
    type_fields = [getattr(member, "model_fields", {}).get("type") for member in members]
    return tuple(str(field.default) for field in type_fields if field is not None)
