"""``fauxsim tables``: the data dictionary, every table, column, status and event type."""

from __future__ import annotations

import difflib

from cli.console import console
from fauxsim.data_dictionary import dictionary_markdown
from fauxsim.errors import UsageError
from fauxsim.tables import ALL_TABLES, TABLES_BY_NAME


def tables(name: str | None = None, /) -> None:
    """Print the data dictionary as Markdown: tables, columns, statuses, event types.

    Parameters
    ----------
    name
        One table only, e.g. orders (events comes with its event types).
    """
    if name is None:
        console.out(dictionary_markdown(), end="", highlight=False)
        return
    spec = TABLES_BY_NAME.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(TABLES_BY_NAME), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        valid = ", ".join(table.name for table in ALL_TABLES)
        raise UsageError(f"unknown table {name!r}{hint} Valid values are: {valid}")
    console.out(dictionary_markdown((spec,)), end="", highlight=False)
