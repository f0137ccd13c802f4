"""``fauxsim tables`` prints the data dictionary, and docs/tables.md is that text, fresh."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import cli.console
import cli.tables_command
from cli.app import app
from cli.console import report_user_errors
from fauxsim.data_dictionary import REGENERATE, dictionary_markdown
from fauxsim.tables import ALL_TABLES

DOCS = Path(__file__).parents[2] / "docs" / "tables.md"


def _console(buffer: io.StringIO) -> Console:
    return Console(file=buffer, width=80, color_system=None, highlight=False, emoji=False)


@pytest.fixture
def fauxsim(monkeypatch):
    """Run `fauxsim <tokens>` in-process on an 80-column console: (exit code, out, err)."""

    def run(*tokens: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(cli.tables_command, "console", _console(out))
        monkeypatch.setattr(cli.console, "error_console", _console(err))
        try:
            with report_user_errors():
                app(list(tokens), console=_console(out), error_console=_console(err))
        except SystemExit as exit_:
            return int(exit_.code or 0), out.getvalue(), err.getvalue()
        return 0, out.getvalue(), err.getvalue()

    return run


def test_docs_tables_md_is_the_dictionary_as_generated_now():
    """Edit fauxsim/tables.py or fauxsim/event_shapes.py, then regenerate the page."""
    assert DOCS.read_text(encoding="utf-8") == dictionary_markdown(), (
        f"docs/tables.md is stale: run `{REGENERATE}`"
    )


def test_tables_prints_the_whole_dictionary_unwrapped(fauxsim):
    code, out, _ = fauxsim("tables")
    assert code == 0
    assert out == dictionary_markdown()
    for spec in ALL_TABLES:
        assert f"\n## {spec.name}\n" in out
    assert "#### `order_placed`" in out


def test_one_table_with_its_statuses(fauxsim):
    code, out, _ = fauxsim("tables", "orders")
    assert code == 0
    assert out.startswith("## orders\n")
    assert "Values: `placed`, `paid`, `shipped`, `delivered`, `cancelled`, `returned`," in out
    assert "## customers" not in out


def test_the_events_table_comes_with_its_event_types(fauxsim):
    _, out, _ = fauxsim("tables", "events")
    assert "### Event types" in out
    assert "#### `session_started`" in out


def test_an_unknown_table_is_named_with_a_suggestion(fauxsim):
    code, out, err = fauxsim("tables", "order")
    valid = ", ".join(spec.name for spec in ALL_TABLES)
    assert code == 2
    assert out == ""
    assert err.strip() == (
        f"error: unknown table 'order'; did you mean 'orders'? Valid values are: {valid}"
    )


def test_every_table_and_column_is_described():
    undescribed = [spec.name for spec in ALL_TABLES if not spec.description] + [
        f"{spec.name}.{column.name}"
        for spec in ALL_TABLES
        for column in spec.columns
        if not column.description
    ]
    assert undescribed == []
