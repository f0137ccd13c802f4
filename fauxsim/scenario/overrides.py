"""Command-line overrides: ``--set traffic.sessions_per_day=20000``.

The value is read as YAML, so numbers, booleans, dates and lists work as in the file.
The path is checked against the model before anything is changed, so a typo is an
error with a suggestion rather than a key pydantic would reject without context. A
mapping the file leaves out is first filled with its default, so that
``--set behaviour.funnel.cart.checkout=0.6`` changes one probability of the default
funnel instead of replacing the whole funnel by a single state.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from fauxsim.scenario.paths import Expected, UnknownKey, expected_at, field_default
from fauxsim.scenario.problems import Problem, dotted
from fauxsim.scenario.yaml_source import parse_value

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fauxsim.scenario.rules import Loc

_FORM = "write an override as key.path=value, e.g. traffic.sessions_per_day=20000"


@dataclass(frozen=True, slots=True)
class Applied:
    """The document after overrides, and which paths each one set (for error positions)."""

    data: dict[str | int, object]
    sources: dict[Loc, str]
    problems: list[Problem]


def apply_overrides(data: dict[str | int, object], overrides: Sequence[str]) -> Applied:
    """A copy of ``data`` with every valid override applied; the invalid ones become problems."""
    document = copy.deepcopy(data)
    sources: dict[Loc, str] = {}
    problems: list[Problem] = []
    for index, text in enumerate(overrides):
        order = (1, index, 0)
        key_path, equals, value_text = text.partition("=")
        parts = key_path.strip().split(".")
        if not equals or not all(parts):
            problems.append(Problem(f"--set {text}", "", _FORM, order=order))
            continue
        loc: Loc = tuple(int(part) if part.isdigit() else part for part in parts)
        try:
            value = parse_value(value_text)
        except yaml.YAMLError as error:
            message = f"the value is not valid YAML: {getattr(error, 'problem', error)}"
            problems.append(Problem(f"--set {text}", dotted(loc), message, order=order))
            continue
        mistake = _check_path(loc, document) or _assign(document, loc, value)
        if mistake:
            path, message, allowed = mistake
            problems.append(Problem(f"--set {text}", path, message, allowed=allowed, order=order))
        else:
            sources[loc] = text
    return Applied(document, sources, problems)


# (key path, message, allowed) of an override that cannot be applied
_Mistake = tuple[str, str, str | None]


def _check_path(loc: Loc, document: dict[str | int, object]) -> _Mistake | None:
    """What is wrong if the model has no such key path."""
    found = expected_at(loc, document)
    if isinstance(found, Expected):
        return None
    return _unknown(loc, found)


def _unknown(loc: Loc, found: UnknownKey) -> _Mistake:
    key, path = loc[found.depth], dotted(loc[: found.depth + 1])
    if not found.valid:
        parent = dotted(loc[: found.depth])
        return path, f"{parent} has no key {key!r}: it is a single value", None
    return path, f"unknown key {key!r}{found.suggestion(key)}", ", ".join(found.valid)


def _assign(document: dict[str | int, object], loc: Loc, value: object) -> _Mistake | None:
    """Set ``loc`` to ``value``, creating (defaulted) mappings on the way; a problem if not."""
    container: object = document
    for depth, key in enumerate(loc):
        here = loc[: depth + 1]
        last = depth == len(loc) - 1
        if isinstance(container, list):
            if not isinstance(key, int) or not 0 <= key < len(container):
                size = f"{len(container)} item{'s' if len(container) != 1 else ''}"
                message = f"{dotted(loc[:depth])} has {size}, so there is no item {key}"
                return dotted(here), message, None
            if last:
                container[key] = value
            container = container[key]
        elif isinstance(container, dict):
            if last:
                container[key] = value
            elif key not in container:
                has_default, default = field_default(here, document)
                container[key] = default if has_default and default is not None else {}
            container = container[key]
        else:
            parent = dotted(loc[:depth])
            message = f"{parent} is not a mapping in the file, so it has no key {key!r}"
            return dotted(here), message, None
    return None
