"""Order and lifecycle checks: payment failures and methods, tax, carriers, and each step's
delay and chance after an order is placed.

A step can only be seen once its delay has had time to pass, so each lifecycle check reads
the orders whose previous step came at least the delay's 99.9th percentile before the end
of the data: what is measured is then not cut short by the end of the window.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.report.checks import Check, Unit, mix_checks
from fauxsim.report.stats import (
    SIGMAS,
    cdf,
    median,
    median_error,
    quantile,
    share_tolerance,
)
from fauxsim.report.working_checks import (
    Waits,
    configured_waits,
    in_hours_checks,
    longest_deferral_hours,
    median_check,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo

    from fauxsim.report.reading import Dataset
    from fauxsim.scenario.distributions import Distribution
    from fauxsim.scenario.model import Scenario, WorkingHours

_SETTLED = 0.999
_GRID = 200  # quantiles of the shipping delay, for the chance a cancellation comes first
_UNIT_SECONDS = {Unit.MINUTES: 60, Unit.HOURS: 3600, Unit.DAYS: 86400}


def order_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    orders = scenario.orders
    connection = dataset.connection
    row = connection.execute(
        "SELECT count(*) FILTER (event_type = 'payment_failed'), "
        "count(*) FILTER (event_type = 'order_placed') FROM events"
    ).fetchone()
    failed, placed = (int(row[0]), int(row[1])) if row else (0, 0)
    attempts = failed + placed
    p = orders.payment_failure_probability
    checks = [
        Check(
            "orders",
            "payment attempts that fail",
            p,
            failed / attempts if attempts else None,
            share_tolerance(p, attempts),
            attempts,
            note="payment_failed over payment_failed + order_placed",
        )
    ]
    methods = dict(
        connection.execute(
            "SELECT json_extract_string(properties, '$.method'), count(*) FROM events "
            "WHERE event_type = 'payment_info_added' GROUP BY ALL"
        ).fetchall()
    )
    checks += mix_checks(
        "orders", "payment method", orders.payment_methods, methods, sum(methods.values())
    )
    carriers = dict(
        connection.execute(
            "SELECT json_extract_string(properties, '$.carrier'), count(*) FROM events "
            "WHERE event_type = 'order_shipped' GROUP BY ALL"
        ).fetchall()
    )
    checks += mix_checks(
        "orders", "carrier", orders.lifecycle.carriers, carriers, sum(carriers.values())
    )
    coupons = dict(
        connection.execute(
            "SELECT coupon_code, count(*) FROM orders WHERE coupon_code IS NOT NULL GROUP BY ALL"
        ).fetchall()
    )
    weights = {coupon.code: coupon.weight for coupon in orders.coupons}
    checks += mix_checks("orders", "coupon", weights, coupons, sum(coupons.values()))
    checks.append(_shipping_check(scenario, dataset))
    row = connection.execute(
        "SELECT count(*), sum(tax_cents), sum(subtotal_cents - discount_cents) FROM orders"
    ).fetchone()
    count, tax, taxed = (int(row[0]), row[1] or 0, row[2] or 0) if row else (0, 0, 0)
    checks.append(
        Check(
            "orders",
            "tax rate",
            orders.tax_rate,
            float(tax) / float(taxed) if taxed else None,
            # Each order's tax is rounded to the cent: at most half a cent off per order.
            0.5 * count / float(taxed) + 1e-6 if taxed else 0.0,
            count,
            Unit.RATE,
            "tax over subtotal minus discount, all orders",
        )
    )
    return checks


def _shipping_check(scenario: Scenario, dataset: Dataset) -> Check:
    """Every order pays the flat fee, or nothing from ``free_over`` (after the discount) up."""
    shipping = scenario.orders.shipping
    fee = round(shipping.flat_fee * 100)
    free_from = None if shipping.free_over is None else round(shipping.free_over * 100)
    row = dataset.connection.execute(
        "SELECT count(*), count(*) FILTER (shipping_cents = CASE WHEN $free IS NOT NULL "
        "AND subtotal_cents - discount_cents >= $free THEN 0 ELSE $fee END) FROM orders",
        {"free": free_from, "fee": fee},
    ).fetchone()
    n, kept = (int(row[0]), int(row[1])) if row else (0, 0)
    note = f"flat_fee {shipping.flat_fee:g}, free from {shipping.free_over}"
    return Check(
        "orders",
        "orders whose shipping follows the rule",
        1.0,
        kept / n if n else None,
        share_tolerance(1.0, n),
        n,
        note=note,
    )


def lifecycle_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    life = scenario.orders.lifecycle
    end = dataset.end
    ship = _working_step(scenario, dataset, "paid_at", "shipped_at")
    deliver = _working_step(scenario, dataset, "shipped_at", "delivered_at")
    refund = _working_step(scenario, dataset, "returned_at", "refunded_at")
    cancelled_refund = _working_step(scenario, dataset, "cancelled_at", "refunded_at")
    checks = [
        _delay_check(dataset, "placed_at", "paid_at", life.pay_delay_minutes, Unit.MINUTES, end),
        # Cancellations take slightly more of the slow shipments; 3% covers it at 3% cancelled.
        ship.median_check(0.03, "(cancellations remove some slow shipments) allowance 3%"),
        *ship.in_hours_checks(),
        deliver.median_check(0.01, "allowance 1%"),
        *deliver.in_hours_checks(),
        _delay_check(
            dataset, "delivered_at", "returned_at", life.return_delay_days, Unit.DAYS, end
        ),
        refund.median_check(0.01, "allowance 1%"),
        *refund.in_hours_checks(),
        cancelled_refund.median_check(0.01, "allowance 1%"),
    ]
    # A cancellation request only cancels an order that has not shipped yet, and one asked
    # for after the end of the data is not seen: each order's chance counts the time it had.
    # When an order ships is its delay taken to the warehouse's hours (every paid order's).
    cancel = life.cancel_delay_hours
    every_paid = _starts(dataset, "paid_at", end)
    ship_waits = configured_waits(every_paid, life.ship_delay_hours, 1.0, life.ship_hours,
                                  scenario.zone)  # fmt: skip
    steps = [ship_waits.quantile((k + 0.5) / _GRID) for k in range(_GRID)]

    @functools.cache
    def seen_by(hours_left: float) -> float:
        return sum(cdf(cancel, min(shipped, hours_left)) for shipped in steps) / _GRID

    def cancelled_by(hours_left: float) -> float:
        # Past the slowest shipment every request that beats shipping is seen: one value.
        return life.cancel_probability * seen_by(min(hours_left, steps[-1]))

    before_shipping = seen_by(steps[-1])
    checks.append(
        _chance_check(
            dataset,
            "paid orders cancelled",
            ("paid_at", "cancelled_at"),
            cancelled_by,
            f"cancel_probability {life.cancel_probability:g} x {before_shipping:.3f} (the chance"
            " the request comes before shipping), less for orders paid near the end",
        )
    )

    def returned_by(hours_left: float) -> float:
        return life.return_probability * cdf(life.return_delay_days, hours_left / 24)

    checks.append(
        _chance_check(
            dataset,
            "delivered orders returned",
            ("delivered_at", "returned_at"),
            returned_by,
            f"return_probability {life.return_probability:g}, less for orders delivered too"
            " near the end for a return to show",
        )
    )
    return checks


@dataclass(frozen=True, slots=True)
class _WorkingStep:
    """A step done in working hours (shipping, delivery, a return's refund): the orders old
    enough for it to have shown, when their wait began and ended, and what the configuration
    means."""

    label: str  # "paid → shipped"
    done: str  # "shipped", "delivered", "refunded"
    key: str  # its hours in the scenario
    unit_hours: float
    hours: WorkingHours
    zone: ZoneInfo
    waits: Waits
    measured: list[float]  # in hours
    moments: list[dt.datetime]  # when the step happened

    def median_check(self, slack: float, note: str) -> Check:
        note = f"{self.label}: the delay, then the next {self.key}; {note}"
        return median_check(
            f"median {self.label}", self.waits, self.measured, self.unit_hours, slack, note
        )

    def in_hours_checks(self) -> list[Check]:
        return in_hours_checks(self.done, self.key, self.moments, self.waits, self.hours, self.zone)


# The steps done in working hours, by their end: (the delay, the hours it counts in),
# their hours' key. (A refund follows a return or a cancellation: the same delay and hours.)
_WORKING_STEPS = {
    "shipped_at": ("ship_delay_hours", 1.0, "ship_hours"),
    "delivered_at": ("deliver_delay_days", 24.0, "deliver_hours"),
    "refunded_at": ("refund_delay_days", 24.0, "refund_hours"),
}


def _working_step(scenario: Scenario, dataset: Dataset, since: str, until: str) -> _WorkingStep:
    life = scenario.orders.lifecycle
    delay_key, unit_hours, hours_key = _WORKING_STEPS[until]
    delay, hours = getattr(life, delay_key), getattr(life, hours_key)
    wait = quantile(delay, _SETTLED) * unit_hours + longest_deferral_hours(hours)
    settled = dataset.end - dt.timedelta(hours=wait)
    rows = dataset.connection.execute(
        f"SELECT {since}, {until} FROM orders "  # noqa: S608 - fixed names
        f"WHERE {since} IS NOT NULL AND {since} < $settled ORDER BY {since}",
        {"settled": settled},
    ).fetchall()
    done = [(start, end) for start, end in rows if end is not None]
    return _WorkingStep(
        label=f"{since.removesuffix('_at')} → {until.removesuffix('_at')}",
        done=until.removesuffix("_at"),
        key=hours_key,
        unit_hours=unit_hours,
        hours=hours,
        zone=scenario.zone,
        waits=configured_waits(
            [start for start, _ in rows], delay, unit_hours, hours, scenario.zone
        ),
        measured=[(end - start) / dt.timedelta(hours=1) for start, end in done],
        moments=[end for _, end in done],
    )


def _starts(dataset: Dataset, column: str, end: dt.datetime) -> list[dt.datetime]:
    rows = dataset.connection.execute(
        f"SELECT {column} FROM orders WHERE {column} IS NOT NULL AND {column} < $end "  # noqa: S608 - fixed names
        f"ORDER BY {column}",
        {"end": end},
    ).fetchall()
    return [row[0] for row in rows]


def _settled_by(end: dt.datetime, delay: Distribution, unit: Unit) -> dt.datetime:
    seconds = quantile(delay, _SETTLED) * _UNIT_SECONDS[unit]
    return end - dt.timedelta(seconds=seconds)


def _delay_check(
    dataset: Dataset,
    since: str,
    until: str,
    delay: Distribution,
    unit: Unit,
    end: dt.datetime,
    relative_slack: float = 0.01,
    note: str = "",
) -> Check:
    settled = _settled_by(end, delay, unit)
    rows = dataset.connection.execute(
        f"SELECT epoch({until}) - epoch({since}) FROM orders "  # noqa: S608 - fixed names
        f"WHERE {until} IS NOT NULL AND {since} < $settled",
        {"settled": settled},
    ).fetchall()
    delays = [float(row[0]) / _UNIT_SECONDS[unit] for row in rows]
    configured = median(delay)
    name = f"median {since.removesuffix('_at')} → {until.removesuffix('_at')}"
    tolerance = SIGMAS * median_error(delay, len(delays)) + relative_slack * configured
    measured = statistics.median(delays) if delays else None
    return Check("lifecycle", name, configured, measured, tolerance, len(delays), unit, note)


def _chance_check(
    dataset: Dataset,
    name: str,
    columns: tuple[str, str],
    chance_by: Callable[[float], float],
    note: str,
) -> Check:
    """The share of orders where ``happened`` is set, among those where ``since`` is.

    Configured is the mean of each order's chance of showing the step by the end of the
    data, given the hours it had (``chance_by``); the variance is the sum of theirs.
    """
    since, happened = columns
    rows = dataset.connection.execute(
        f"SELECT (epoch($end) - epoch({since})) // 3600 AS hours, count(*), count({happened}) "  # noqa: S608 - fixed names
        f"FROM orders WHERE {since} IS NOT NULL GROUP BY hours",
        {"end": dataset.end},
    ).fetchall()
    n = sum(int(count) for _, count, _ in rows)
    if n == 0:
        return Check("lifecycle", name, chance_by(float("inf")), None, 0.0, 0, note=note)
    chances = [(chance_by(float(hours) + 0.5), int(count)) for hours, count, _ in rows]
    expected = sum(q * count for q, count in chances) / n
    variance = sum(q * (1 - q) * count for q, count in chances) / n / n
    measured = sum(int(hits) for _, _, hits in rows) / n
    tolerance = SIGMAS * math.sqrt(variance) + share_tolerance(0.0, n)
    return Check("lifecycle", name, expected, measured, tolerance, n, note=note)
