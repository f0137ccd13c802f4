"""Write the test scenario into a database, as ``fauxsim run`` does; killed by the tests.

Usage: python write_run.py URL BATCH_ROWS [UNTIL]
"""

from __future__ import annotations

import datetime as dt
import sys

from fauxsim.runner import run_into
from fauxsim.sinks.postgres.sink import open_database_sink
from tests.integration.scenario_fixtures import quirky_scenario


def main() -> None:
    url, batch_rows = sys.argv[1], int(sys.argv[2])
    until = dt.date.fromisoformat(sys.argv[3]) if len(sys.argv) > 3 else None
    scenario = quirky_scenario()
    sink = open_database_sink(url, scenario, until=until)
    with sink:
        run_into(sink, scenario, until=until, resume_after=sink.resume_after, batch_rows=batch_rows)


if __name__ == "__main__":
    main()
