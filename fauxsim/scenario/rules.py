"""Validation errors that know exactly which keys are wrong.

A pydantic model validator can only fail at the model it belongs to, so a cross-field
check (end before start, a segment naming an unknown device) would point at the whole
scenario. Validators raise :func:`rule_error` instead: one pydantic error that carries
every :class:`Violation` with its own key path, which ``problems.py`` turns back into
one located problem each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

Loc = tuple[str | int, ...]

RULE_ERROR_TYPE = "scenario_rule"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule. ``loc`` is relative to the model or field whose validator found it.

    ``reads`` are the other values (relative to the same model) that the one at ``loc`` was
    compared with: when an override changed one of them, the message names that override,
    since the value at ``loc`` may be exactly what the file says.
    """

    loc: Loc
    message: str
    allowed: str | None = None
    reads: tuple[Loc, ...] = ()


def rule_error(violations: Sequence[Violation]) -> PydanticCustomError:
    """A single pydantic error carrying every violation (its text joins their messages)."""
    summary = "; ".join(violation.message for violation in violations)
    return PydanticCustomError(
        RULE_ERROR_TYPE, "{summary}", {"summary": summary, "violations": tuple(violations)}
    )


def violations_in(context: Mapping[str, Any] | None) -> tuple[Violation, ...]:
    """The violations a :func:`rule_error` carried, read back from a pydantic error's ctx."""
    found = (context or {}).get("violations", ())
    return tuple(item for item in found if isinstance(item, Violation))
