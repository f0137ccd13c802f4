"""The runner simulates a block of hours at a time and cuts its events at each hourly
checkpoint (``runner._checkpoints``): the batches are those of a run that stops the
simulation at every checkpoint, on random scenarios with every optional feature on."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fauxsim import runner
from fauxsim.runner import CHECKPOINT
from fauxsim.simulation.shards import Shard
from tests.simulation.helpers import small_scenario
from tests.simulation.test_twins_on_random_scenarios import EXAMPLES, scenarios

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fauxsim.events import Event
    from fauxsim.simulation.engine import Simulation


def _stopped_at_every_checkpoint(
    simulation: Simulation, end: int, live: Any
) -> Iterator[tuple[int, list[Event], bool]]:
    """How the runner ran before blocks: SimPy stopped at each checkpoint."""
    assert live is None
    boundary: int = simulation.start
    while boundary < end:
        boundary = min(end, boundary - boundary % CHECKPOINT + CHECKPOINT)
        yield boundary, simulation.advance(boundary), True


@contextmanager
def _stopping_every_hour() -> Iterator[None]:
    with mock.patch.object(runner, "_checkpoints", _stopped_at_every_checkpoint):
        yield


def _batches(scenario: Any, shard: Shard, batch_rows: int) -> list[tuple[int, dict[str, Any]]]:
    return [
        (batch.watermark, {name: list(rows) for name, rows in batch.rows.items()})
        for batch in runner.generate(scenario, shard=shard, batch_rows=batch_rows)
    ]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(min_value=0, max_value=2), st.sampled_from([300, 50_000]))
def test_a_block_at_a_time_gives_the_batches_of_a_run_stopped_every_hour(
    scenario: Any, index: int, batch_rows: int
) -> None:
    shard = Shard(index % scenario.shards, scenario.shards)
    in_blocks = _batches(scenario, shard, batch_rows)
    with _stopping_every_hour():
        stopped = _batches(scenario, shard, batch_rows)
    assert [watermark for watermark, _ in in_blocks] == [watermark for watermark, _ in stopped]
    assert in_blocks == stopped
    assert any(rows.get("events") for _, rows in in_blocks)


def test_asking_finished_at_every_hour_of_a_block_forgets_too_early() -> None:
    """Why ``finished`` is asked only at a block's end: asked at each of its hours, it names
    rows the block's later hours still change (here an order delivered later that day)."""
    scenario = small_scenario(
        shards=2,
        end="2024-03-08",
        traffic={"sessions_per_day": 600},
        audience={"existing_customers": 40, "return_gap_days": {"type": "constant", "value": 1}},
        orders={"lifecycle": {"deliver_delay_days": {"type": "constant", "value": 0.2}}},
    )
    original = runner._checkpoints

    def too_early(simulation: Simulation, end: int, live: Any) -> Iterator[Any]:
        for boundary, events, _ in original(simulation, end, live):
            yield boundary, events, True

    assert _batches(scenario, Shard(0, 2), 50_000)
    with mock.patch.object(runner, "_checkpoints", too_early), pytest.raises(KeyError):
        _batches(scenario, Shard(0, 2), 50_000)  # a forgotten row changed
