"""The ``fauxsim`` command: one cyclopts app, each command in its own module.

Commands are registered by import path so that ``fauxsim --help`` stays quick and a
command only imports what it needs (the API server, the database driver, ...).
"""

from __future__ import annotations

import sys

from cyclopts import App

from cli.console import report_user_errors
from fauxsim import __version__

app = App(
    name="fauxsim",
    help="Generate a living, realistic e-commerce dataset and serve it like a SaaS API.",
    version=__version__,
    # Ctrl-C reaches report_user_errors, which says what was kept (cyclopts would exit 130
    # without a word).
    suppress_keyboard_interrupt=False,
)

app.command(
    "cli.scenario_commands:list_scenarios", name="scenarios", help="List the bundled scenarios."
)
app.command(
    "cli.scenario_commands:validate",
    name="validate",
    help="Check a scenario file: every problem with its line, or ok and a summary.",
)
app.command(
    "cli.scenario_commands:schema",
    name="schema",
    help="Print the scenario JSON Schema, for editor completion.",
)
app.command(
    "cli.tables_command:tables",
    name="tables",
    help="Print the data dictionary: every table, column, status and event type.",
)
app.command("cli.run_command:run", name="run", help="Simulate a scenario into files or a database.")
app.command(
    "cli.report_command:report",
    name="report",
    help="Audit a dataset against its scenario and draw it: one HTML page that opens offline.",
)
app.command(
    "cli.db_commands:db_app",
    name="db",
    help="Inspect, reset or locate the database fauxsim writes to.",
)
app.command(
    "cli.token_commands:token_app", name="token", help="Create, list and revoke Genie API tokens."
)
app.command(
    "cli.serve_command:serve", name="serve", help="Serve the dataset through Genie, the HTTP API."
)


def main() -> None:
    """Console-script entry point: user mistakes exit with a message, not a traceback."""
    with report_user_errors():
        result = app(sys.argv[1:])
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":  # python -m cli.app, as the console script
    main()
