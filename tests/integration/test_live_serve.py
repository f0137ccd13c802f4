"""``fauxsim serve --live SCENARIO``: one command for a living API, tried as a user would.

A real server process, a real live generator beside it, a real HTTP client.
"""

from __future__ import annotations

import datetime as dt
import signal
import socket
import time
from typing import TYPE_CHECKING, Any

import httpx
import psutil
import pytest

from tests.integration.test_live_runs import fauxsim, wall_now, write_scenario

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return result


def health(base: str) -> dict[str, Any] | None:
    try:
        return httpx.get(f"{base}/health", timeout=2).json()  # type: ignore[no-any-return]
    except httpx.HTTPError:
        return None


def generator_of(server: subprocess.Popen[str]) -> psutil.Process | None:
    """The live generator serve started (``fauxsim run ... --live``), while it runs."""
    for child in psutil.Process(server.pid).children(recursive=False):
        try:
            if "run" in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                return child
        except psutil.Error:  # gone, or a zombie, while we looked
            continue
    return None


@pytest.mark.slow
def test_serve_live_serves_history_then_fresh_rows_and_restarts_a_dead_generator(
    postgres_url, tmp_path
):
    today = wall_now().date()
    scenario = write_scenario(
        tmp_path,
        start=str(today - dt.timedelta(days=2)),
        end=str(today + dt.timedelta(days=2)),
        timezone="UTC",
        traffic={"sessions_per_day": 20_000},
    )
    port, url = free_port(), postgres_url
    base = f"http://127.0.0.1:{port}"
    server = fauxsim("serve", "--live", str(scenario), "--db", url, "--port", str(port))
    try:
        began = wall_now()

        def caught_up() -> dict[str, Any] | None:
            answer = health(base)
            if not answer or not answer["generator"]["watermark"]:
                return None
            standing = dt.datetime.fromisoformat(answer["generator"]["watermark"])
            return answer if standing >= began else None

        assert wait_for(caught_up, "the generator to catch up with the clock")["status"] == "ok"

        token = fauxsim("token", "create", "--name", "t", "--scopes", "read:all", "--db", url)
        out, err = token.communicate(timeout=60)
        assert token.returncode == 0, err
        secret = next(word for word in out.split() if word.startswith("fg_test_"))
        an_hour_ago = (began - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        page = httpx.get(
            f"{base}/v1/events",
            params={"updated_since": an_hour_ago, "limit": 1000},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        assert page.status_code == 200, page.text
        assert page.json()["data"], "fresh rows within the last hour"

        generator = wait_for(lambda: generator_of(server), "the generator process")
        generator.kill()  # it dies: serve says so, then starts it again
        restarted = wait_for(
            lambda: (found := generator_of(server)) and found.pid != generator.pid and found,
            "a restarted generator",
        )
        wait_for(lambda: (h := health(base)) and h["generator"]["writing"], "writing again")

        server.send_signal(signal.SIGTERM)  # stopping serve stops both
        _, log = server.communicate(timeout=60)
        assert "the live generator died" in log
        assert "restarting it in 1 s" in log
        assert not restarted.is_running() or restarted.status() == psutil.STATUS_ZOMBIE
        assert "Traceback" not in log
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_serve_live_with_a_broken_scenario_fails_before_starting(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("start: 2024-01-01\nend: 2023-01-01\n")
    server = fauxsim("serve", "--live", str(broken), "--port", str(free_port()))
    _, err = server.communicate(timeout=60)
    assert server.returncode == 2
    assert "end: must be after start" in err
    assert "Uvicorn running" not in err
