"""The scenario: everything that shapes the generated data, validated at the boundary.

A scenario file is YAML that maps onto :class:`Scenario`. Every field has a sensible
default, so a ten-line file runs; every model is frozen and forbids unknown keys, so a
typo is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
import difflib
import zoneinfo
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from fauxsim.scenario.distributions import Distribution, Exponential, LogNormal
from fauxsim.scenario.rules import Loc, Violation, rule_error

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Weight = Annotated[float, Field(ge=0.0)]


def _not_a_number(value: object) -> object:
    # Pydantic reads a number as seconds since 1970, so `start: 2024` would silently
    # mean 1970-01-01T00:33:44; a bare number is always a mistake in a scenario.
    if isinstance(value, int | float):
        msg = "a date is written like 2025-01-01 (or 2025-01-01T09:00); a number is not a date"
        raise ValueError(msg)  # noqa: TRY004 - pydantic reports ValueError, not TypeError
    return value


def _some_weight_above_zero(weights: dict[str, float]) -> dict[str, float]:
    # Weights are relative, so all zero leaves nothing to draw (the engine would fail).
    if not any(weights.values()):
        msg = "at least one weight must be above 0"
        raise ValueError(msg)
    return weights


def _has_offset(moment: dt.datetime | dt.date) -> bool:
    """Whether ``moment`` says its own UTC offset (else it is in the scenario's timezone)."""
    return isinstance(moment, dt.datetime) and moment.tzinfo is not None


def _wall_clock(moment: dt.datetime | dt.date) -> dt.datetime:
    """A naive local datetime (dates at midnight), so that dates and datetimes compare."""
    if isinstance(moment, dt.datetime):
        return moment.replace(tzinfo=None)
    return dt.datetime.combine(moment, dt.time())


class Model(BaseModel):
    """Base of every scenario model: immutable, strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class PageState(StrEnum):
    """The pages a visitor moves between. Leaving the funnel (exit) is implicit."""

    LANDING = "landing"
    CATEGORY = "category"
    SEARCH = "search"
    PRODUCT = "product"
    CART = "cart"
    CHECKOUT = "checkout"
    PAYMENT = "payment"
    CONFIRMATION = "confirmation"


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


# --------------------------------------------------------------------------- catalog


class Product(Model):
    """A product listed explicitly in the scenario."""

    name: str = Field(min_length=1, description="The product's name, e.g. Wool Scarf.")
    category: str = Field(min_length=1, description="Its category, e.g. apparel.")
    price: float = Field(
        gt=0,
        description=(
            "Unit price in the scenario's currency, e.g. 24.90 (stored in its minor units:"
            " 2490 cents; in JPY, 880 yen stays 880)."
        ),
    )
    popularity: Weight = Field(
        default=1.0,
        description="Relative chance of being picked: 2 is twice as likely as 1; 0 almost never.",
    )
    sku: str | None = Field(
        default=None, description="Stock-keeping unit, e.g. SCARF-01; SKU-00001 style if omitted."
    )


class GeneratedProducts(Model):
    """Products invented from word pools, with seeded prices and popularity."""

    count: int = Field(
        default=120,
        ge=0,
        le=1_000_000,
        description="How many products to invent, e.g. 120; 0 for listed products only.",
    )
    price: Distribution = Field(
        default=LogNormal(median=30.0, sigma=0.7, max=2000.0),
        description=(
            "Unit prices in the scenario's currency, e.g. {type: lognormal, median: 30,"
            " sigma: 0.7, max: 2000}."
        ),
    )
    popularity_skew: float = Field(
        default=1.0,
        ge=0,
        le=4,
        description=(
            "Zipf exponent of popularity: 0 = all equal, 1 = a few best-sellers (e.g. 1.2)."
        ),
    )


class PriceChange(Model):
    """A price change from ``at`` (until ``until``, if given) for a product or category."""

    at: dt.datetime | dt.date = Field(
        description="When the new price starts, local time: e.g. 2025-03-01 or 2025-03-01T09:00."
    )
    until: dt.datetime | dt.date | None = Field(
        default=None, description="When it ends (exclusive), e.g. 2025-03-08; for good if omitted."
    )
    percent: float = Field(
        gt=-100, le=1000, description="Change in percent: -20 is 20% cheaper, 10 is 10% dearer."
    )
    category: str | None = Field(
        default=None, description="Only this category, e.g. apparel; all if omitted."
    )
    sku: str | None = Field(default=None, description="Only this product, e.g. SKU-00007.")

    _dates_not_numbers = field_validator("at", "until", mode="before")(_not_a_number)

    @model_validator(mode="after")
    def _until_after_at(self) -> Self:
        if self.until is not None and _wall_clock(self.until) <= _wall_clock(self.at):
            raise rule_error([Violation(("until",), f"must be after `at`, {self.at}")])
        return self


class Catalog(Model):
    categories: list[str] = Field(
        default_factory=lambda: ["apparel", "home", "electronics", "beauty", "toys"],
        description="Category names for generated products, e.g. [apparel, home, toys].",
    )
    products: list[Product] = Field(
        default_factory=list,
        description=(
            "Products listed by hand, e.g. [{name: Wool Scarf, category: apparel, price: 24.9}]."
        ),
    )
    generate: GeneratedProducts = Field(
        default=GeneratedProducts(),
        description="Products invented beside the listed ones: how many, prices, popularity.",
    )
    price_changes: list[PriceChange] = Field(
        default_factory=list,
        description="Price changes by date for a product, a category or all, e.g. a sale.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.products and self.generate.count == 0:
            msg = "the catalog is empty: list products or set generate.count above 0"
            raise ValueError(msg)
        if self.generate.count and not self.categories:
            message = "generated products need at least one category"
            raise rule_error([Violation(("categories",), message)])
        return self


# --------------------------------------------------------------------------- traffic


class RecurringDate(Model):
    """A day each year: a fixed date (October 1) or the nth weekday of a month.

    Give ``day`` for a fixed date, or ``weekday`` and ``nth`` for a rule such as the
    fourth Thursday of November. February 29 is a day of leap years only: an event on
    it happens every four years (mostly) and not at all in the other years.
    """

    month: int = Field(ge=1, le=12, description="Month of the year, 1 = January, e.g. 11.")
    # Unset keys are left out of dumps, so that the digest of a scenario written before
    # fixed dates existed (weekday and nth, no day) did not change when they came.
    day: int | None = Field(
        default=None,
        ge=1,
        le=31,
        description="Day of the month for a fixed date each year, e.g. 1 (with month: 10).",
        exclude_if=lambda value: value is None,
    )
    weekday: Weekday | None = Field(
        default=None,
        description="With nth: the weekday, e.g. thursday (the fourth Thursday: nth 4).",
        exclude_if=lambda value: value is None,
    )
    nth: int | None = Field(
        default=None,
        ge=-1,
        le=5,
        description="With weekday: which one in the month, 1 = first, 4 = fourth, -1 = last.",
        exclude_if=lambda value: value is None,
    )
    offset_days: int = Field(
        default=0,
        ge=-31,
        le=31,
        description="Days after that day (negative: before), e.g. 1 for the day after.",
    )

    @field_validator("nth")
    @classmethod
    def _not_zero(cls, value: int | None) -> int | None:
        if value == 0:
            msg = "nth counts from 1 (or -1 for the last); 0 is not a position"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _a_date_or_a_rule(self) -> Self:
        violations = self._rule_violations() if self.day is None else self._date_violations()
        if violations:
            raise rule_error(violations)
        return self

    def _date_violations(self) -> list[Violation]:
        assert self.day is not None  # noqa: S101 - called for a fixed date only
        if self.weekday is not None or self.nth is not None:
            given = "weekday" if self.weekday is not None else "nth"
            message = (
                f"`{given}` belongs to a weekday rule (such as the fourth Thursday), not to a"
                f" fixed `day`; keep `day` or `{given}`"
            )
            return [Violation((given,), message)]
        # 2000 is a leap year: February may have its 29th (leap years only, see above).
        last = stdlib_calendar.monthrange(2000, self.month)[1]
        if self.day > last:
            month = stdlib_calendar.month_name[self.month]
            leap = "; an event on February 29 happens in leap years only" if last == 29 else ""  # noqa: PLR2004
            return [Violation(("day",), f"must be at most {last} in {month}{leap}")]
        return []

    def _rule_violations(self) -> list[Violation]:
        if self.weekday is None and self.nth is None:
            message = (
                "give `day` for a fixed date (month: 10, day: 1 is October 1) or `weekday`"
                " and `nth` for a weekday (month: 11, weekday: thursday, nth: 4)"
            )
            return [Violation((), message)]
        if self.nth is None:
            message = "required with `weekday`: 1 = first, 4 = fourth, -1 = last"
            return [Violation(("nth",), message)]
        if self.weekday is None:
            allowed = ", ".join(Weekday)
            return [Violation(("weekday",), "required with `nth`", allowed=allowed)]
        return []


class BehaviourOverride(Model):
    """Changes to behaviour for a segment or a calendar event; unset fields keep the base."""

    funnel: dict[PageState, dict[PageState, Probability]] = Field(
        default_factory=dict,
        description=(
            "Transition probabilities merged page by page into behaviour.funnel; only those"
            " named change, e.g. {cart: {checkout: 0.6}}."
        ),
    )
    add_to_cart_quantity: Distribution | None = Field(
        default=None,
        description="Units added to the cart at once, e.g. {type: uniform, low: 1, high: 3}.",
    )
    coupon_probability: Probability | None = Field(
        default=None, description="Chance an order uses a coupon (0 to 1), e.g. 0.2."
    )


class CalendarEvent(Model):
    """A named stretch of days (Black Friday, a flash sale) that shifts traffic and behaviour."""

    name: str = Field(
        min_length=1, description="Written on sessions started during it, e.g. Black Friday."
    )
    date: dt.date | None = Field(
        default=None, description="Its first day, once, local time: e.g. 2025-06-15."
    )
    every_year: RecurringDate | None = Field(
        default=None,
        description=(
            "Its first day each year: {month: 10, day: 1} or {month: 11, weekday: thursday,"
            " nth: 4}."
        ),
    )
    days: float = Field(
        default=1.0, gt=0, le=366, description="How long it lasts, in days, e.g. 1 or 0.5."
    )
    traffic_multiplier: float = Field(
        default=1.0, ge=0, le=100, description="Traffic during it, times normal, e.g. 4."
    )
    ramp_up_hours: float = Field(
        default=0.0,
        ge=0,
        le=24 * 14,
        description="Hours before it over which traffic rises to the multiplier, e.g. 18.",
    )
    ramp_down_hours: float = Field(
        default=0.0,
        ge=0,
        le=24 * 14,
        description="Hours after it over which traffic falls back to normal, e.g. 36.",
    )
    price_change_percent: float | None = Field(
        default=None,
        gt=-100,
        le=1000,
        description="Every price changes by this percent during it, e.g. -20 (20% off).",
    )
    behaviour: BehaviourOverride = Field(
        default=BehaviourOverride(),
        description="Behaviour during it: funnel changes, quantities, coupon chance.",
    )

    @model_validator(mode="after")
    def _one_date(self) -> Self:
        if (self.date is None) == (self.every_year is None):
            msg = "give exactly one of `date` (a fixed day) or `every_year` (a recurring day)"
            raise ValueError(msg)
        return self


def _default_hourly() -> list[float]:
    # A typical retail day in local time: quiet nights, a lunch bump, an evening peak.
    return [
        0.6, 0.4, 0.3, 0.25, 0.25, 0.35, 0.6, 1.0, 1.4, 1.6, 1.7, 1.8,
        1.9, 1.8, 1.7, 1.6, 1.6, 1.7, 1.9, 2.1, 2.2, 1.9, 1.4, 0.9,
    ]  # fmt: skip


class Traffic(Model):
    sessions_per_day: float = Field(
        default=2000.0,
        gt=0,
        le=50_000_000,
        description=(
            "Average sessions (visits) a day at the start, before weekday, growth, noise and"
            " calendar events, e.g. 2000."
        ),
    )
    hourly_weights: list[Weight] = Field(
        default_factory=_default_hourly,
        min_length=24,
        max_length=24,
        description="Relative traffic per local hour 0..23: 24 weights, e.g. 2 = twice 1.",
    )
    weekday_weights: list[Weight] = Field(
        default_factory=lambda: [1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 0.95],
        min_length=7,
        max_length=7,
        description="Relative traffic Monday..Sunday: 7 weights, e.g. [1, 1, 1, 1, 1.1, 1.2, 0.9].",
    )
    growth_per_year: float = Field(
        default=0.0,
        ge=-0.99,
        le=100,
        description="Traffic growth per year, as a fraction: 0.3 = 30% more a year, -0.1 = less.",
    )
    daily_noise: float = Field(
        default=0.08,
        ge=0,
        le=2,
        description=(
            "Day-to-day variation: sigma of a lognormal factor with mean 1, e.g. 0.1; 0 for none."
        ),
    )
    calendar: list[CalendarEvent] = Field(
        default_factory=list,
        description="Named stretches of days that shift traffic and behaviour, e.g. Black Friday.",
    )

    @field_validator("hourly_weights", "weekday_weights")
    @classmethod
    def _some_weight(cls, weights: list[float]) -> list[float]:
        if not any(weights):
            msg = "at least one weight must be above 0"
            raise ValueError(msg)
        return weights


# --------------------------------------------------------------------------- audience


class Channel(Model):
    weight: Weight = Field(description="Relative share of sessions from it, e.g. 0.38.")
    utm_source: str | None = Field(
        default=None, description="utm_source on its sessions, e.g. google; none if omitted."
    )
    utm_medium: str | None = Field(
        default=None, description="utm_medium on its sessions, e.g. cpc; none if omitted."
    )
    utm_campaign: str | None = Field(
        default=None, description="utm_campaign on its sessions, e.g. brand; none if omitted."
    )
    entry_pages: dict[PageState, Weight] | None = Field(
        default=None,
        description=(
            "Pages its sessions start on, with relative weights, e.g. {product: 0.6,"
            " category: 0.25, landing: 0.15}: one of landing, category, search, product."
            " Every session starts on landing if omitted."
        ),
    )

    @field_validator("entry_pages")
    @classmethod
    def _possible_entry_pages(
        cls, pages: dict[PageState, float] | None
    ) -> dict[PageState, float] | None:
        if pages is None:
            return None
        wrong = [page.value for page in pages if page not in ENTRY_PAGES]
        if wrong:
            allowed = ", ".join(page.value for page in ENTRY_PAGES)
            msg = f"a session cannot start on {', '.join(wrong)}: entry pages are {allowed}"
            raise ValueError(msg)
        if not any(pages.values()):
            msg = "at least one entry page must have a weight above 0"
            raise ValueError(msg)
        return pages

    @model_serializer(mode="wrap")
    def _without_unset_entry_pages(self, handler: SerializerFunctionWrapHandler) -> Any:  # noqa: ANN401 - pydantic's
        """No ``entry_pages`` key where none are given: a scenario written before them keeps
        its digest (``scenario_digest``), as it keeps its data."""
        dumped = handler(self)
        if self.entry_pages is None and isinstance(dumped, dict):
            dumped.pop("entry_pages", None)
        return dumped

    def entry_weights(self) -> dict[PageState, float]:
        """The entry pages with their weights (landing alone where none are given)."""
        return dict(self.entry_pages) if self.entry_pages else {PageState.LANDING: 1.0}


# Where a session may start: the cart and what follows it need a visit before them.
ENTRY_PAGES = (PageState.LANDING, PageState.CATEGORY, PageState.SEARCH, PageState.PRODUCT)


def _entries(**weights: float) -> dict[PageState, float]:
    return {PageState(page): weight for page, weight in weights.items()}


def _default_channels() -> dict[str, Channel]:
    # Entry pages by kind of channel: search engines and ads send visitors to products and
    # categories, newsletters to what they feature, typed-in visits to the home page.
    return {
        "organic": Channel(
            weight=0.38, utm_source="google", utm_medium="organic",
            entry_pages=_entries(product=0.45, category=0.3, landing=0.2, search=0.05),
        ),
        "paid_search": Channel(
            weight=0.22, utm_source="google", utm_medium="cpc", utm_campaign="brand",
            entry_pages=_entries(product=0.6, category=0.25, landing=0.15),
        ),
        "email": Channel(
            weight=0.12, utm_source="newsletter", utm_medium="email", utm_campaign="weekly",
            entry_pages=_entries(product=0.4, category=0.2, landing=0.4),
        ),
        "social": Channel(
            weight=0.1, utm_source="instagram", utm_medium="social",
            entry_pages=_entries(product=0.55, landing=0.3, category=0.15),
        ),
        "direct": Channel(
            weight=0.18, entry_pages=_entries(landing=0.8, category=0.1, search=0.1)
        ),
    }  # fmt: skip


class Audience(Model):
    existing_customers: int = Field(
        default=500,
        ge=0,
        le=10_000_000,
        description=(
            "Customers who signed up before the start: their signed_up events (source "
            "'import') are dated over the year before it, in the shop's busy hours."
        ),
    )
    existing_orders_per_year: float = Field(
        default=2.0,
        ge=0,
        le=100,
        description=(
            "Orders an existing customer placed per year of account age before the start,"
            " on average (their history: signed_up's orders_before and spent_before_cents,"
            " counted in customers.orders_count and total_spent_cents), e.g. 2; 0: none."
        ),
    )
    returning_share: Probability = Field(
        default=0.3,
        description="Share of sessions by visitors who came before (0 to 1), e.g. 0.3.",
    )
    customer_return_share: Probability = Field(
        default=0.45,
        description=(
            "Share of the returning visits that go to a customer (a visitor with an"
            " account) while one is due back, the rest to anonymous visitors (each falls"
            " back on the other): customers come back, and buy again, more than their"
            " numbers, e.g. 0.45."
        ),
    )
    return_gap_days: Distribution = Field(
        default=LogNormal(median=6.0, sigma=1.0, max=120.0),
        description=(
            "Days from a visit's end to the same visitor's next visit, drawn when they come"
            " back, e.g. {type: lognormal, median: 6, sigma: 1, max: 120}."
        ),
    )
    channels: dict[str, Channel] = Field(
        default_factory=_default_channels,
        min_length=1,
        description=(
            "Where sessions come from, by name (written on sessions.channel), with weights and"
            " UTM fields, e.g. {organic: {weight: 0.4, utm_source: google}}."
        ),
    )
    devices: dict[str, Weight] = Field(
        default_factory=lambda: {"mobile": 0.58, "desktop": 0.36, "tablet": 0.06},
        min_length=1,
        description="Device names and relative weights, e.g. {mobile: 0.6, desktop: 0.4}.",
    )
    browsers: dict[str, Weight] = Field(
        default_factory=lambda: {"chrome": 0.62, "safari": 0.26, "firefox": 0.06, "edge": 0.06},
        min_length=1,
        description="Browser names and relative weights, e.g. {chrome: 0.6, safari: 0.4}.",
    )
    countries: dict[str, Weight] = Field(
        default_factory=lambda: {"US": 0.7, "CA": 0.1, "GB": 0.1, "DE": 0.05, "FR": 0.05},
        min_length=1,
        description=(
            "Visitors' countries (ISO 3166 codes, written on sessions and customers) and"
            " relative weights, e.g. {US: 0.7, DE: 0.3}."
        ),
    )

    @field_validator("devices", "browsers", "countries")
    @classmethod
    def _some_weight(cls, weights: dict[str, float]) -> dict[str, float]:
        if not any(weights.values()):
            msg = "at least one weight must be above 0"
            raise ValueError(msg)
        return weights

    @field_validator("channels")
    @classmethod
    def _some_channel_weight(cls, channels: dict[str, Channel]) -> dict[str, Channel]:
        if not any(channel.weight for channel in channels.values()):
            msg = "at least one channel weight must be above 0"
            raise ValueError(msg)
        return channels


# --------------------------------------------------------------------------- behaviour

_S = PageState


def _default_funnel() -> dict[PageState, dict[PageState, float]]:
    # Tuned so that a shop converts ~3% of its sessions, ~9% add to cart and ~37% leave
    # after one page (README, "How realistic is the data?").
    return {
        _S.LANDING: {_S.CATEGORY: 0.3, _S.SEARCH: 0.12, _S.PRODUCT: 0.2},
        _S.CATEGORY: {_S.PRODUCT: 0.55, _S.CATEGORY: 0.08, _S.SEARCH: 0.05},
        _S.SEARCH: {_S.PRODUCT: 0.6, _S.SEARCH: 0.1},
        _S.PRODUCT: {_S.CART: 0.065, _S.PRODUCT: 0.33, _S.CATEGORY: 0.14, _S.SEARCH: 0.05},
        _S.CART: {_S.CHECKOUT: 0.45, _S.PRODUCT: 0.3, _S.CATEGORY: 0.08},
        _S.CHECKOUT: {_S.PAYMENT: 0.75},
        _S.PAYMENT: {_S.CONFIRMATION: 0.85},
        _S.CONFIRMATION: {},
    }


def _default_dwell() -> dict[PageState, Distribution]:
    return {
        _S.LANDING: LogNormal(median=30, sigma=0.8, max=900),
        _S.CATEGORY: LogNormal(median=40, sigma=0.8, max=900),
        _S.SEARCH: LogNormal(median=20, sigma=0.7, max=600),
        _S.PRODUCT: LogNormal(median=80, sigma=0.9, max=1500),
        _S.CART: LogNormal(median=45, sigma=0.8, max=900),
        _S.CHECKOUT: LogNormal(median=75, sigma=0.6, max=1200),
        _S.PAYMENT: LogNormal(median=60, sigma=0.6, max=1200),
        _S.CONFIRMATION: LogNormal(median=20, sigma=0.5, max=600),
    }


Segment = Literal["new", "returning"]
Funnel = dict[PageState, dict[PageState, float]]

# Pages that may only be reached from certain others, so that the cart is never empty
# at checkout and nobody pays without having checked out.
_ONLY_FROM: dict[PageState, frozenset[PageState]] = {
    _S.CART: frozenset({_S.PRODUCT, _S.CHECKOUT, _S.PAYMENT}),
    _S.CHECKOUT: frozenset({_S.CART, _S.PAYMENT}),
    _S.PAYMENT: frozenset({_S.CHECKOUT}),
    _S.CONFIRMATION: frozenset({_S.PAYMENT}),
}


def funnel_violations(funnel: Funnel) -> list[Violation]:
    """Every impossible transition, located at ``(source,)`` or ``(source, target)``."""
    violations: list[Violation] = []
    for source, targets in funnel.items():
        total = sum(targets.values())
        if total > 1.0 + 1e-9:
            message = (
                f"transitions from {source.value!r} sum to {total:.4g}; they must sum to at "
                "most 1 (what is left over is the chance to leave the site)"
            )
            violations.append(Violation((source.value,), message))
        for target, probability in targets.items():
            allowed = _ONLY_FROM.get(target)
            if probability > 0 and allowed is not None and source not in allowed:
                names = ", ".join(sorted(state.value for state in allowed))
                message = f"{target.value!r} cannot follow {source.value!r}"
                only = f"{target.value!r} only after {names}"
                violations.append(Violation((source.value, target.value), message, only))
    return violations


def check_funnel(funnel: Funnel) -> None:
    """Raise ValueError naming the first state whose transitions are impossible."""
    violations = funnel_violations(funnel)
    if violations:
        raise ValueError(violations[0].message)


def merge_funnel(base: Funnel, override: Funnel) -> Funnel:
    """The base funnel with the override's states replaced target by target."""
    merged = {state: dict(targets) for state, targets in base.items()}
    for state, targets in override.items():
        merged.setdefault(state, {}).update(targets)
    return merged


class SegmentRule(Model):
    """Behaviour for the sessions that match every condition given."""

    device: str | None = Field(
        default=None,
        description="Only sessions on this device (from audience.devices), e.g. mobile.",
    )
    channel: str | None = Field(
        default=None,
        description="Only sessions from this channel (from audience.channels), e.g. email.",
    )
    visitor: Segment | None = Field(
        default=None, description="Only new or only returning visitors, e.g. returning."
    )
    behaviour: BehaviourOverride = Field(
        description="Their behaviour, e.g. {funnel: {cart: {checkout: 0.3}}}."
    )


class CartBehaviour(Model):
    add_quantity: Distribution = Field(
        default=LogNormal(median=1.0, sigma=0.45, max=10),
        description=(
            "Units added at once (rounded, at least 1; more for cheap products, see"
            " quantity_price_sensitivity), e.g. {type: constant, value: 1}."
        ),
    )
    price_sensitivity: float = Field(
        default=0.6,
        ge=0,
        le=3,
        description=(
            "How much more often cheap products are added to the cart than dear ones: a"
            " product's product → cart chance is the funnel's times (price / its category's"
            " typical price)^-s, scaled so that the category's views keep the funnel's"
            " chance on average; 0: price plays no part, e.g. 0.6."
        ),
    )
    quantity_price_sensitivity: float = Field(
        default=0.5,
        ge=0,
        le=3,
        description=(
            "How many more units of a cheap product are added at once: add_quantity times"
            " (its category's typical price / price)^s, at least 1 and at most 4 times;"
            " 0: the same for every price, e.g. 0.5."
        ),
    )
    basket_factor: float = Field(
        default=8,
        ge=1,
        le=20,
        description=(
            "Once a visit has added to its cart, product → cart is this many times the"
            " funnel's chance, whatever the price (at most what the page's other moves"
            " leave): shoppers who started a basket add more, e.g. 8; 1: no change."
        ),
    )
    remove_probability: Probability = Field(
        default=0.08,
        description="On a cart view with 2+ lines, chance to remove one (0 to 1), e.g. 0.08.",
    )
    change_quantity_probability: Probability = Field(
        default=0.06,
        description="On a cart view, chance to change a line's quantity (0 to 1), e.g. 0.06.",
    )
    recover_probability: Probability = Field(
        default=0.35,
        description=(
            "Chance a returning visitor with a saved cart opens it right after landing, e.g. 0.35."
        ),
    )


class Accounts(Model):
    login_probability: Probability = Field(
        default=0.6, description="Chance a returning customer logs in at landing, e.g. 0.6."
    )
    early_signup_probability: Probability = Field(
        default=0.02,
        description=(
            "Chance a new visitor signs up while browsing (newsletter, wishlist), e.g. 0.02."
        ),
    )


class Behaviour(Model):
    funnel: dict[PageState, dict[PageState, Probability]] = Field(
        default_factory=_default_funnel,
        description=(
            "Chance to go from each page to each next one; what is left over is exit, e.g."
            " {landing: {category: 0.35, product: 0.25}}."
        ),
    )
    dwell_seconds: dict[PageState, Distribution] = Field(
        default_factory=_default_dwell,
        description=(
            "Seconds spent on each page, e.g. {product: {type: lognormal, median: 45,"
            " sigma: 0.9}}; a page left out keeps its default."
        ),
    )
    session_timeout_minutes: float = Field(
        default=30,
        gt=0,
        le=24 * 60,
        description=(
            "Minutes of inactivity after which a visitor's next visit is a new session"
            " (a session ends at its last activity), e.g. 30."
        ),
    )
    cart: CartBehaviour = Field(
        default=CartBehaviour(),
        description="Cart actions: quantities, removals, quantity changes, recovered carts.",
    )
    accounts: Accounts = Field(default=Accounts(), description="Log-ins and sign-ups.")
    segments: list[SegmentRule] = Field(
        default_factory=list,
        description=(
            "Behaviour for some sessions (by device, channel, new or returning), e.g."
            " [{device: mobile, behaviour: {funnel: {cart: {checkout: 0.4}}}}]."
        ),
    )

    @field_validator("funnel")
    @classmethod
    def _possible_funnel(cls, funnel: Funnel) -> Funnel:
        violations = funnel_violations(funnel)
        if violations:
            raise rule_error(violations)
        return funnel

    @field_validator("dwell_seconds")
    @classmethod
    def _default_dwell_for_pages_left_out(
        cls, dwell: dict[PageState, Distribution]
    ) -> dict[PageState, Distribution]:
        # Pages the file leaves out keep their default dwell time: a scenario that lists
        # today's pages stays valid when a page is added (and every page has a dwell time,
        # without which a visit reaching it would stop the simulation).
        defaults = _default_dwell()
        return {**dwell, **{state: defaults[state] for state in defaults if state not in dwell}}


# --------------------------------------------------------------------------- orders


class Coupon(Model):
    code: str = Field(min_length=1, description="Written on orders.coupon_code, e.g. WELCOME10.")
    percent_off: float = Field(
        gt=0, le=100, description="Discount on the order's lines, in percent, e.g. 10."
    )
    weight: Weight = Field(
        default=1.0, description="Relative chance of this coupon among the coupons, e.g. 1."
    )


class Shipping(Model):
    flat_fee: float = Field(
        default=5.99, ge=0, description="Shipping fee in the scenario's currency, e.g. 5.99."
    )
    free_over: float | None = Field(
        default=60.0,
        ge=0,
        description="Free shipping from this subtotal after discount, e.g. 60; null: never free.",
    )


_HOURS_A_DAY = 24


class WorkingHours(Model):
    """When a step of an order's life can happen: local hours, and how much each weekday works.

    A step is due when its delay has passed; it happens then if that is within the hours of
    a day that works for it, else at a moment drawn evenly within the next such hours.
    """

    opens: float = Field(
        default=8,
        ge=0,
        lt=24,
        description="Local hour the day's work starts (the scenario's timezone), e.g. 8 or 7.5.",
    )
    closes: float = Field(
        default=18,
        gt=0,
        le=24,
        description="Local hour it stops, after opens, e.g. 18; 24 is midnight.",
    )
    weekdays: list[Probability] = Field(
        default_factory=lambda: [1.0, 1.0, 1.0, 1.0, 1.0, 0.2, 0.0],
        min_length=7,
        max_length=7,
        description=(
            "Monday..Sunday: the chance that the day works for a step waiting for it (1: every"
            " such day, 0: never), e.g. [1, 1, 1, 1, 1, 0.3, 0]."
        ),
    )

    @field_validator("weekdays")
    @classmethod
    def _some_day(cls, weekdays: list[float]) -> list[float]:
        if not any(weekdays):
            msg = "at least one weekday must be above 0"
            raise ValueError(msg)
        return weekdays

    @model_validator(mode="after")
    def _opens_before_closing(self) -> Self:
        if self.closes <= self.opens:
            message = f"closes ({self.closes:g}) must be after opens ({self.opens:g})"
            raise rule_error([Violation(("closes",), message, "an hour after opens, up to 24")])
        return self

    @property
    def always(self) -> bool:
        """Round the clock, every day: a step happens as soon as it is due."""
        whole_day = self.opens == 0 and self.closes == _HOURS_A_DAY
        return whole_day and all(weekday == 1 for weekday in self.weekdays)


class Lifecycle(Model):
    """What happens after an order is placed, and how long each step takes."""

    pay_delay_minutes: Distribution = Field(
        default=Exponential(mean_value=4),
        description="Minutes from placing to order_paid, e.g. {type: exponential, mean: 4}.",
    )
    cancel_probability: Probability = Field(
        default=0.03,
        description=(
            "Chance the customer asks to cancel after paying; only a request that comes before"
            " shipping cancels the order, e.g. 0.03."
        ),
    )
    cancel_delay_hours: Distribution = Field(
        default=Exponential(mean_value=10),
        description="Hours from payment to cancellation, e.g. {type: exponential, mean: 10}.",
    )
    ship_delay_hours: Distribution = Field(
        default=LogNormal(median=26, sigma=0.5, max=240),
        description=(
            "Hours from payment until the order can ship, e.g. {type: lognormal, median: 26,"
            " sigma: 0.5}; it ships then, or later within the warehouse's hours (ship_hours)."
        ),
    )
    ship_hours: WorkingHours = Field(
        default=WorkingHours(),
        description=(
            "When the warehouse ships (order_shipped), e.g. {opens: 8, closes: 18, weekdays:"
            " [1, 1, 1, 1, 1, 0.2, 0]}; {opens: 0, closes: 24, weekdays: [1, 1, 1, 1, 1, 1, 1]}"
            " ships as soon as due."
        ),
    )
    deliver_delay_days: Distribution = Field(
        default=LogNormal(median=3, sigma=0.4, max=30),
        description=(
            "Days from shipping until the order can be delivered, e.g. {type: lognormal,"
            " median: 3, sigma: 0.4}; it is delivered then, or later within the carrier's hours"
            " (deliver_hours)."
        ),
    )
    deliver_hours: WorkingHours = Field(
        default=WorkingHours(closes=21, weekdays=[1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.02]),
        description=(
            "When carriers deliver (order_delivered), e.g. {opens: 8, closes: 21, weekdays:"
            " [1, 1, 1, 1, 1, 0.5, 0.02]}."
        ),
    )
    return_probability: Probability = Field(
        default=0.07, description="Chance a delivered order is returned, e.g. 0.07."
    )
    return_delay_days: Distribution = Field(
        default=LogNormal(median=8, sigma=0.5, max=60),
        description=(
            "Days from delivery to order_returned, e.g. {type: lognormal, median: 8, sigma: 0.5}."
        ),
    )
    refund_delay_days: Distribution = Field(
        default=LogNormal(median=2, sigma=0.5, max=21),
        description=(
            "Days from return (or cancellation) until the refund can be issued, e.g. {type:"
            " lognormal, median: 2, sigma: 0.5}; it is issued then, or later within the"
            " finance team's hours (refund_hours)."
        ),
    )
    # The default is WorkingHours' own, as ship_hours': a partial setting ({opens: 9})
    # then keeps the other keys a reader sees in the defaults.
    refund_hours: WorkingHours = Field(
        default=WorkingHours(),
        description=(
            "When refunds are issued (refund_issued), e.g. {opens: 9, closes: 17, weekdays:"
            " [1, 1, 1, 1, 1, 0, 0]}; {opens: 0, closes: 24, weekdays: [1, 1, 1, 1, 1, 1, 1]}"
            " refunds as soon as due."
        ),
    )
    carriers: dict[str, Weight] = Field(
        default_factory=lambda: {"UPS": 0.4, "FedEx": 0.3, "USPS": 0.3},
        min_length=1,
        description="Shipping carriers and relative weights, e.g. {UPS: 0.5, DHL: 0.5}.",
    )

    _carriers_weighted = field_validator("carriers")(_some_weight_above_zero)


class Orders(Model):
    shipping: Shipping = Field(
        default=Shipping(), description="The shipping fee and when shipping is free."
    )
    tax_rate: float = Field(
        default=0.08,
        ge=0,
        le=1,
        description="Tax as a fraction of the subtotal after discount, e.g. 0.08 for 8%.",
    )
    coupon_probability: Probability = Field(
        default=0.08, description="Chance an order uses a coupon (0 to 1), e.g. 0.08."
    )
    coupons: list[Coupon] = Field(
        default_factory=lambda: [Coupon(code="WELCOME10", percent_off=10)],
        description="Coupons orders may use, e.g. [{code: WELCOME10, percent_off: 10}].",
    )
    payment_methods: dict[str, Weight] = Field(
        default_factory=lambda: {"card": 0.68, "paypal": 0.2, "apple_pay": 0.12},
        min_length=1,
        description="Payment methods and relative weights, e.g. {card: 0.7, paypal: 0.3}.",
    )
    payment_failure_probability: Probability = Field(
        default=0.06, description="Chance a payment attempt fails (payment_failed), e.g. 0.06."
    )
    payment_retry_probability: Probability = Field(
        default=0.5, description="Chance a visitor tries again after a failed payment, e.g. 0.5."
    )
    lifecycle: Lifecycle = Field(
        default=Lifecycle(),
        description="After the order: payment, shipping, delivery, cancellations, returns.",
    )

    _payment_methods_weighted = field_validator("payment_methods")(_some_weight_above_zero)

    @model_validator(mode="after")
    def _coupons_to_draw(self) -> Self:
        if self.coupon_probability > 0 and not self.coupons:
            message = "coupon_probability is above 0 but there are no coupons to use"
            raise rule_error([Violation(("coupons",), message, "at least one coupon")])
        if self.coupons and not any(coupon.weight for coupon in self.coupons):
            message = "at least one coupon weight must be above 0"
            raise rule_error([Violation(("coupons",), message)])
        return self


# --------------------------------------------------------------------------- quirks


class LateArrivals(Model):
    probability: Probability = Field(
        default=0.0, description="Chance an event arrives late (0 to 1), e.g. 0.02."
    )
    delay_hours: Distribution = Field(
        default=Exponential(mean_value=6),
        description="Hours from occurred_at to received_at, e.g. {type: exponential, mean: 6}.",
    )


class Quirks(Model):
    """Deliberate data-quality traps, all off by default. Each injection is recorded."""

    duplicate_events: Probability = Field(
        default=0.0,
        description="Chance an event is delivered twice (same event_id), e.g. 0.01.",
    )
    late_arrivals: LateArrivals = Field(
        default=LateArrivals(),
        description="Events that arrive after they occurred: received_at later than occurred_at.",
    )
    null_fields: Probability = Field(
        default=0.0,
        description=(
            "Chance an event arrives with one of visitor_id, customer_id, page or product_id "
            "emptied (recorded in the quirks table)."
        ),
    )
    keep_removed_cart_items: bool = Field(
        default=False,
        description="Order lines keep items removed from the cart (the original Faux bug): true.",
    )


# --------------------------------------------------------------------------- scenario


class Scenario(Model):
    """A whole shop: who visits, what they see, how they buy, over which window."""

    name: str = Field(
        default="shop",
        min_length=1,
        description="A label shown by fauxsim validate and db status, e.g. black_friday.",
    )
    description: str = Field(
        default="", description="What the scenario is for; its first line shows in validate."
    )
    seed: int = Field(
        default=1,
        ge=0,
        lt=2**63,
        description="Seed of every random draw, e.g. 7: same scenario and seed, same data.",
    )
    # Left out of dumps at 1, so that the digest of a scenario written before shards
    # existed did not change when they came.
    shards: int = Field(
        default=1,
        ge=1,
        le=4096,
        strict=True,  # a whole number: not true (1), 1.0 or "3"
        description=(
            "Parts the audience is split into, each simulated on its own (in parallel with"
            " --workers or --dask), e.g. 16. Part of the dataset: a different count is"
            " different data; 1 is the whole shop in one."
        ),
        exclude_if=lambda value: value == 1,
    )
    timezone: str = Field(
        default="UTC",
        description=(
            "The shop's IANA time zone, e.g. Europe/Berlin: dates, hours of the day and"
            " weekdays are local to it."
        ),
    )
    start: dt.datetime | dt.date = Field(
        description=(
            "First moment simulated, local time: a date (midnight), e.g. 2025-01-01, or a"
            " date-time, e.g. 2025-01-01T09:00."
        )
    )
    end: dt.datetime | dt.date = Field(
        description="End of the window, exclusive; same forms as start, e.g. 2025-02-01."
    )
    currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description=(
            "ISO 4217 code of every price and order, e.g. USD or EUR; amounts follow its"
            " minor units (JPY has none: whole yen)."
        ),
    )
    catalog: Catalog = Field(
        default=Catalog(), description="Products: listed, generated, and their price changes."
    )
    traffic: Traffic = Field(
        default=Traffic(),
        description="How many sessions start, and when: daily volume, curves, calendar events.",
    )
    audience: Audience = Field(
        default=Audience(),
        description="Who visits: existing customers, returning visitors, channels, devices.",
    )
    behaviour: Behaviour = Field(
        default=Behaviour(),
        description="What visitors do: the page funnel, dwell times, cart actions, segments.",
    )
    orders: Orders = Field(
        default=Orders(),
        description="Shipping, tax, coupons, payments and each order's later life.",
    )
    quirks: Quirks = Field(
        default=Quirks(),
        description="Deliberate data-quality traps, all off by default; each one is recorded.",
    )

    _dates_not_numbers = field_validator("start", "end", mode="before")(_not_a_number)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            allowed = "an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'"
            raise rule_error([Violation((), f"unknown timezone{hint}", allowed)]) from None
        return name

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # One validator for every cross-section check, so that all are reported at once.
        violations = self._window_violations() + self._override_violations()
        if violations:
            raise rule_error(violations)
        return self

    def _window_violations(self) -> list[Violation]:
        if self.start_utc < self.end_utc:
            return []
        reads: tuple[Loc, ...] = (("start",),)
        if _has_offset(self.start) != _has_offset(self.end):
            reads += (("timezone",),)  # it placed one end and not the other, so it counted
        return [Violation(("end",), f"must be after start, {self.start}", reads=reads)]

    def _override_violations(self) -> list[Violation]:
        violations: list[Violation] = []
        overrides: list[tuple[Loc, str, BehaviourOverride]] = [
            (("traffic", "calendar", number), f"calendar event {event.name!r}", event.behaviour)
            for number, event in enumerate(self.traffic.calendar)
        ]
        for number, rule in enumerate(self.behaviour.segments):
            at: Loc = ("behaviour", "segments", number)
            overrides.append((at, f"segment {number}", rule.behaviour))
            for key, value, known in (
                ("device", rule.device, self.audience.devices),
                ("channel", rule.channel, self.audience.channels),
            ):
                if value is not None and value not in known:
                    message = (
                        f"unknown {key}: a segment can only name one listed in audience.{key}s"
                    )
                    listed = ", ".join(sorted(known))
                    reads = (("audience", f"{key}s"),)
                    violations.append(Violation((*at, key), message, listed, reads=reads))
        for at, label, override in overrides:
            merged = merge_funnel(self.behaviour.funnel, override.funnel)
            violations.extend(
                Violation(
                    (*at, "behaviour", "funnel", *found.loc),
                    f"{label} makes the funnel impossible: {found.message}",
                    found.allowed,
                    reads=(("behaviour", "funnel"),),
                )
                for found in funnel_violations(merged)
            )
        return violations

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def to_utc(self, moment: dt.datetime | dt.date) -> dt.datetime:
        """A scenario moment in UTC: dates are local midnight, naive datetimes local time."""
        if not isinstance(moment, dt.datetime):
            moment = dt.datetime.combine(moment, dt.time())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(dt.UTC)

    @property
    def start_utc(self) -> dt.datetime:
        return self.to_utc(self.start)

    @property
    def end_utc(self) -> dt.datetime:
        return self.to_utc(self.end)
