"""Publish the stream test scenario as ``fauxsim run --stream`` does; killed by the tests.

Usage: python stream_run.py URL EXCHANGE STATE_DIR BATCH_ROWS
"""

from __future__ import annotations

import sys
from pathlib import Path

from fauxsim.runner import run_into
from fauxsim.sinks.stream import open_stream_sink
from tests.integration.scenario_fixtures import stream_scenario


def main() -> None:
    url, exchange, state_dir, batch_rows = sys.argv[1:5]
    scenario = stream_scenario()
    sink = open_stream_sink(url, scenario, exchange=exchange, state_dir=Path(state_dir))
    run_into(sink, scenario, resume_after=sink.resume_after, batch_rows=int(batch_rows))


if __name__ == "__main__":
    main()
