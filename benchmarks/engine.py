"""Engine speed: black_friday end to end to Parquet, against plain SimPy, in one process.

    .venv/bin/python benchmarks/engine.py                       # the bundled scenario as is
    .venv/bin/python benchmarks/engine.py --repeat 5            # five runs, the median
    .venv/bin/python benchmarks/engine.py --sessions-per-day 14450   # 5.0M events (memory target)
    .venv/bin/python benchmarks/engine.py --sessions-per-day 17000   # about 5.9 million events
    .venv/bin/python benchmarks/engine.py --python-rows         # without the compiled converter
    .venv/bin/python benchmarks/engine.py --python-visit        # without the compiled visit

Prints events/s end to end (simulate, project, write Parquet) in CPU time of this
process (``time.process_time``: other processes on a shared machine barely move it;
wall-clock time is printed too), the peak resident memory of the process, and the
ratio against a baseline measured in the same run, just before and just after it (their
mean): SimPy alone driving sessions of 8 timeouts each, with no model, also in CPU time.
With ``--repeat`` every run is printed and the median ratio reported. The ratio is what
to compare between machines and commits; times the baseline's speed on the machine the
targets were set on (550,000 timeouts/s), it gives the figure to hold against the targets
(one core): >= 200,000 events/s; peak memory <= 300 MB for 5 million events.
``benchmarks/engine_profile.py`` breaks the time down by stage.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from engine_profile import (
    REFERENCE_BASELINE,
    TIMEOUTS_PER_SESSION,
    at_reference_speed,
    simpy_baseline,
)

from fauxsim.runner import run_into
from fauxsim.scenario.loading import load_scenario
from fauxsim.simulation import sampling, session
from fauxsim.sinks.base import open_sink
from fauxsim.sinks.files import arrow_columns

if TYPE_CHECKING:
    from types import ModuleType

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "black_friday.yaml"
# The compiled parts, each switched to its Python twin by a flag: what it does, its modules.
TWINS: dict[str, tuple[str, list[ModuleType]]] = {
    "--python-rows": ("rows to Arrow", [arrow_columns]),
    "--python-visit": ("visits", [session, sampling]),
}
TARGET = 200_000  # events/s end to end, at the reference speed


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions-per-day", type=int, default=None)
    parser.add_argument("--format", default="parquet", choices=["parquet", "jsonl", "csv"])
    parser.add_argument("--repeat", type=int, default=1, help="runs; the median ratio is reported")
    for flag, (what, _) in TWINS.items():
        parser.add_argument(flag, action="store_true", help=f"{what} in Python, as an install "
                            "without a C compiler does")  # fmt: skip
    args = parser.parse_args()
    for flag, (_, modules) in TWINS.items():
        if getattr(args, flag.removeprefix("--").replace("-", "_")):
            for module in modules:
                module.COMPILED = False  # type: ignore[attr-defined]

    overrides = []
    if args.sessions_per_day is not None:
        overrides.append(f"traffic.sessions_per_day={args.sessions_per_day}")
    scenario = load_scenario(SCENARIO, overrides)
    memory_before = peak_memory_mb()
    runs = []
    for _ in range(args.repeat):
        # Around each run, before and after: the machine's speed drifts within seconds
        # on a shared host, and one baseline beside a run moved the ratio by +-12%.
        before = simpy_baseline()
        with tempfile.TemporaryDirectory() as folder:
            began, began_wall = time.process_time(), time.perf_counter()
            stats = run_into(open_sink(args.format, Path(folder)), scenario)
            seconds = time.process_time() - began
            wall = time.perf_counter() - began_wall
            size = sum(path.stat().st_size for path in Path(folder).iterdir()) / 1e6
        after = simpy_baseline()
        runs.append((stats.events / seconds, seconds, wall, (before, after), stats, size))
    # Every run is printed; the one reported is the median by ratio, the lower middle one
    # for an even count (a best-of would pick the luckiest draw of a noisy figure).
    if len(runs) > 1:
        for number, (run_rate, _, _, (run_before, run_after), _, _) in enumerate(runs, 1):
            run_ratio = run_rate * 2 / (run_before + run_after)
            print(
                f"run {number}               {run_rate:,.0f} events/s, baseline "
                f"{run_before:,.0f} before / {run_after:,.0f} after, ratio {run_ratio:.3f}"
            )
    runs.sort(key=lambda run: run[0] / sum(run[3]))
    rate, seconds, wall, (before, after), stats, size = runs[(len(runs) - 1) // 2]
    baseline = (before + after) / 2
    setting = f", {overrides[0]}" if overrides else ""
    rows = sum(stats.rows.values())
    print(f"scenario            {scenario.name} ({SCENARIO.name}{setting})")
    print(f"events              {stats.events:,} ({rows:,} rows, {size:,.0f} MB {args.format})")
    print(f"time                {seconds:,.1f} s CPU ({wall:,.1f} s wall clock)")
    for what, modules in TWINS.values():
        compiled = all(module.COMPILED for module in modules)  # type: ignore[attr-defined]
        print(f"{what:<20}{'compiled (C)' if compiled else 'Python'}")
    print(f"end to end          {rate:,.0f} events/s CPU   (target >= {TARGET:,})")
    print(
        f"simpy baseline      {baseline:,.0f} timeouts/s CPU "
        f"(sessions of {TIMEOUTS_PER_SESSION} timeouts; {before:,.0f} before the run, "
        f"{after:,.0f} after)"
    )
    print(f"ratio               {rate / baseline:.3f} events per baseline timeout")
    print(
        f"at reference speed  {at_reference_speed(rate, baseline):,.0f} events/s "
        f"(where the baseline does {REFERENCE_BASELINE:,}/s, as when the target was set; "
        f"the target needs ratio >= {TARGET / REFERENCE_BASELINE:.3f})"
    )
    print(
        f"peak memory         {peak_memory_mb():,.0f} MB "
        f"(before the run: {memory_before:,.0f} MB; target <= 300)"
    )


if __name__ == "__main__":
    main()
