"""Scopes: ``read:all`` or ``read:<resource>`` for each resource a token may read."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from genie_litestar.errors import GenieError
from genie_litestar.resources.catalog import RESOURCES

if TYPE_CHECKING:
    from collections.abc import Iterable

READ_ALL = "read:all"


def valid_scopes() -> list[str]:
    return [READ_ALL, *(resource.scope for resource in RESOURCES.values())]


def parse_scopes(raw: Iterable[str]) -> list[str]:
    """Scopes from user text (comma- or space-separated), checked and de-duplicated."""
    scopes: list[str] = []
    for chunk in raw:
        for scope in chunk.replace(",", " ").split():
            if scope not in valid_scopes():
                raise _unknown_scope(scope)
            if scope not in scopes:
                scopes.append(scope)
    if not scopes:
        msg = f"--scopes is empty. Give at least one of: {', '.join(valid_scopes())}"
        raise GenieError(msg)
    return scopes


def _unknown_scope(scope: str) -> GenieError:
    """Names the scope typed, the closest valid one if any is close, and every valid one."""
    close = difflib.get_close_matches(scope, valid_scopes(), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    valid = ", ".join(valid_scopes())
    return GenieError(f"unknown scope {scope!r} in --scopes{hint} Valid values are: {valid}")


def allows(scopes: Iterable[str], needed: str) -> bool:
    granted = set(scopes)
    return READ_ALL in granted or needed in granted
