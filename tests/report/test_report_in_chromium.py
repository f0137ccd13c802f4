"""The report page renders in headless Chromium: offline, without console errors, not blank.

Chromium is the Debian package (`apt-get install -y chromium`); where it is missing the
test is skipped with that reason, and fails where services are required (CI).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
from matplotlib import image

from cli.report_command import report
from tests.service_support import unavailable

_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",  # the page's console messages come out as INFO:CONSOLE lines
    "--v=0",
    "--window-size=1200,3000",
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return unavailable("chromium is not installed (apt-get install -y chromium)")


def test_the_page_renders_without_console_errors_and_is_not_blank(flash_sale_folder, tmp_path):
    browser = _chromium()
    page = tmp_path / "report.html"
    assert report(flash_sale_folder, scenario=Path("flash_sale"), out=page) == 0
    screenshot = tmp_path / "page.png"
    done = subprocess.run(  # noqa: S603 - the browser found on PATH, our own page
        [
            browser,
            *_CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    pixels = image.imread(screenshot)[..., :3]
    ink = np.any(pixels < 0.9, axis=-1)  # not white: text, axes, bars, curves
    assert ink.mean() > 0.02
    assert ink[:300].any()  # the title at the top
    assert ink[-600:].any()  # charts reach down the page
    blue = (pixels[..., 2] > 0.8) & (pixels[..., 0] < 0.3)  # the measured series
    assert blue.mean() > 0.001
