"""Run the ``fauxsim`` command in-process, as a user would type it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cli.app import main

if TYPE_CHECKING:
    import pytest


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Result:
    """Call the console-script entry point with ``args`` and a fixed-width terminal."""
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(sys, "argv", ["fauxsim", *args])
    code = 0
    try:
        main()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
