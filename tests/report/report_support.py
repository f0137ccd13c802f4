"""Run bundled scenarios into folders for the report tests."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def run_into_folder(folder: Path, scenario: str, *options: str) -> Path:
    """``fauxsim run SCENARIO --out FOLDER`` as a user types it; the folder it wrote."""
    command = [sys.executable, "-m", "cli.app", "run", scenario, "--out", str(folder), *options]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our own command
    return folder
