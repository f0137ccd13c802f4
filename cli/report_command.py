"""``fauxsim report DATA_DIR | --db URL [--scenario FILE] --out report.html``.

Reads a dataset's output, audits it against its scenario and writes one HTML page that
opens offline. Exit 0 when every check passes, 1 when some fail (the page says which),
2 for a mistake in the options or the scenario, 3 for a dataset that cannot be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from cli.console import console
from fauxsim.errors import UsageError


def report(
    data_dir: Path | None = None,
    /,
    *,
    db: str | None = None,
    scenario: Path | None = None,
    set_: Annotated[tuple[str, ...], Parameter(name="--set", negative=(), show_default=False)] = (),
    out: Path = Path("report.html"),
) -> int:
    """Audit a dataset against its scenario and draw it: one HTML page that opens offline.

    Parameters
    ----------
    data_dir
        The folder `fauxsim run --out` wrote (Parquet, JSON Lines or CSV).
    db
        A Postgres URL to read instead of a folder (default without a folder, as for run
        and serve: $DATABASE_URL, else the embedded database); its scenario is found by
        name in the runs ledger when it is a bundled one.
    scenario
        The scenario file (or bundled name) the data was generated from. Required for a
        folder; for a database, it replaces the one named in the ledger.
    set_
        Override a scenario value, as the run did, e.g. --set traffic.sessions_per_day=20000
        (repeatable). The shard count is taken from the dataset where it records one.
    out
        Where to write the page.
    """
    from fauxsim.report.reading import check_report_extra  # noqa: PLC0415

    if data_dir is not None and db is not None:
        raise UsageError("give a data folder or --db URL, not both, e.g. fauxsim report data/")
    check_report_extra()
    from fauxsim.report.audit import run_audit  # noqa: PLC0415
    from fauxsim.report.checks import Verdict  # noqa: PLC0415
    from fauxsim.report.page import render_page  # noqa: PLC0415
    from fauxsim.report.reading import read_database, read_folder  # noqa: PLC0415
    from fauxsim.report.traffic_checks import hourly_traffic  # noqa: PLC0415
    from fauxsim.scenario.loading import load_scenario, scenario_digest  # noqa: PLC0415

    if data_dir is not None:
        if scenario is None:
            message = (
                "files do not record their scenario: add --scenario FILE (or a bundled name, "
                "e.g. --scenario black_friday)"
            )
            raise UsageError(message)
        dataset = read_folder(data_dir)
    else:
        from fauxsim.sinks.postgres.connection import resolve_database_url  # noqa: PLC0415

        dataset = read_database(resolve_database_url(db))
    chosen = _scenario_path(scenario, dataset.scenario_name)
    # How many shards made the dataset is not a thing the audit checks: the dataset's own
    # count, where it records one (a --set shards=K given too comes later, and wins).
    recorded = () if dataset.shards is None else (f"shards={dataset.shards}",)
    loaded = load_scenario(chosen, (*recorded, *set_))
    if dataset.scenario_digest is not None and scenario_digest(loaded) != dataset.scenario_digest:
        given = " ".join((str(chosen), *(f"--set {override}" for override in set_)))
        remedy = (
            "give the --set options the run had"
            if loaded.name == dataset.scenario_name
            else f"this is scenario {loaded.name!r}: give the one the run used"
        )
        console.print(
            f"note: {given} differs from the scenario that wrote this dataset "
            f"({dataset.scenario_name}): {remedy}; the audit compares against {given}",
            highlight=False,
            soft_wrap=True,
        )
    checks = run_audit(loaded, dataset)
    page = render_page(loaded, dataset, hourly_traffic(loaded, dataset), checks)
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        from fauxsim.errors import SinkError  # noqa: PLC0415

        raise SinkError(f"cannot write {out}: {error.strerror}") from None
    failed = [check for check in checks if check.verdict is Verdict.FAIL]
    passed = sum(check.verdict is Verdict.PASS for check in checks)
    console.print(
        f"{out}: {passed} checks pass, {len(failed)} fail, "
        f"{len(checks) - passed - len(failed)} without data",
        highlight=False,
        soft_wrap=True,
    )
    for check in failed:
        console.print(f"  fail  {check.section}: {check.name}", highlight=False, soft_wrap=True)
    return 1 if failed else 0


def _scenario_path(given: Path | None, recorded: str | None) -> Path:
    """The scenario given, else the bundled one the database's ledger names."""
    if given is not None:
        return given
    from fauxsim.scenario.bundled import find_bundled  # noqa: PLC0415

    found = find_bundled(recorded) if recorded else None
    if found is None:
        message = (
            f"the database was written from scenario {recorded!r}, which is not a bundled one: "
            "add --scenario FILE"
        )
        raise UsageError(message)
    return found
