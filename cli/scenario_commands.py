"""``fauxsim scenarios``, ``validate`` and ``schema``: working with scenario files."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path  # noqa: TC003 - cyclopts reads the annotations at runtime
from typing import TYPE_CHECKING, Annotated

from cyclopts import Parameter

from cli.console import console
from fauxsim.clock import HOUR, to_datetime, to_micros
from fauxsim.errors import UsageError
from fauxsim.scenario.json_schema import scenario_json_schema_text
from fauxsim.scenario.loading import (
    bundled_scenarios,
    load_scenario,
    resolve_scenario_path,
    scenario_digest,
)
from fauxsim.simulation.calendar import Window, resolve_windows
from fauxsim.simulation.traffic import TrafficModel

if TYPE_CHECKING:
    from fauxsim.scenario.model import CalendarEvent, Scenario

_LABEL_WIDTH = 10


def list_scenarios() -> None:
    """List the bundled scenarios; run one with `fauxsim run <name>`."""
    found = bundled_scenarios()
    width = max((len(scenario.name) for scenario in found), default=0) + 2
    for scenario in found:
        console.out(f"{scenario.name:<{width}}{scenario.summary}", highlight=False)


def validate(
    path: Path,
    /,
    *,
    set_: Annotated[tuple[str, ...], Parameter(name="--set", negative=(), show_default=False)] = (),
) -> None:
    """Check a scenario and print what it will generate; every problem is listed at once.

    Parameters
    ----------
    path
        A scenario file, or the name of a bundled scenario (see `fauxsim scenarios`).
    set_
        Override a scenario value, e.g. --set traffic.sessions_per_day=20000 (repeatable).
    """
    scenario = load_scenario(path, set_)
    console.out(f"ok: {resolve_scenario_path(path)}", style="green", highlight=False)
    for label, text in summary(scenario):
        console.out(f"  {label:<{_LABEL_WIDTH}}{text}", highlight=False)


def schema(*, out: Path | None = None) -> None:
    """Print the JSON Schema of scenario files, for editors that complete YAML.

    Parameters
    ----------
    out
        Write the schema to this file instead of printing it.
    """
    text = scenario_json_schema_text()
    if out is None:
        console.out(text, end="", highlight=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write the schema to {out}: {error.strerror}") from None
    console.out(f"wrote the scenario JSON Schema to {out}", highlight=False)


def summary(scenario: Scenario) -> list[tuple[str, str]]:
    """What a scenario will generate, as (label, text) lines."""
    windows = resolve_windows(scenario)
    lines = [
        ("name", f"{scenario.name}: {scenario.description.strip().splitlines()[0]}")
        if scenario.description.strip()
        else ("name", scenario.name),
        ("window", _window(scenario)),
        ("sessions", _sessions(scenario, windows)),
        ("products", _products(scenario)),
    ]
    events = scenario.traffic.calendar
    lines += [
        ("calendar" if number == 0 else "", _event(event, number, windows, scenario))
        for number, event in enumerate(events)
    ] or [("calendar", "no events")]
    if scenario.shards > 1:  # (one shard: the whole shop, as before shards existed)
        count = scenario.shards
        lines.append(("shards", f"{count}, each simulated alone with 1/{count} of the audience"))
    lines.append(("digest", scenario_digest(scenario)))
    return lines


def _window(scenario: Scenario) -> str:
    start = scenario.start_utc.astimezone(scenario.zone)
    end = scenario.end_utc.astimezone(scenario.zone)
    # Calendar days on the local clock: a daylight-saving switch does not make 37.04 days.
    length = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    return (
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {scenario.timezone} "
        f"({_duration(length)}), seed {scenario.seed}, prices in {scenario.currency}"
    )


def _duration(length: dt.timedelta) -> str:
    """``37 days``, ``2.5 days``, ``6 hours``, ``90 minutes``: a window's length, readably."""
    days = length / dt.timedelta(days=1)
    if days >= 2:  # noqa: PLR2004 - under two days, hours read better
        return f"{round(days, 2):g} days"
    hours = length / dt.timedelta(hours=1)
    if hours >= 2:  # noqa: PLR2004
        return f"{round(hours, 2):g} hours"
    return f"{round(length / dt.timedelta(minutes=1), 2):g} minutes"


def _sessions(scenario: Scenario, windows: list[Window]) -> str:
    """Expected sessions from the traffic model: base rate times every curve, hour by hour."""
    model = TrafficModel(scenario, windows)
    start, end = to_micros(scenario.start_utc), to_micros(scenario.end_utc)
    per_day: defaultdict[dt.date, float] = defaultdict(float)
    for hour in range(start - start % HOUR, end, HOUR):
        per_day[to_datetime(hour).astimezone(scenario.zone).date()] += model.hourly_rate(hour)
    total = sum(per_day.values())
    days = (end - start) / (24 * HOUR)
    busiest = max(per_day, key=per_day.__getitem__)
    return (
        f"~{total / days:,.0f}/day expected, {total:,.0f} in all "
        f"(base {scenario.traffic.sessions_per_day:,g}/day; "
        f"busiest {busiest} with ~{per_day[busiest]:,.0f})"
    )


def _products(scenario: Scenario) -> str:
    catalog = scenario.catalog
    listed, generated = len(catalog.products), catalog.generate.count
    categories = {product.category for product in catalog.products}
    if generated:
        categories.update(catalog.categories)
    return (
        f"{listed + generated:,} ({listed:,} listed, {generated:,} generated) "
        f"in {len(categories)} categories"
    )


def _event(event: CalendarEvent, number: int, windows: list[Window], scenario: Scenario) -> str:
    start, end = to_micros(scenario.start_utc), to_micros(scenario.end_utc)
    inside = [
        window.first_day
        for window in windows
        if window.index == number and window.start < end and window.end > start
    ]
    when = ", ".join(str(day) for day in inside) or "not in the window"
    effects = [f"traffic x{event.traffic_multiplier:g}"]
    if event.days != 1:
        effects.append(f"{event.days:g} days")
    if event.price_change_percent is not None:
        effects.append(f"prices {event.price_change_percent:+g}%")
    if event.behaviour.funnel:
        effects.append("own funnel")
    return f"{event.name}: {when} ({', '.join(effects)})"
