"""Funnel and coupon checks, per behaviour a session had: the base funnel, or the base with
the overrides of its segments and of the calendar events active when it started.

A page's moves are measured on the sessions whose behaviour gives that page the same
transitions, and labelled by what set them ("base", "segment 1 (device mobile)", "Black
Friday"), so a planted change to one override fails that override's rows only.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.report.checks import Check, Unit
from fauxsim.report.stats import SIGMAS, median, median_error, share_tolerance
from fauxsim.scenario.model import BehaviourOverride, PageState, merge_funnel

if TYPE_CHECKING:
    from fauxsim.report.reading import Dataset
    from fauxsim.scenario.model import Scenario

# Each visit to a page and where the visitor went next, from page_viewed events in
# sequence. A payment page followed by an attempt to pay (payment_failed or order_placed)
# is a move to confirmation, as the engine draws it: the confirmation page shows only once a
# payment succeeds. A saved cart opened right after the first page is not a funnel move.
_MOVES = """
WITH added AS (
    SELECT session_id, sequence, event_type,
        count(*) FILTER (event_type = 'added_to_cart') OVER (
            PARTITION BY session_id ORDER BY sequence ROWS UNBOUNDED PRECEDING) > 0 AS basket,
        CASE
            WHEN event_type <> 'page_viewed' THEN 'submit'
            WHEN json_extract_string(properties, '$.recovered_cart') = 'true' THEN 'recovered'
            ELSE page
        END AS step
    FROM events
    WHERE event_type IN ('page_viewed', 'payment_failed', 'order_placed', 'added_to_cart')
        AND session_id IS NOT NULL
), steps AS (
    SELECT session_id, sequence, step, basket FROM added WHERE event_type <> 'added_to_cart'
), marked AS (
    SELECT session_id, sequence, basket,
        CASE WHEN step <> 'submit' THEN step
             WHEN lag(step) OVER (PARTITION BY session_id ORDER BY sequence) = 'payment'
             THEN 'confirmation' END AS step
    FROM steps
), walk AS (
    SELECT session_id, step AS here, basket,
        coalesce(lead(step) OVER (PARTITION BY session_id ORDER BY sequence), 'exit') AS there
    FROM marked WHERE step IS NOT NULL
), kinds AS (
    SELECT s.session_id, s.device, s.channel, s.is_returning,
        json_extract_string(e.properties, '$.calendar_events') AS calendar_events
    FROM sessions s JOIN events e ON e.session_id = s.session_id
        AND e.event_type = 'session_started'
    WHERE s.ended_at IS NOT NULL
)
SELECT device, channel, is_returning, calendar_events, here, basket, there, count(*)
FROM walk JOIN kinds USING (session_id)
WHERE here NOT IN ('recovered', 'confirmation') AND there <> 'recovered'
GROUP BY ALL
"""

_COUPONS = """
SELECT s.device, s.channel, s.is_returning,
    json_extract_string(e.properties, '$.calendar_events') AS calendar_events,
    count(*), count(o.coupon_code)
FROM orders o JOIN sessions s USING (session_id)
    JOIN events e ON e.session_id = s.session_id AND e.event_type = 'session_started'
GROUP BY ALL
"""


@dataclass(frozen=True, slots=True)
class Override:
    label: str
    behaviour: BehaviourOverride


class Behaviours:
    """The overrides that apply to a kind of session, as the scenario defines them."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario

    def overrides(
        self, device: str | None, channel: str | None, returning: bool, events: str | None
    ) -> list[Override]:
        scenario = self._scenario
        visitor = "returning" if returning else "new"
        found = [
            Override(
                _segment_label(number, rule.device, rule.channel, rule.visitor), rule.behaviour
            )
            for number, rule in enumerate(scenario.behaviour.segments)
            if (rule.device is None or rule.device == device)
            and (rule.channel is None or rule.channel == channel)
            and (rule.visitor is None or rule.visitor == visitor)
        ]
        names = set(json.loads(events)) if events else set()
        found += [
            Override(event.name, event.behaviour)
            for event in scenario.traffic.calendar
            if event.name in names
        ]
        return found


def _segment_label(
    number: int, device: str | None, channel: str | None, visitor: str | None
) -> str:
    conditions = [
        f"{key} {value}"
        for key, value in (("device", device), ("channel", channel), ("visitor", visitor))
        if value is not None
    ]
    return f"segment {number} ({', '.join(conditions)})"


def behaviour_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    return [
        *account_checks(scenario, dataset),
        recovered_cart_check(scenario, dataset),
        *funnel_checks(scenario, dataset),
        *dwell_checks(scenario, dataset),
        *coupon_checks(scenario, dataset),
    ]


# Seconds from each page view to the next page view (or attempt to pay) in its session:
# the time spent on the page.
_DWELL = """
SELECT page, median(seconds), count(*) FROM (
    SELECT page, event_type,
        epoch(lead(occurred_at) OVER (PARTITION BY session_id ORDER BY sequence))
            - epoch(occurred_at) AS seconds
    FROM events
    WHERE event_type IN ('page_viewed', 'payment_failed', 'order_placed')
        AND session_id IS NOT NULL
)
WHERE event_type = 'page_viewed' AND seconds IS NOT NULL
GROUP BY page
"""


def dwell_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    """The median time on each page a visitor leaves for another, against dwell_seconds."""
    found = {
        str(page): (float(seconds), int(n))
        for page, seconds, n in dataset.connection.execute(_DWELL).fetchall()
    }
    checks = []
    for page, distribution in scenario.behaviour.dwell_seconds.items():
        if page is PageState.CONFIRMATION:  # always a visit's last page: its time never shows
            continue
        measured, n = found.get(page.value, (None, 0))
        configured = median(distribution)
        tolerance = SIGMAS * median_error(distribution, n) + 0.01 * configured
        name = f"median seconds on {page.value}"
        checks.append(Check("behaviour", name, configured, measured, tolerance, n, Unit.SECONDS))
    return checks


# Per finished session: whether its visitor had an account when it began, and whether it
# logged in on arriving (on its first page: any log-in but at checkout) or signed up while
# browsing.
_ACCOUNTS = """
SELECT
    count(*) FILTER (known),
    count(*) FILTER (known AND logged_in),
    count(*) FILTER (NOT known),
    count(*) FILTER (NOT known AND signed_up)
FROM (
    SELECT
        EXISTS (SELECT 1 FROM customers c
                WHERE c.visitor_id = s.visitor_id AND c.created_at < s.started_at) AS known,
        EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.session_id
                AND e.event_type = 'logged_in' AND e.page <> 'checkout') AS logged_in,
        EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.session_id
                AND e.event_type = 'signed_up'
                AND json_extract_string(e.properties, '$.source') = 'browse') AS signed_up
    FROM sessions s WHERE s.ended_at IS NOT NULL
)
"""


# Returning visits by a visitor whose cart, made before, was not yet an order when the
# visit began; and whether the visit opened it right after its first page.
_SAVED_CARTS = """
SELECT count(*), count(*) FILTER (recovered) FROM (
    SELECT
        EXISTS (SELECT 1 FROM carts k LEFT JOIN orders o ON o.order_id = k.order_id
                WHERE k.visitor_id = s.visitor_id AND k.created_at < s.started_at
                AND (o.placed_at IS NULL OR o.placed_at > s.started_at)) AS saved,
        EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.session_id
                AND e.event_type = 'page_viewed'
                AND json_extract_string(e.properties, '$.recovered_cart') = 'true') AS recovered
    FROM sessions s WHERE s.is_returning AND s.ended_at IS NOT NULL
) WHERE saved
"""


def recovered_cart_check(scenario: Scenario, dataset: Dataset) -> Check:
    probability = scenario.behaviour.cart.recover_probability
    row = dataset.connection.execute(_SAVED_CARTS).fetchone()
    n, recovered = (int(row[0]), int(row[1])) if row else (0, 0)
    return Check(
        "behaviour",
        "returning visitors who open their saved cart",
        probability,
        recovered / n if n else None,
        share_tolerance(probability, n),
        n,
        note="returning sessions of visitors with a cart not yet ordered",
    )


def account_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    """Log-ins on arriving by visitors with an account, sign-ups while browsing by the rest."""
    accounts = scenario.behaviour.accounts
    row = dataset.connection.execute(_ACCOUNTS).fetchone()
    known, logged_in, anonymous, signed_up = (int(value) for value in row) if row else (0,) * 4
    return [
        Check(
            "behaviour",
            "customers who log in on arriving",
            accounts.login_probability,
            logged_in / known if known else None,
            share_tolerance(accounts.login_probability, known),
            known,
            note="sessions of visitors with an account when the session began",
        ),
        Check(
            "behaviour",
            "anonymous visitors who sign up while browsing",
            accounts.early_signup_probability,
            signed_up / anonymous if anonymous else None,
            share_tolerance(accounts.early_signup_probability, anonymous),
            anonymous,
            note="sessions of visitors without an account when the session began",
        ),
    ]


def funnel_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    behaviours = Behaviours(scenario)
    visits: Counter[tuple[str, str]] = Counter()
    moves: Counter[tuple[str, str, str]] = Counter()
    rows: dict[tuple[str, str], dict[PageState, float]] = {}
    basket_factor = scenario.behaviour.cart.basket_factor
    for row in dataset.connection.execute(_MOVES).fetchall():
        device, channel, returning, events, here, basket, there, count = row
        page = PageState(here)
        overrides = [
            override
            for override in behaviours.overrides(device, channel, returning, events)
            if page in override.behaviour.funnel
        ]
        funnel = scenario.behaviour.funnel
        for override in overrides:
            funnel = merge_funnel(funnel, override.behaviour.funnel)
        label = " + ".join(override.label for override in overrides) or "base"
        targets = funnel.get(page, {})
        if page is PageState.PRODUCT and basket and basket_factor != 1:
            # Once a visit has added to its cart, it adds more readily (cart.basket_factor).
            label += f", after an add to cart (x{basket_factor:g})"
            targets = _with_basket(targets, basket_factor)
        rows[label, here] = targets
        visits[label, here] += count
        moves[label, here, there] += count
    checks: list[Check] = []
    for page in PageState:
        labels = sorted((label for label, here in rows if here == page.value), key=_base_first)
        for label in labels:
            here = page.value
            configured = {target.value: p for target, p in rows[label, here].items()}
            configured["exit"] = max(0.0, 1 - sum(configured.values()))
            seen = [there for (lab, src, there) in moves if (lab, src) == (label, here)]
            n = visits[label, here]
            for there in [*configured, *sorted(set(seen) - set(configured))]:
                p = configured.get(there, 0.0)
                measured = moves[label, here, there] / n
                name = f"{here} → {there} ({label})"
                checks.append(Check("funnel", name, p, measured, share_tolerance(p, n), n))
    return checks


def _with_basket(targets: dict[PageState, float], factor: float) -> dict[PageState, float]:
    """A product page's moves once the visit has added to its cart: the cart's chance
    times ``factor``, at most what the other moves leave."""
    cart = targets.get(PageState.CART, 0.0)
    room = 1.0 - (sum(targets.values()) - cart)
    return {**targets, PageState.CART: min(room, cart * factor)}


def _base_first(label: str) -> tuple[bool, str]:
    return (label != "base", label)


def coupon_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    """The share of orders with a coupon, per coupon probability in force."""
    behaviours = Behaviours(scenario)
    orders: Counter[str] = Counter()
    with_coupon: Counter[str] = Counter()
    configured: dict[str, float] = defaultdict(float)
    for device, channel, returning, events, count, coupons in dataset.connection.execute(
        _COUPONS
    ).fetchall():
        probability, label = scenario.orders.coupon_probability, "base"
        for override in behaviours.overrides(device, channel, returning, events):
            if override.behaviour.coupon_probability is not None:
                probability, label = override.behaviour.coupon_probability, override.label
        configured[label] = probability
        orders[label] += count
        with_coupon[label] += coupons
    if not orders:
        p = scenario.orders.coupon_probability
        return [Check("orders", "coupon share of orders (base)", p, None, 0.0, 0)]
    return [
        Check(
            "orders",
            f"coupon share of orders ({label})",
            configured[label],
            with_coupon[label] / orders[label],
            share_tolerance(configured[label], orders[label]),
            orders[label],
        )
        for label in sorted(orders, key=_base_first)
    ]
