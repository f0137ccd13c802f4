"""Engine speed: black_friday end to end to Parquet, against plain SimPy, in one process.

    .venv/bin/python benchmarks/engine.py                       # the bundled scenario as is
    .venv/bin/python benchmarks/engine.py --sessions-per-day 17000   # about 5 million events

Prints events/s end to end (simulate, project, write Parquet), the peak resident memory
of the process, and the ratio against a baseline measured in the same run: SimPy alone
driving sessions of 8 timeouts each, with no model. The ratio is what to compare
between machines and commits; the absolute figures depend on the machine's load.
Targets (one core): >= 200,000 events/s; peak memory <= 300 MB for 5 million events.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import simpy

from fauxsim.runner import run_into
from fauxsim.scenario.loading import load_scenario
from fauxsim.sinks.base import open_sink

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "black_friday.yaml"
TIMEOUTS_PER_SESSION = 8


def simpy_baseline(sessions: int = 100_000) -> float:
    """Timeouts per second of bare SimPy: one process per session, eight timeouts each."""
    env = simpy.Environment()

    def session(env: simpy.Environment):  # noqa: ANN202 - a SimPy generator
        for _ in range(TIMEOUTS_PER_SESSION):
            yield env.timeout(30)

    def arrivals(env: simpy.Environment):  # noqa: ANN202
        for _ in range(sessions):
            env.process(session(env))
            yield env.timeout(1)

    env.process(arrivals(env))
    began = time.perf_counter()
    env.run()
    return sessions * TIMEOUTS_PER_SESSION / (time.perf_counter() - began)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions-per-day", type=int, default=None)
    parser.add_argument("--format", default="parquet", choices=["parquet", "jsonl", "csv"])
    args = parser.parse_args()

    overrides = [] if args.sessions_per_day is None else [f"traffic.sessions_per_day={args.sessions_per_day}"]
    scenario = load_scenario(SCENARIO, overrides)
    baseline = simpy_baseline()
    memory_before = peak_memory_mb()
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        stats = run_into(open_sink(args.format, Path(folder)), scenario)
        seconds = time.perf_counter() - began
        size = sum(path.stat().st_size for path in Path(folder).iterdir()) / 1e6
    rate = stats.events / seconds
    print(f"scenario            {scenario.name} ({SCENARIO.name}{', ' + overrides[0] if overrides else ''})")
    print(f"events              {stats.events:,} ({sum(stats.rows.values()):,} rows, {size:,.0f} MB {args.format})")
    print(f"time                {seconds:,.1f} s")
    print(f"end to end          {rate:,.0f} events/s   (target >= 200,000)")
    print(f"simpy baseline      {baseline:,.0f} timeouts/s (sessions of {TIMEOUTS_PER_SESSION} timeouts)")
    print(f"ratio               {rate / baseline:.3f} events per baseline timeout")
    print(f"peak memory         {peak_memory_mb():,.0f} MB (before the run: {memory_before:,.0f} MB; target <= 300)")


if __name__ == "__main__":
    main()
