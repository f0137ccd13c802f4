"""The runner simulates a block of hours at a time and cuts its events at each hourly
checkpoint (``runner._checkpoints``): the batches are those of a run that stops the
simulation at every checkpoint, on random scenarios with every optional feature on."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fauxsim import runner
from fauxsim.clock import HOUR, SECOND, to_micros
from fauxsim.runner import CHECKPOINT
from fauxsim.simulation.engine import Simulation
from fauxsim.simulation.shards import Shard
from fauxsim.tables import ALL_TABLES, EVENTS
from tests.simulation.helpers import collect, small_scenario
from tests.simulation.test_twins_on_random_scenarios import EXAMPLES, scenarios

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fauxsim.events import Event


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


def _batches(scenario: Any, shard: Shard, **options: Any) -> list[tuple[int, dict[str, Any]]]:
    return [
        (batch.watermark, {name: list(rows) for name, rows in batch.rows.items()})
        for batch in runner.generate(scenario, shard=shard, **options)
    ]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenarios(),
    st.integers(min_value=0, max_value=2),
    st.sampled_from([300, 50_000]),
    st.integers(min_value=1, max_value=2 * 24 * 3600 - 1),  # the run's end, seconds in
    st.one_of(st.none(), st.integers(min_value=0, max_value=36 * 3600)),  # a resume, seconds in
)
def test_a_block_at_a_time_gives_the_batches_of_a_run_stopped_every_hour(
    scenario: Any, index: int, batch_rows: int, ends_after: int, resumes_after: int | None
) -> None:
    """Whatever the run's end (mid-hour, mid-block) and where it resumes."""
    start = scenario.start_utc
    options: dict[str, Any] = {
        "batch_rows": batch_rows,
        "until": start + dt.timedelta(seconds=ends_after),
        "resume_after": None
        if resumes_after is None
        else to_micros(start) + resumes_after * SECOND,
    }
    shard = Shard(index % scenario.shards, scenario.shards)
    in_blocks = _batches(scenario, shard, **options)
    with _stopping_every_hour():
        stopped = _batches(scenario, shard, **options)
    assert [watermark for watermark, _ in in_blocks] == [watermark for watermark, _ in stopped]
    assert in_blocks == stopped


def test_a_run_folds_a_small_shards_block_at_once_and_a_big_shards_hours() -> None:
    """What bounds a stretch: a whole shop stops every hour (its block), a small shard runs
    its block of days, a big shard as many hours as hold ~2,000 visits."""

    def stretch_hours(sessions_per_day: int, shards: int) -> int:
        scenario = small_scenario(shards=shards, traffic={"sessions_per_day": sessions_per_day})
        traffic = Simulation(scenario, shard=Shard(0, shards)).traffic
        return runner._stretch(traffic) // HOUR

    assert stretch_hours(400_000, 1) == 1
    assert stretch_hours(3_600, 64) == 7 * 24  # black_friday's shards: weeks
    assert stretch_hours(3_600, 8) == 24
    assert stretch_hours(96_000, 2) == 1  # 2,000 visits an hour
    assert stretch_hours(24_000, 2) == 4


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

    assert _batches(scenario, Shard(0, 2))
    with mock.patch.object(runner, "_checkpoints", too_early), pytest.raises(KeyError):
        _batches(scenario, Shard(0, 2))  # a forgotten row changed


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenarios(),
    st.integers(min_value=0, max_value=2),
    st.integers(min_value=1, max_value=36 * 3600 - 1),  # the cut, seconds in
)
def test_a_run_cut_mid_hour_and_resumed_writes_no_row_version_twice(
    scenario: Any, index: int, cut_after: int
) -> None:
    """Cut anywhere (``--until`` within an hour) and extended: together the two runs hold
    the events of one run, the same latest rows, and no row version twice. (The resumed
    run's first hour holds every row changed in it; those last changed before the cut,
    the first run wrote: ``runner._changed_since``.)"""
    shard = Shard(index % scenario.shards, scenario.shards)
    start = scenario.start_utc
    cut = to_micros(start) + cut_after * SECOND
    until = start + dt.timedelta(hours=40)
    first = collect(scenario, shard=shard, until=start + dt.timedelta(seconds=cut_after))
    second = collect(scenario, shard=shard, until=until, resume_after=cut)
    whole = collect(scenario, shard=shard, until=until)
    assert first.events + second.events == whole.events
    for spec in ALL_TABLES:
        if spec.name == EVENTS.name:
            continue
        written = first.versions[spec.name] + second.versions[spec.name]
        assert len(set(map(repr, written))) == len(written), spec.name  # (JSON values: dicts)
        both = {**first.final(spec.name), **second.final(spec.name)}
        assert both == whole.final(spec.name), spec.name
