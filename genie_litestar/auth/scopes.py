"""Scopes: ``read:all`` or ``read:<resource>`` for each resource a token may read."""

from __future__ import annotations

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
                valid = ", ".join(valid_scopes())
                msg = f"unknown scope {scope!r} in --scopes. Valid values are: {valid}"
                raise GenieError(msg)
            if scope not in scopes:
                scopes.append(scope)
    if not scopes:
        msg = f"--scopes is empty. Give at least one of: {', '.join(valid_scopes())}"
        raise GenieError(msg)
    return scopes


def allows(scopes: Iterable[str], needed: str) -> bool:
    granted = set(scopes)
    return READ_ALL in granted or needed in granted
