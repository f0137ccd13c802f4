"""Datasets the report tests read: bundled scenarios run into files once per test session."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fauxsim.report.reading import Dataset, read_folder
from tests.report.report_support import run_into_folder

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def flash_sale_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """flash_sale whole (14 days, duplicated and late events), as Parquet."""
    return run_into_folder(tmp_path_factory.mktemp("flash_sale"), "flash_sale")


@pytest.fixture(scope="session")
def black_friday_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """black_friday whole: both calendar events, a segment, and the orders' later life."""
    return run_into_folder(tmp_path_factory.mktemp("black_friday"), "black_friday")


@pytest.fixture(scope="session")
def black_friday_dataset(black_friday_folder: Path) -> Dataset:
    """black_friday read once: the planted-mismatch tests audit it again and again."""
    return read_folder(black_friday_folder)
