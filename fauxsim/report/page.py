"""The report page: one self-contained HTML file, charts inline as SVG, then the audit table."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import TYPE_CHECKING

from fauxsim.clock import to_datetime
from fauxsim.report import charts
from fauxsim.report.checks import Check, Unit, Verdict
from fauxsim.report.stats import median
from fauxsim.report.traffic_checks import WEEKDAYS, hour_share_name, weekday_share_name

if TYPE_CHECKING:
    import datetime as dt

    from fauxsim.report.reading import Dataset
    from fauxsim.report.traffic_checks import Hour, HourlyTraffic
    from fauxsim.scenario.model import Scenario

_HOURLY_UP_TO = 24 * 62  # longer windows are drawn one point a day
_HOURS = {hour_share_name(hour): f"{hour:02d}" for hour in range(24)}
_DAYS = {weekday_share_name(day): name[:3] for day, name in enumerate(WEEKDAYS)}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1b1f24; }
h1 { margin-bottom: 0.2rem; } .meta { color: #57606a; margin-top: 0; }
section { margin: 2rem 0; } svg { width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #d0d7de; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.fail td { background: #ffebe9; } .pass { color: #1a7f37; } .fail { color: #cf222e; }
.nodata { color: #8c959f; } .summary { font-size: 1.1rem; }
"""


def render_page(
    scenario: Scenario, dataset: Dataset, traffic: HourlyTraffic, checks: list[Check]
) -> str:
    """The whole page as text."""
    failed = sum(check.verdict is Verdict.FAIL for check in checks)
    passed = sum(check.verdict is Verdict.PASS for check in checks)
    verdict = "fail" if failed else "pass"
    parts = [
        f"<h1>{_e(scenario.name)}: is the data realistic?</h1>",
        (
            f'<p class="meta">{_e(dataset.source)} · {_local(scenario, scenario.start_utc)} to '
            f"{_local(scenario, min(scenario.end_utc, dataset.end))} ({_e(scenario.timezone)})"
            f" · seed {scenario.seed}</p>"
        ),
        (
            f'<p class="summary {verdict}">Audit: {passed} checks pass, {failed} fail'
            f" (of {len(checks)}; the table is at the end).</p>"
        ),
        _section("Sessions per hour", _timeline(traffic)),
        _section("Hour of day", _curve(checks, _HOURS, "share of session starts")),
        _section("Weekday", _curve(checks, _DAYS, "share of session starts")),
        _section("Funnel (base behaviour)", _funnel(checks)),
        _section("Orders and revenue per day", _daily(scenario, dataset)),
        _section("Time to ship and to deliver", _delays(scenario, dataset, checks)),
        _section("Order status", _statuses(dataset)),
        _section("Returning visitors, devices and channels", _mix(checks)),
        _section("Audit: configured against measured", _table(checks)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(scenario.name)} report</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def _local(scenario: Scenario, moment: dt.datetime) -> str:
    return f"{moment.astimezone(scenario.zone):%Y-%m-%d %H:%M}"


def _e(text: object) -> str:
    return html.escape(str(text))


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _timeline(traffic: HourlyTraffic) -> str:
    hours = traffic.hours
    if not hours:
        return "<p>No hours covered.</p>"
    shaded = [
        (to_datetime(window.start), to_datetime(window.end), window.event.name)
        for window in traffic.windows
    ]
    if len(hours) <= _HOURLY_UP_TO:
        moments = [hour.start for hour in hours]
        observed = [float(hour.observed) for hour in hours]
        expected = [hour.expected for hour in hours]
        ylabel = "session starts per hour"
    else:  # hour by hour a long window is a solid band: one mean per day shows its shape
        days: dict[dt.date, list[Hour]] = defaultdict(list)
        for hour in hours:
            days[hour.local.date()].append(hour)
        moments = [day_hours[0].start for day_hours in days.values()]
        observed = [sum(h.observed for h in d) / len(d) for d in days.values()]
        expected = [sum(h.expected for h in d) / len(d) for d in days.values()]
        ylabel = "starts per hour, daily mean"
    return charts.timeline(moments, observed, expected, shaded, ylabel)


def _curve(checks: list[Check], names: dict[str, str], ylabel: str) -> str:
    """Configured and measured shares of the checks ``names`` maps to their labels."""
    by_name = {check.name: check for check in checks}
    picked = [(label, by_name[name]) for name, label in names.items() if name in by_name]
    if not picked:
        return "<p>No session starts outside calendar events.</p>"
    labels = [label for label, _ in picked]
    configured = [check.configured for _, check in picked]
    measured = [check.measured or 0.0 for _, check in picked]
    return charts.compare(labels, configured, measured, ylabel, lines=True)


def _funnel(checks: list[Check]) -> str:
    picked = [c for c in checks if c.section == "funnel" and c.name.endswith("(base)")]
    if not picked:
        return "<p>No page views.</p>"
    labels = [c.name.removesuffix(" (base)") for c in picked]
    measured = [c.measured or 0.0 for c in picked]
    return charts.compare(labels, [c.configured for c in picked], measured, "transition rate")


def _mix(checks: list[Check]) -> str:
    # The returning share and the channel and device mix: entry pages, return gaps and
    # imported histories have rows of their own in the table (dozens of labels, and not
    # all of them shares of sessions, would crush the chart).
    picked = [
        c
        for c in checks
        if c.section == "audience" and c.name.startswith(("returning share", "channel ", "device "))
    ]
    labels = [c.name.replace(" share of sessions", "") for c in picked]
    measured = [c.measured or 0.0 for c in picked]
    return charts.compare(labels, [c.configured for c in picked], measured, "share of sessions")


def _daily(scenario: Scenario, dataset: Dataset) -> str:
    rows = dataset.connection.execute(
        "SELECT epoch_us(date_trunc('hour', placed_at)), count(*), sum(total_cents) "
        "FROM orders GROUP BY ALL"
    ).fetchall()
    if not rows:
        return "<p>No orders.</p>"
    counts: dict[dt.date, int] = defaultdict(int)
    amounts: dict[dt.date, float] = defaultdict(float)
    for hour, count, cents in rows:
        day = to_datetime(int(hour)).astimezone(scenario.zone).date()
        counts[day] += int(count)
        amounts[day] += float(cents) / 100
    days = sorted(counts)
    return charts.daily(
        days, [counts[d] for d in days], [amounts[d] for d in days], scenario.currency
    )


def _delays(scenario: Scenario, dataset: Dataset, checks: list[Check]) -> str:
    """The waits to ship and to deliver, marked at the audit's configured median: the
    delay taken to the working hours (``working_checks.py``), not the delay alone."""
    life = scenario.orders.lifecycle
    by_name = {check.name: check for check in checks}
    parts = []
    for since, until, unit, seconds, delay in (
        ("paid_at", "shipped_at", "hours", 3600, life.ship_delay_hours),
        ("shipped_at", "delivered_at", "days", 86400, life.deliver_delay_days),
    ):
        rows = dataset.connection.execute(
            f"SELECT epoch({until}) - epoch({since}) FROM orders WHERE {until} IS NOT NULL"  # noqa: S608
        ).fetchall()
        step = f"{since.removesuffix('_at')} → {until.removesuffix('_at')}"
        audited = by_name.get(f"median {step}")
        configured = median(delay) if audited is None else audited.configured
        if rows:
            values = [float(row[0]) / seconds for row in rows]
            parts.append(charts.histogram(values, f"{step}, {unit}", configured))
        else:
            parts.append(f"<p>Nothing {until.removesuffix('_at')} yet.</p>")
    return "".join(parts)


def _statuses(dataset: Dataset) -> str:
    rows = dataset.connection.execute(
        "SELECT status, count(*) FROM orders GROUP BY status ORDER BY count(*) DESC, status"
    ).fetchall()
    if not rows:
        return "<p>No orders.</p>"
    total = sum(int(count) for _, count in rows)
    return charts.shares(
        [str(s) for s, _ in rows], [int(c) / total for _, c in rows], "share of orders"
    )


def _table(checks: list[Check]) -> str:
    head = (
        "<tr><th>section</th><th>check</th><th>configured</th><th>measured</th>"
        "<th>tolerance ±</th><th>sample</th><th>verdict</th><th>note</th></tr>"
    )
    rows = []
    for check in checks:
        verdict = check.verdict
        css = {Verdict.PASS: "pass", Verdict.FAIL: "fail", Verdict.NO_DATA: "nodata"}[verdict]
        row_css = {Verdict.PASS: "ok", Verdict.FAIL: "fail", Verdict.NO_DATA: "nodata"}[verdict]
        measured = "—" if check.measured is None else format_value(check.measured, check.unit)
        tolerance = "—" if verdict is Verdict.NO_DATA else format_value(check.tolerance, check.unit)
        rows.append(
            f'<tr class="{row_css}"><td>{_e(check.section)}</td><td>{_e(check.name)}</td>'
            f'<td class="num">{format_value(check.configured, check.unit)}</td>'
            f'<td class="num">{measured}</td><td class="num">{tolerance}</td>'
            f'<td class="num">{check.sample:,}</td><td class="{css}">{verdict.value}</td>'
            f"<td>{_e(check.note)}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def format_value(value: float, unit: Unit) -> str:
    match unit:
        case Unit.SHARE:
            return f"{value:.1%}"
        case Unit.RATE:
            return f"{value:.4f}"
        case Unit.COUNT:
            return f"{value:,.0f}"
        case Unit.TIMES:
            return f"x{value:.2f}"
        case _:
            return f"{value:.2f} {unit.value}"
