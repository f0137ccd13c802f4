"""Orders: placing one from a cart, and the life it lives afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.clock import DAY, HOUR, MINUTE
from fauxsim.currency import to_minor
from fauxsim.randomness import Purpose, prefetched
from fauxsim.simulation.labels import (
    CONFIRMATION,
    ORDER_CANCELLED,
    ORDER_DELIVERED,
    ORDER_PAID,
    ORDER_PLACED,
    ORDER_RETURNED,
    ORDER_SHIPPED,
    REFUND_ISSUED,
)
from fauxsim.simulation.processes import Steps
from fauxsim.simulation.sampling import whole_sampler
from fauxsim.simulation.working_hours import WorkingClock

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from fauxsim.randomness import Uniform
    from fauxsim.scenario.model import Lifecycle
    from fauxsim.simulation.audience import Cart, Visitor
    from fauxsim.simulation.engine import Simulation
    from fauxsim.simulation.sampling import WholeSampler

# Uniform draws an order's life takes with lognormal delays (two per delay) and a step
# deferred to working hours (two each); more are drawn when needed.
_LIFECYCLE_DRAWS = 20


@dataclass(frozen=True, slots=True)
class OrderLife:
    """The lifecycle settings, compiled once: delays in microseconds, at least one, and
    the hours in which orders ship, are delivered and are refunded."""

    pay_delay: WholeSampler
    ship_delay: WholeSampler
    ship_clock: WorkingClock
    cancel_probability: float
    cancel_delay: WholeSampler
    deliver_delay: WholeSampler
    deliver_clock: WorkingClock
    return_probability: float
    return_delay: WholeSampler
    refund_delay: WholeSampler
    refund_clock: WorkingClock

    @classmethod
    def compile(cls, life: Lifecycle, zone: ZoneInfo, *, compiled: bool | None = None) -> OrderLife:
        """The samplers, in C where ``compiled`` (see ``sampling.whole_sampler``); working
        hours in the shop's time ``zone``."""
        return cls(
            pay_delay=whole_sampler(life.pay_delay_minutes, MINUTE, 1, compiled=compiled),
            ship_delay=whole_sampler(life.ship_delay_hours, HOUR, 1, compiled=compiled),
            ship_clock=WorkingClock(life.ship_hours, zone),
            cancel_probability=life.cancel_probability,
            cancel_delay=whole_sampler(life.cancel_delay_hours, HOUR, 1, compiled=compiled),
            deliver_delay=whole_sampler(life.deliver_delay_days, DAY, 1, compiled=compiled),
            deliver_clock=WorkingClock(life.deliver_hours, zone),
            return_probability=life.return_probability,
            return_delay=whole_sampler(life.return_delay_days, DAY, 1, compiled=compiled),
            refund_delay=whole_sampler(life.refund_delay_days, DAY, 1, compiled=compiled),
            refund_clock=WorkingClock(life.refund_hours, zone),
        )


def order_totals(
    line_totals: list[int],
    discount_percent: float,
    *,
    flat_fee: int,
    free_over: int | None,
    tax_rate: float,
) -> tuple[int, int, int, int, int]:
    """(subtotal, discount, shipping, tax, total) in whole minor units (cents, yen): the
    rounding follows the currency's, and the total always adds up."""
    subtotal = sum(line_totals)
    discount = round(subtotal * discount_percent / 100)
    after_discount = subtotal - discount
    shipping = 0 if free_over is not None and after_discount >= free_over else flat_fee
    tax = round(after_discount * tax_rate)
    return subtotal, discount, shipping, tax, after_discount + shipping + tax


def place_order(
    sim: Simulation,
    draw: Uniform,
    cart: Cart,
    now: int,
    session_id: int,
    visitor: Visitor,
    customer_id: int,
    sequence: int,
    *,
    coupon_probability: float,
) -> int:
    """Turn the cart into an order, start its lifecycle, and return the last sequence used."""
    orders, currency = sim.scenario.orders, sim.scenario.currency
    keep_removed = sim.scenario.quirks.keep_removed_cart_items
    cart_lines = [line for line in cart.lines if keep_removed or not line.removed]
    sim.last_order_id += sim.id_stride
    order_id = sim.last_order_id
    # The order charges the list prices in force now (a price may have changed since
    # checkout started); the cart's lines follow them (``repriced``).
    products = sim.catalog.by_id
    repriced = cart.reprice(products)
    lines = []  # named as the order_line_items columns they become
    for line in cart_lines:
        sim.last_line_item_id += sim.id_stride
        lines.append({
            "line_item_id": sim.last_line_item_id,
            "product_id": line.product_id,
            "quantity": line.quantity,
            "unit_price_cents": products[line.product_id].price_cents,
        })  # fmt: skip
    coupon = (
        sim.coupons.pick(draw) if sim.coupons is not None and draw() < coupon_probability else None
    )
    subtotal, discount, shipping, tax, total = order_totals(
        [line["quantity"] * line["unit_price_cents"] for line in lines],
        coupon.percent_off if coupon is not None else 0.0,
        flat_fee=to_minor(orders.shipping.flat_fee, currency),
        free_over=None
        if orders.shipping.free_over is None
        else to_minor(orders.shipping.free_over, currency),
        tax_rate=orders.tax_rate,
    )
    properties = {
        "cart_id": cart.cart_id,
        "currency": currency,
        "lines": lines,
        "subtotal_cents": subtotal,
        "discount_cents": discount,
        "shipping_cents": shipping,
        "tax_cents": tax,
        "total_cents": total,
        "coupon_code": coupon.code if coupon is not None else None,
        "recovered_cart": cart.session_id != session_id,
        # A copy of the customer's address, as shops keep one with each order.
        "shipping_address": sim.address_of(customer_id, visitor.country)._asdict(),
    }
    if repriced is not None:
        properties["repriced"] = repriced
    if keep_removed and any(line.removed for line in cart_lines):
        properties["quirk"] = "keep_removed_cart_items"
    sequence += 1
    sim.emit(ORDER_PLACED, now, session_id, visitor.visitor_id, customer_id, sequence,
             CONFIRMATION, None, None, order_id, properties)  # fmt: skip
    visitor.cart = None
    sim.order_placed(customer_id)
    Steps(sim.env, order_lifecycle(sim, order_id, customer_id, total))
    return sequence


def order_lifecycle(
    sim: Simulation, order_id: int, customer_id: int, total_cents: int
) -> Steps.Body:
    """Paid, then shipped and delivered (or cancelled), maybe returned and refunded."""
    emit, life = sim.emit, sim.order_life
    draw = prefetched(sim.seed, Purpose.ORDER, order_id, _LIFECYCLE_DRAWS)

    now = yield life.pay_delay(draw)
    emit(ORDER_PAID, now, None, None, customer_id, None, None, None, None, order_id,
         {"amount_cents": total_cents})  # fmt: skip

    # The order can ship once its delay has passed; it ships in the warehouse's hours.
    ship_delay = _working_wait(life.ship_clock, life.ship_delay(draw), now, draw)
    if draw() < life.cancel_probability:
        cancel_delay = life.cancel_delay(draw)
        if cancel_delay < ship_delay:  # only an order not yet shipped can be cancelled
            now = yield cancel_delay
            emit(ORDER_CANCELLED, now, None, None, customer_id, None, None, None,
                 None, order_id, {"reason": "customer_request"})  # fmt: skip
            now = yield _working_wait(life.refund_clock, life.refund_delay(draw), now, draw)
            emit(REFUND_ISSUED, now, None, None, customer_id, None, None, None,
                 None, order_id, {"amount_cents": total_cents})  # fmt: skip
            sim.order_ended(customer_id)
            return
    now = yield ship_delay
    carrier = sim.carriers.pick(draw)
    tracking = sim.tracking_numbers.number(carrier, order_id)
    emit(ORDER_SHIPPED, now, None, None, customer_id, None, None, None, None,
         order_id, {"carrier": carrier, "tracking_number": tracking})  # fmt: skip

    now = yield _working_wait(life.deliver_clock, life.deliver_delay(draw), now, draw)
    emit(ORDER_DELIVERED, now, None, None, customer_id, None, None, None, None,
         order_id, None)  # fmt: skip

    if draw() >= life.return_probability:
        sim.finished_orders.append(order_id)  # delivered and kept: it never changes again
        sim.order_ended(customer_id)
    else:
        now = yield life.return_delay(draw)
        emit(ORDER_RETURNED, now, None, None, customer_id, None, None, None, None,
             order_id, {"reason": sim.return_reasons.pick(draw)})  # fmt: skip
        now = yield _working_wait(life.refund_clock, life.refund_delay(draw), now, draw)
        emit(REFUND_ISSUED, now, None, None, customer_id, None, None, None, None,
             order_id, {"amount_cents": total_cents})  # fmt: skip
        sim.order_ended(customer_id)


def _working_wait(clock: WorkingClock, delay: int, now: int, draw: Uniform) -> int:
    """How long a step waits from ``now``: its ``delay`` (drawn first), then until the
    clock's next working moment."""
    return clock.next_moment(now + delay, draw) - now
