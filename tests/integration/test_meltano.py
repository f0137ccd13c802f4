"""examples/meltano as a user runs it: Meltano, tap-rest-api-msdk and target-duckdb.

A real ``fauxsim serve`` process on a free port, a token from the CLI, ``meltano install``
and ``meltano run tap-genie target-duckdb`` twice, ``fauxsim run --until`` in between.

Meltano gets an environment of its own, as the example's README installs it: it pins
many packages (SQLAlchemy below 2.1, click, pip, uv, virtualenv) that the project's would
have to share. ``FAUXSIM_TEST_MELTANO`` names a Meltano command to use; else the test
installs Meltano from PyPI into a cached environment once (about a minute cold, then
reused), and the plugins into the test's copy of the project (uv: seconds).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import platformdirs
import psycopg
import pytest

from genie_litestar.resources.catalog import RESOURCES
from tests.integration.test_live_runs import fauxsim, write_scenario
from tests.integration.test_live_serve import free_port, health, wait_for

duckdb = pytest.importorskip("duckdb")

EXAMPLE = Path(__file__).parents[2] / "examples" / "meltano"
MELTANO_VERSION = "4.4.1"
pytestmark = [pytest.mark.slow, pytest.mark.meltano]

# Twelve hours of a small shop with every quirk on, then twelve more.
FIRST_UNTIL, SECOND_UNTIL = "2024-03-01T12:00:00", "2024-03-02T00:00:00"
RUN_SECONDS = 600


def _fauxsim_done(*args: str) -> str:
    process = fauxsim(*args)
    out, err = process.communicate(timeout=RUN_SECONDS)
    assert process.returncode == 0, (args, out, err)
    return out


def _install_meltano() -> Path:
    """Meltano in its own cached environment; ``installed`` is written once pip is done."""
    venv = Path(platformdirs.user_cache_dir("fauxgenie")) / f"meltano-{MELTANO_VERSION}"
    if (venv / "installed").exists():
        return venv / "bin" / "meltano"
    shutil.rmtree(venv, ignore_errors=True)  # what an interrupted install left
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - pip of the environment just made
            [venv / "bin" / "pip", "install", "-q", f"meltano=={MELTANO_VERSION}"],
            check=True,
            timeout=RUN_SECONDS,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as failed:
        if os.environ.get("FAUXSIM_REQUIRE_SERVICES"):
            raise
        pytest.skip(f"could not install Meltano {MELTANO_VERSION} from PyPI: {failed}")
    (venv / "installed").write_text(f"meltano=={MELTANO_VERSION}\n")
    return venv / "bin" / "meltano"


@pytest.fixture(scope="session")
def meltano() -> str:
    return os.environ.get("FAUXSIM_TEST_MELTANO") or str(_install_meltano())


def _meltano(meltano: str, project: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(  # noqa: S603 - the Meltano command of the fixture
        [meltano, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"meltano {' '.join(args)}:\n{done.stderr[-6000:]}"


def _postgres(url: str, name: str, since: dt.datetime | None = None) -> set[tuple[Any, ...]]:
    """(id, paging time) of a table's rows, those at or after ``since`` when given."""
    resource = RESOURCES[name]
    key, paging = resource.id_column, resource.paging_column
    query = f"SELECT {key}, {paging} FROM {name} WHERE %(since)s::timestamptz IS NULL"  # noqa: S608
    query += f" OR {paging} >= %(since)s::timestamptz"
    with psycopg.connect(url) as connection:
        rows = connection.execute(query, {"since": since}).fetchall()
    return {(row_id, moment.astimezone(dt.UTC).replace(tzinfo=None)) for row_id, moment in rows}


def _duckdb(
    path: Path, name: str, batched_after: dt.datetime | None = None
) -> set[tuple[Any, ...]]:
    """(id, paging time) of what target-duckdb holds, those a run after a moment wrote."""
    resource = RESOURCES[name]
    query = f"SELECT {resource.id_column}, {resource.paging_column} FROM shop.{name}"  # noqa: S608
    query += " WHERE ?::timestamp IS NULL OR _sdc_batched_at > ?"
    with duckdb.connect(str(path), read_only=True) as connection:
        return set(connection.execute(query, [batched_after, batched_after]).fetchall())


def _last_batch(path: Path) -> dt.datetime:
    """When the latest batch target-duckdb wrote was written."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return max(
            connection.execute(f"SELECT max(_sdc_batched_at) FROM shop.{name}").fetchone()[0]  # noqa: S608
            for name in RESOURCES
        )


def _bookmarks(path: Path) -> dict[str, dt.datetime | None]:
    """Each stream's bookmark, as the tap sends it: the largest paging time, to the second."""
    marks = {}
    with duckdb.connect(str(path), read_only=True) as connection:
        for name, resource in RESOURCES.items():
            query = f"SELECT date_trunc('second', max({resource.paging_column})) FROM shop.{name}"  # noqa: S608
            (mark,) = connection.execute(query).fetchone()
            marks[name] = None if mark is None else mark.replace(tzinfo=dt.UTC)
    return marks


def test_meltano_loads_every_resource_then_only_what_changed(meltano, postgres_url, tmp_path):
    scenario = write_scenario(tmp_path, end="2024-03-03")
    _fauxsim_done("run", str(scenario), "--db", postgres_url, "--until", FIRST_UNTIL)
    token = _fauxsim_done("token", "create", "--name", "meltano", "--db", postgres_url)
    token = token.split()[0]
    assert token.startswith("fg_test_")

    project = tmp_path / "meltano"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".meltano", "*.duckdb"))
    port = free_port()
    env = {
        **os.environ,
        "TAP_GENIE_API_URL": f"http://127.0.0.1:{port}/v1/",
        "TAP_GENIE_BEARER_TOKEN": token,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    _meltano(meltano, project, env, "install")
    server = fauxsim(
        "serve", "--db", postgres_url, "--port", str(port),
        "--rate-limit-burst", "1000", "--rate-limit-per-second", "1000",
    )  # fmt: skip
    try:
        wait_for(lambda: health(f"http://127.0.0.1:{port}"), "genie to answer")
        database = project / "genie.duckdb"

        _meltano(meltano, project, env, "run", "tap-genie", "target-duckdb")
        for name in RESOURCES:
            assert _duckdb(database, name) == _postgres(postgres_url, name), name
        assert _duckdb(database, "quirks"), "the quirky shop has quirks to load"
        first_batch, bookmarks = _last_batch(database), _bookmarks(database)

        _fauxsim_done("run", str(scenario), "--db", postgres_url, "--until", SECOND_UNTIL)
        _meltano(meltano, project, env, "run", "tap-genie", "target-duckdb")
    finally:
        server.terminate()
        server.communicate(timeout=30)

    for name in RESOURCES:
        every_row = _postgres(postgres_url, name)
        assert _duckdb(database, name) == every_row, name
        # Only rows changed since the bookmark (inclusive, to the second) came again.
        changed = _postgres(postgres_url, name, since=bookmarks[name])
        assert _duckdb(database, name, batched_after=first_batch) == changed, name
    new_events = _postgres(postgres_url, "events", since=bookmarks["events"])
    assert 0 < len(new_events) < len(_postgres(postgres_url, "events"))
