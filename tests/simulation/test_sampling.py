"""Compiled samplers draw what the scenario's distributions describe."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from fauxsim.randomness import (
    Purpose,
    UniformRun,
    entity_draws,
    prefetched,
    stream,
    topped_up,
    uniform_block,
)
from fauxsim.scenario.distributions import Constant, Exponential, LogNormal, Uniform
from fauxsim.simulation.sampling import sampler, whole_sampler

N = 40_000


def draws(distribution, seed: int = 1) -> list[float]:
    draw = stream(seed, Purpose.SESSION, 0).random
    sample = sampler(distribution)
    return [sample(draw) for _ in range(N)]


def test_lognormal_has_the_configured_median_and_spread():
    """Half the draws fall below the median; log-values have the configured sigma."""
    values = draws(LogNormal(median=30, sigma=0.8))
    assert statistics.median(values) == pytest.approx(30, rel=0.03)
    assert statistics.stdev(math.log(v) for v in values) == pytest.approx(0.8, rel=0.03)


def test_lognormal_never_exceeds_its_cap():
    """Values above ``max`` are clipped to it."""
    values = draws(LogNormal(median=30, sigma=1.5, max=60))
    assert max(values) == 60
    assert sum(v == 60 for v in values) / N == pytest.approx(0.32, abs=0.02)  # P(z > 0.46)


def test_exponential_uniform_and_constant_have_their_means():
    """The other distributions keep their means and bounds."""
    assert statistics.fmean(draws(Exponential(mean_value=4))) == pytest.approx(4, rel=0.03)
    uniform = draws(Uniform(low=2, high=5))
    assert 2 <= min(uniform) < max(uniform) < 5
    assert statistics.fmean(uniform) == pytest.approx(3.5, rel=0.01)
    assert set(draws(Constant(value=7))) == {7}


def test_whole_samplers_truncate_to_units_and_respect_the_minimum():
    """Whole units, never below the minimum (time always moves on)."""
    sample = whole_sampler(LogNormal(median=0.5, sigma=2), 1_000_000, 1)
    draw = stream(3, Purpose.SESSION, 0).random
    values = [sample(draw) for _ in range(N)]
    assert all(isinstance(v, int) and v >= 1 for v in values)
    tiny = whole_sampler(Constant(value=0), 1_000_000, 1)
    assert tiny(draw) == 1


def test_topped_up_draws_serve_the_block_then_the_entity_stream():
    """A session's draws are its block slice, then its own stream: same inputs, same draws."""
    block = uniform_block(5, Purpose.SESSION_DRAWS, 9, 8)
    then = entity_draws(5, Purpose.SESSION)
    draw = topped_up(block, 2, 6, then, 77)
    first = [draw() for _ in range(4)]
    assert first == list(block)[2:6]
    assert [draw() for _ in range(3)] == _stream_values(5, 77)
    again = topped_up(uniform_block(5, Purpose.SESSION_DRAWS, 9, 8), 2, 6, then, 77)
    assert [again() for _ in range(7)] == [*first, *_stream_values(5, 77)]


def test_the_entity_stream_is_made_only_when_the_block_runs_out():
    """Seeding a stream costs as much as a visit: a visit that keeps to its slice never does."""
    made: list[int] = []

    def then(entity: int) -> Any:
        made.append(entity)
        return entity_draws(5, Purpose.SESSION)(entity)

    draw = topped_up(uniform_block(5, Purpose.SESSION_DRAWS, 9, 4), 0, 4, then, 77)
    for _ in range(4):
        draw()
    assert made == []
    draw()
    draw()
    assert made == [77]


def test_uniform_blocks_depend_on_seed_and_entity_only():
    """Blocks are reproducible and differ between entities."""
    assert uniform_block(1, Purpose.SESSION_DRAWS, 3, 8) == uniform_block(
        1, Purpose.SESSION_DRAWS, 3, 8
    )
    assert uniform_block(1, Purpose.SESSION_DRAWS, 3, 8) != uniform_block(
        1, Purpose.SESSION_DRAWS, 4, 8
    )
    assert all(0 <= value < 1 for value in uniform_block(1, Purpose.SESSION_DRAWS, 3, 1000))
    block = uniform_block(1, Purpose.SESSION_DRAWS, 3, 4)
    assert isinstance(block, memoryview)  # compact doubles, sliced without a copy
    assert block.format == "d"
    assert block[1:3].obj is block.obj


def _stream_values(seed: int, entity: int) -> list[float]:
    draw = stream(seed, Purpose.SESSION, entity).random
    return [draw() for _ in range(3)]


def test_prefetched_draws_are_the_stream_draws():
    """Drawing ahead changes nothing: the same numbers as the stream, past the prefetch too."""
    draw = prefetched(11, Purpose.ORDER, 5, 4)
    reference = stream(11, Purpose.ORDER, 5).random
    assert [draw() for _ in range(10)] == [reference() for _ in range(10)]


def test_a_run_of_uniforms_reads_any_part_as_the_whole_block_holds_it():
    """UniformRun.read(start, stop) is uniform_block(...)[start:stop], read in order (the
    generator moved on past what is skipped) or not (started again)."""
    whole = list(uniform_block(5, Purpose.SESSION_DRAWS, 9, 1000))
    run = UniformRun(5, Purpose.SESSION_DRAWS, 9)
    for start, stop in ((0, 64), (64, 128), (300, 364), (364, 400), (100, 164), (999, 1000)):
        assert list(run.read(start, stop)) == whole[start:stop]
