"""Shared helpers for engine tests: run a scenario and collect its output."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from fauxsim.projection import Projector
from fauxsim.runner import generate
from fauxsim.scenario.model import Scenario
from fauxsim.tables import ALL_TABLES, EVENTS, TABLES_BY_NAME

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType


@dataclass
class Output:
    """Everything a run yielded: events in order, every row version, and final tables."""

    events: list[tuple[Any, ...]]
    versions: dict[str, list[tuple[Any, ...]]]

    def final(self, table: str) -> dict[int, dict[str, Any]]:
        """The latest version of each row, as dicts keyed by primary key."""
        spec = TABLES_BY_NAME[table]
        rows: dict[int, dict[str, Any]] = {}
        for row in self.versions.get(table, []):
            record = dict(zip(spec.column_names, row, strict=True))
            rows[record[spec.primary_key]] = record
        return rows


def collect(scenario: Scenario, **options: Any) -> Output:
    events: list[tuple[Any, ...]] = []
    versions: dict[str, list[tuple[Any, ...]]] = {spec.name: [] for spec in ALL_TABLES}
    for batch in generate(scenario, **options):
        for name, rows in batch.rows.items():
            (events if name == EVENTS.name else versions[name]).extend(rows)
    return Output(events, versions)


def fold(events: list[tuple[Any, ...]]) -> Output:
    """Tables folded from events alone, by a fresh projector."""
    projector = Projector()
    projector.apply(events)
    return Output(list(events), projector.checkpoint())


def small_scenario(**changes: Any) -> Scenario:
    base: dict[str, Any] = {
        "name": "tiny",
        "seed": 7,
        "start": "2024-03-01",
        "end": "2024-03-04",
        "traffic": {"sessions_per_day": 400},
        "audience": {"existing_customers": 40},
        "catalog": {"generate": {"count": 25}},
    }
    base.update(changes)
    return Scenario.model_validate(base)


def switch_compiled(
    module: ModuleType, compiled: bool, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    """Run a test with ``module``'s compiled part (skipped where it is not built) or its twin."""
    if compiled and not module.COMPILED:
        pytest.skip(f"{what} is not built in this install")
    monkeypatch.setattr(module, "COMPILED", compiled)


@contextmanager
def compiled_as(module: ModuleType, compiled: bool) -> Iterator[None]:
    """``module.COMPILED`` set within, restored after: for tests that run both twins in
    one call (hypothesis forbids the function-scoped ``monkeypatch`` there)."""
    saved = module.COMPILED
    module.COMPILED = compiled
    try:
        yield
    finally:
        module.COMPILED = saved
