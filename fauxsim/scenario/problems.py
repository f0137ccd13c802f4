"""Every problem in a scenario, each with its place, key path, value and what is allowed.

The loader collects problems from YAML syntax, duplicate keys, overrides and pydantic
validation, and raises them all at once as one :class:`InvalidScenarioError`, one line
each: ``shop.yaml:12:5: traffic.sessions_per_day: must be above 0 (got -5; allowed: ...)``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from fauxsim.errors import ScenarioError
from fauxsim.scenario.paths import number
from fauxsim.scenario.yaml_source import Position

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from fauxsim.scenario.rules import Loc
    from fauxsim.scenario.yaml_source import ParsedYaml

_SHOWN_TEXT = 60  # longer values are cut in messages


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to fix. ``order`` sorts file problems by position, then overrides."""

    where: str
    path: str
    message: str
    got: str | None = None
    allowed: str | None = None
    order: tuple[int, int, int] = (0, 0, 0)

    def __str__(self) -> str:
        details = [part for part in (self._got(), self._allowed()) if part]
        tail = f" ({'; '.join(details)})" if details else ""
        path = f"{self.path}: " if self.path else ""
        return f"{self.where}: {path}{self.message}{tail}"

    def _got(self) -> str | None:
        return f"got {self.got}" if self.got is not None else None

    def _allowed(self) -> str | None:
        return f"allowed: {self.allowed}" if self.allowed else None


class InvalidScenarioError(ScenarioError):
    """A scenario with one or more problems; the message lists every one, one per line."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        unique = dict.fromkeys(problems)  # the same problem found twice is shown once
        self.problems = tuple(sorted(unique, key=lambda problem: problem.order))
        count = len(self.problems)
        header = f"scenario {source} has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([header, *(str(problem) for problem in self.problems)]))


class Locator:
    """Turns a key path into the place a person should look: file:line:column or --set."""

    def __init__(self, source: str, parsed: ParsedYaml, overrides: Mapping[Loc, str]) -> None:
        self.source = source
        self._spots = parsed.spots
        self._overrides = overrides

    def where(
        self, loc: Loc, *, key: bool = False, reads: Sequence[Loc] = ()
    ) -> tuple[str, tuple[int, int, int]]:
        """The place of ``loc``, or of its nearest written ancestor if it is not written.

        ``reads`` are the values a rule compared the one at ``loc`` with (see ``Violation``).
        """
        for number_, (path, text) in enumerate(self._overrides.items()):
            set_here = loc[: len(path)] == path
            created_here = bool(loc) and path[: len(loc)] == loc and loc not in self._spots
            if set_here or created_here:  # the override set this value or made its mapping
                return f"--set {text}" + self._set_in(reads, besides=text), (1, number_, 0)
        for depth in range(len(loc), 0, -1):
            spot = self._spots.get(loc[:depth])
            if spot is not None:
                written_in_full = depth == len(loc)
                position = spot.key if (key or not written_in_full) and spot.key else spot.best
                where, order = self.at(position)
                return where + self._set_within(loc) + self._set_in(reads), order
        where, order = self.at(Position(1, 1))
        return where + self._set_within(loc) + self._set_in(reads), order

    def _set_within(self, loc: Loc) -> str:
        """`` (with --set ...)`` when overrides changed values inside the one at ``loc``:
        the file's value is fine, the two together are not."""
        if not loc:
            return ""
        inside = [text for path, text in self._overrides.items() if path[: len(loc)] == loc]
        return "".join(f" (with --set {text})" for text in inside)

    def _set_in(self, reads: Sequence[Loc], *, besides: str | None = None) -> str:
        """`` (with --set ...)`` for each override that set one of the values at ``reads``, a
        value inside one, or a mapping holding one: the other side of a broken comparison."""
        named = [
            text
            for path, text in self._overrides.items()
            if text != besides
            and any(path[: len(read)] == read or read[: len(path)] == path for read in reads)
        ]
        return "".join(f" (with --set {text})" for text in named)

    def at(self, position: Position) -> tuple[str, tuple[int, int, int]]:
        return f"{self.source}:{position.line}:{position.column}", (
            0,
            position.line,
            position.column,
        )

    def problem(
        self,
        loc: Loc,
        message: str,
        *,
        got: str | None = None,
        allowed: str | None = None,
        key: bool = False,
        place: Loc | None = None,
        reads: Sequence[Loc] = (),
    ) -> Problem:
        """A problem with ``loc``, shown at ``place`` (default: ``loc`` itself)."""
        at = loc if place is None else place
        where, order = self.where(at, key=key or place is not None, reads=reads)
        return Problem(where, dotted(loc), message, got, allowed, order)


def dotted(loc: Loc) -> str:
    """``("traffic", "calendar", 0, "days")`` as ``traffic.calendar.0.days``."""
    return ".".join(str(part) for part in loc)


def show(value: object) -> str | None:
    """A value as a message shows it; None for mappings, which are too big to be useful."""
    if isinstance(value, dict):
        return None
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    text = _scalar(value)
    return text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 1] + "…"


def _scalar(value: object) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else json.dumps(value, default=str)


def kind_of(value: object) -> str | None:
    """Like :func:`show`, but names a mapping too (for "must be a number (got a mapping)")."""
    return "a mapping" if isinstance(value, dict) else show(value)


def syntax_problem(source: str, error: yaml.YAMLError, text: str) -> Problem:
    """A YAML syntax error at the place PyYAML found it."""
    problem_mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    context = getattr(error, "context", None)
    context_mark = getattr(error, "context_mark", None)
    if problem_mark is not None:
        position = Position.of(problem_mark)
        message = f"invalid YAML: {problem}"
        if context:
            near = f" at line {context_mark.line + 1}" if context_mark is not None else ""
            message += f" ({context}{near})"
    elif isinstance(error, yaml.reader.ReaderError):  # binary junk, control characters
        offset = error.position
        position = Position(text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))
        message = f"invalid YAML: unacceptable character #x{error.character:04x} ({error.reason})"
    else:
        position, message = Position(1, 1), f"invalid YAML: {error}"
    where = f"{source}:{position.line}:{position.column}"
    return Problem(where, "", message, order=(0, position.line, position.column))
