"""The audit's top-of-the-hour row passes on the engine's continuous rate and fails on a
rate that jumps at the top of each hour (the engine before #18 item 6, planted back)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fauxsim.report.audit import run_audit
from fauxsim.report.checks import Check, Verdict
from fauxsim.report.reading import read_folder
from fauxsim.scenario.loading import load_scenario
from fauxsim.simulation import traffic
from tests.cli.cli_support import run_cli

pytestmark = pytest.mark.slow

ROW = "share after 06:00 of starts 15 min either side"  # steady_state steps x2.25 at 06:00


def _boundary_row(folder: Path) -> Check:
    checks = run_audit(load_scenario(Path("steady_state"), ()), read_folder(folder))
    [row] = [check for check in checks if check.name == ROW]
    return row


@pytest.mark.parametrize("jumps", [False, True])
def test_the_boundary_row_tells_a_jump_from_a_continuous_rate(jumps, tmp_path, capsys, monkeypatch):
    if jumps:  # offsets uniform within the hour: the rate of the hour, constant
        monkeypatch.setattr(traffic, "linear_offsets", lambda uniforms, *_shape: uniforms)
    arguments = ["run", "steady_state", "--until", "2025-03-01", "--out", str(tmp_path)]
    assert run_cli([*arguments, "--format", "parquet"], capsys, monkeypatch).exit_code == 0
    row = _boundary_row(tmp_path)
    assert row.configured == pytest.approx(0.55, abs=0.02)
    assert row.verdict is (Verdict.FAIL if jumps else Verdict.PASS)
