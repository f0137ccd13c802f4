"""Engine speed and memory against an earlier commit, both measured in the same run.

    .venv/bin/python benchmarks/engine_vs_commit.py                  # against 86e6c08, 5 pairs
    .venv/bin/python benchmarks/engine_vs_commit.py --pairs 9
    .venv/bin/python benchmarks/engine_vs_commit.py --commit main --format jsonl
    .venv/bin/python benchmarks/engine_vs_commit.py --new 107911d   # two commits, not the tree

Builds the commit beside this tree (``git archive`` into the temp folder, its C parts
compiled in place by its own ``hatch_build.py``; kept there for the next run) and runs
black_friday end to end into the format (Parquet by default) with each version, one run
per fresh process, interleaved: old then new, then new then old, and so on, so that a
machine whose speed drifts weighs on both alike. Each version runs its own code on its own
bundled black_friday, with this interpreter and these installed dependencies.

Prints each pair's CPU time per event (``time.process_time`` in the child), the median of
the per-pair ratios new/old (what to read: above 1 the current tree costs more per event),
and each version's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE_COMMIT = "86e6c08"

# Runs in a child whose PYTHONPATH starts with the tree to measure: prints one JSON line.
CHILD = """
import json, resource, sys, tempfile, time
from pathlib import Path
root, fmt = Path(sys.argv[1]), sys.argv[2]
import fauxsim
assert Path(fauxsim.__file__).resolve().is_relative_to(root.resolve()), fauxsim.__file__
from fauxsim.runner import run_into
from fauxsim.scenario.loading import load_scenario
from fauxsim.sinks.base import open_sink
scenario = load_scenario(root / "scenarios" / "black_friday.yaml", [])
with tempfile.TemporaryDirectory() as folder:
    began, wall = time.process_time(), time.perf_counter()
    stats = run_into(open_sink(fmt, Path(folder)), scenario)
    cpu, wall = time.process_time() - began, time.perf_counter() - wall
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"events": stats.events, "cpu": cpu, "wall": wall, "peak_mb": peak}))
"""

# Compiles the commit's C parts beside their sources, with the commit's own build hook.
BUILD = """
import sys
from pathlib import Path
root = Path(sys.argv[1])
sys.path.insert(0, str(root))
import hatch_build
for module in hatch_build.EXTENSIONS:
    hatch_build.compile_in_place(root, module)
"""


def build(commit: str) -> Path:
    """The commit's tree in the temp folder, C parts compiled; reused when already built."""
    sha = subprocess.run(  # noqa: S603 - git, on this repository
        ["git", "rev-parse", "--short=12", commit],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    tree = Path(tempfile.gettempdir()) / f"fauxsim-bench-{sha}"
    done = tree / ".built"
    if done.exists():
        return tree
    tree.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(  # noqa: S603
        ["git", "archive", "--format=tar", sha],  # noqa: S607
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)  # noqa: S603, S607
    print(f"building {commit} ({sha}) in {tree} ...", flush=True)
    subprocess.run([sys.executable, "-c", BUILD, str(tree)], cwd=tree, check=True)  # noqa: S603
    done.touch()
    return tree


def measure(tree: Path, fmt: str) -> dict[str, float]:
    """One end-to-end run of ``tree``'s code, in a fresh process."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", CHILD, str(tree), fmt],
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"},
        cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default=BASELINE_COMMIT)
    parser.add_argument("--new", default=None, help="a commit to measure instead of this tree")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--format", default="parquet", choices=["parquet", "jsonl", "csv"])
    args = parser.parse_args()
    old_tree = build(args.commit)
    new_tree = ROOT if args.new is None else build(args.new)
    ratios, olds, news = [], [], []
    for pair in range(1, args.pairs + 1):
        # Alternate which goes first: a drift within the pair then weighs on both.
        order = [("old", old_tree), ("new", new_tree)]
        if pair % 2 == 0:
            order.reverse()
        runs = {name: measure(tree, args.format) for name, tree in order}
        old, new = runs["old"], runs["new"]
        olds.append(old)
        news.append(new)
        old_us = old["cpu"] / old["events"] * 1e6
        new_us = new["cpu"] / new["events"] * 1e6
        ratios.append(new_us / old_us)
        print(
            f"pair {pair}  old {old_us:.2f} µs/event ({old['events']:,.0f} events, "
            f"{old['peak_mb']:.0f} MB)  new {new_us:.2f} µs/event ({new['events']:,.0f} "
            f"events, {new['peak_mb']:.0f} MB)  new/old {new_us / old_us:.3f}",
            flush=True,
        )
    print(f"commit              {args.commit} against {args.new or 'the tree at ' + str(ROOT)}")
    print(f"format              {args.format}, black_friday, {args.pairs} interleaved pairs")
    print(
        f"CPU per event       new/old median {statistics.median(ratios):.3f} "
        f"(pairs {min(ratios):.3f} to {max(ratios):.3f})"
    )
    print(
        f"peak memory         old {statistics.median(run['peak_mb'] for run in olds):.0f} MB, "
        f"new {statistics.median(run['peak_mb'] for run in news):.0f} MB (medians)"
    )


if __name__ == "__main__":
    main()
