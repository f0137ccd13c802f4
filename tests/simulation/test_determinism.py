"""Same scenario and seed give the same data; shorter runs are prefixes of longer ones."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fauxsim.clock import to_micros
from fauxsim.events import ID, PROPERTIES, RECEIVED_AT
from fauxsim.projection import Projector
from fauxsim.runner import CHECKPOINT
from fauxsim.simulation.engine import Simulation
from fauxsim.simulation.shards import Shard
from tests.simulation.helpers import collect, fold, small_scenario

if TYPE_CHECKING:
    from pathlib import Path


def test_same_seed_gives_identical_output():
    """Two runs of one scenario yield the same events and row versions, in the same order."""
    first = collect(small_scenario())
    second = collect(small_scenario())
    assert first.events == second.events
    assert first.versions == second.versions
    assert len(first.events) > 1000


def test_another_seed_gives_other_data():
    """The seed matters: another seed gives another event stream."""
    assert collect(small_scenario()).events != collect(small_scenario(seed=8)).events


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_rows=st.integers(min_value=1, max_value=20_000))
def test_batch_size_does_not_change_output(batch_rows):
    """However rows are grouped into batches, the concatenated output is the same."""
    reference = collect(small_scenario(end="2024-03-02"))
    batched = collect(small_scenario(end="2024-03-02"), batch_rows=batch_rows)
    assert batched.events == reference.events
    assert batched.versions == reference.versions


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**40),
    cut_minutes=st.integers(min_value=1, max_value=3 * 24 * 60 - 1),
    sharded=st.booleans(),
)
def test_runs_are_prefix_stable(seed, cut_minutes, sharded):
    """Events of a run cut at T1 are exactly the events of the full run before T1; so are
    a shard's (whose arrivals are drawn a day at a time: a cut within the day keeps them)."""
    scenario = small_scenario(seed=seed, shards=3 if sharded else 1)
    shard = Shard(1, 3) if sharded else None
    cut = dt.datetime(2024, 3, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=cut_minutes)
    short = collect(scenario, until=cut, shard=shard)
    full = collect(scenario, shard=shard)
    limit = to_micros(cut)
    assert short.events == [event for event in full.events if event[RECEIVED_AT] < limit]
    # The short run's tables are the full run's tables as they stood at the cut.
    as_of_cut = fold([event for event in full.events if event[RECEIVED_AT] < limit])
    for table in as_of_cut.versions:
        assert short.final(table) == as_of_cut.final(table), table


def test_ids_are_deterministic_and_unique():
    """Event ids count up from 1 without gaps or repeats."""
    events = collect(small_scenario()).events
    assert [event[ID] for event in events] == list(range(1, len(events) + 1))


def test_tables_equal_the_fold_of_the_events():
    """Every table is a projection of the events: folding the serialized events alone,
    by a fresh projector, gives back every table exactly."""
    output = collect(small_scenario())
    # Round-trip through JSON, as a learner reading the events table would see them.
    replayed = [
        (*event[:12], orjson.loads(orjson.dumps(event[PROPERTIES]))) for event in output.events
    ]
    folded = fold(replayed)
    for table in output.versions:
        assert folded.final(table) == output.final(table), table
    assert len(output.final("orders")) > 10


def test_forgetting_finished_rows_changes_no_output():
    """Over weeks, the projector forgets churned customers and carts and finished orders
    (memory stays flat), yet every row version is the one a projector that forgets
    nothing folds from the events."""
    scenario = small_scenario(
        start="2024-03-01", end="2024-04-05", traffic={"sessions_per_day": 150},
        audience={"existing_customers": 30, "return_gap_days": {"type": "constant", "value": 1}},
    )  # fmt: skip
    simulation, forgetting, keeping = Simulation(scenario), Projector(), Projector()
    boundary = simulation.start
    forgotten = {"customers": 0, "carts": 0, "orders": 0}
    while boundary < simulation.end:
        boundary = min(simulation.end, boundary - boundary % CHECKPOINT + CHECKPOINT)
        events = simulation.advance(boundary)
        forgetting.apply(events)
        keeping.apply(events)
        finished = simulation.finished()
        forgetting.forget(*finished)
        for name, ids in finished._asdict().items():
            forgotten[name] += len(ids)
        assert forgetting.checkpoint() == keeping.checkpoint()
    assert all(count > 0 for count in forgotten.values()), forgotten
    for name in ("customers", "carts", "orders"):
        assert len(forgetting.tables[name].rows) < len(keeping.tables[name].rows), name


def _jsonl_digests(out: Path, hash_seed: str) -> dict[str, str]:
    """sha256 of each file of a jsonl run made by a fresh interpreter with ``hash_seed``."""
    scenario = out.parent / "shop.yaml"
    scenario.write_text(
        "name: shop\nseed: 11\nstart: 2024-03-01\nend: 2024-03-03\n"
        "traffic: {sessions_per_day: 300}\naudience: {existing_customers: 30}\n"
        "catalog: {generate: {count: 20}}\n"
        "quirks: {duplicate_events: 0.02, late_arrivals: {probability: 0.05}}\n"
    )
    command = [sys.executable, "-m", "cli.app", "run", str(scenario), "--out", str(out),
               "--format", "jsonl"]  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        command,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in out.iterdir()}


def test_two_processes_with_other_hash_seeds_write_the_same_bytes(tmp_path):
    """String hashing is salted per process: nothing in a run may depend on it. Two
    interpreters, PYTHONHASHSEED 0 and 1, write byte-identical jsonl files."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _jsonl_digests(tmp_path / "a" / "out", "0")
    second = _jsonl_digests(tmp_path / "b" / "out", "1")
    assert "events.jsonl" in first
    assert "orders.jsonl" in first
    assert first == second
