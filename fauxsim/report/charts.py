"""Charts as inline SVG, drawn by matplotlib: no JavaScript, nothing fetched, opens offline.

Figures are made without pyplot (no global state, no GUI backend); each function returns
the ``<svg>`` element to put in the page.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import matplotlib as mpl
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from matplotlib.axes import Axes

CONFIGURED = "#9aa5b1"
MEASURED = "#1f6feb"
SHADE = "#f2b134"
_FEW_LABELS = 6  # more labels than this are slanted, so they do not overlap


def _figure(height: float = 3.0) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(10, height), layout="constrained")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    return figure, axes


def _dates(axes: Axes) -> None:
    """Date ticks that do not overlap: 1 Nov, 8 Nov, ... with the year once."""
    # matplotlib.dates leaves these constructors unannotated.
    locator = AutoDateLocator(maxticks=12)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    # Read when saving, so set here; matplotlib's global settings are left alone.
    with mpl.rc_context(
        {
            "svg.fonttype": "none",  # text stays text: small files, selectable labels
            "svg.hashsalt": "fauxsim",  # the same data draws the same bytes
        }
    ):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Drop the XML prologue and the RDF metadata block (it names matplotlib's web site).
    text = text[text.index("<svg") :]
    start, end = text.find("<metadata>"), text.find("</metadata>")
    return text[:start] + text[end + len("</metadata>") :] if start >= 0 else text


def timeline(
    moments: Sequence[dt.datetime],
    observed: Sequence[float],
    expected: Sequence[float],
    shaded: Sequence[tuple[dt.datetime, dt.datetime, str]],
    ylabel: str,
) -> str:
    """Observed and configured values over time, with calendar events shaded."""
    figure, axes = _figure()
    if moments:  # only the events within the data (a live shop's scenario runs for years)
        first, last = moments[0], moments[-1]
        shaded = [event for event in shaded if event[1] > first and event[0] < last]
    for number, (start, end, name) in enumerate(shaded):
        axes.axvspan(start, end, color=SHADE, alpha=0.25, lw=0)  # type: ignore[arg-type]
        height = 1.0 - 0.07 * (number % 3)  # events close together: names on separate lines
        where = ("data", "axes fraction")
        axes.annotate(name, (start, height), xycoords=where, fontsize=8, va="top", ha="right")
    axes.plot(moments, observed, color=MEASURED, lw=0.8, label="measured")  # type: ignore[arg-type]
    axes.plot(moments, expected, color=CONFIGURED, lw=1.2, label="configured")  # type: ignore[arg-type]
    axes.set_ylabel(ylabel)
    axes.legend(loc="upper left", frameon=False)
    _dates(axes)
    return _svg(figure)


def compare(
    labels: Sequence[str],
    configured: Sequence[float],
    measured: Sequence[float],
    ylabel: str,
    *,
    lines: bool = False,
) -> str:
    """Configured against measured per label: side-by-side bars, or two curves."""
    figure, axes = _figure()
    positions = list(range(len(labels)))
    if lines:
        axes.plot(positions, configured, color=CONFIGURED, lw=2, marker="o", label="configured")
        axes.plot(positions, measured, color=MEASURED, lw=1.5, marker="o", label="measured")
    else:
        width = 0.4
        axes.bar(
            [p - width / 2 for p in positions],
            configured,
            width,
            color=CONFIGURED,
            label="configured",
        )
        axes.bar(
            [p + width / 2 for p in positions], measured, width, color=MEASURED, label="measured"
        )
    crowded = len(labels) > _FEW_LABELS
    axes.set_xticks(
        positions,
        labels,
        rotation=45 if crowded else 0,
        ha="right" if crowded else "center",
    )
    axes.set_ylabel(ylabel)
    axes.legend(frameon=False)
    return _svg(figure)


def daily(
    days: Sequence[dt.date], counts: Sequence[float], amounts: Sequence[float], currency: str
) -> str:
    """Orders per day (bars) and revenue per day (a line on its own axis)."""
    figure, axes = _figure()
    axes.bar(days, counts, color=CONFIGURED, label="orders")  # type: ignore[arg-type]
    axes.set_ylabel("orders")
    revenue = axes.twinx()
    revenue.plot(days, amounts, color=MEASURED, lw=1.5, label=f"revenue ({currency})")  # type: ignore[arg-type]
    revenue.set_ylabel(f"revenue ({currency})")
    revenue.spines[["top"]].set_visible(False)
    _dates(axes)
    figure.legend(loc="outside upper left", frameon=False, ncols=2)
    return _svg(figure)


def histogram(values: Sequence[float], xlabel: str, median_configured: float) -> str:
    """How a delay is spread, with the configured median marked."""
    figure, axes = _figure(2.6)
    axes.hist(values, bins=40, color=MEASURED, alpha=0.8)
    axes.axvline(median_configured, color="black", ls="--", lw=1, label="configured median")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("orders")
    axes.legend(frameon=False)
    return _svg(figure)


def shares(labels: Sequence[str], values: Sequence[float], xlabel: str) -> str:
    """Horizontal bars of shares (status shares)."""
    figure, axes = _figure(0.4 * len(labels) + 1)
    axes.barh(labels, values, color=MEASURED)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.grid(axis="x", alpha=0.3)
    return _svg(figure)
