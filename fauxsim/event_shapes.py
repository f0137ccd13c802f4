"""What each event type means, which columns it fills and the shape of its ``properties``.

Declared once, beside the event stream (``fauxsim.events``), for the data dictionary
(``docs/tables.md``, ``fauxsim tables``) and the API's schemas. A test runs a scenario
that makes every event type and holds each event to its shape here.
"""

from __future__ import annotations

from dataclasses import dataclass

from fauxsim.events import EventType


@dataclass(frozen=True, slots=True)
class Property:
    """One key of an event's ``properties``, with its JSON type."""

    name: str
    type: str  # a JSON type: integer, number, string, boolean, array, object
    description: str
    nullable: bool = False  # the key is there, its value may be null
    optional: bool = False  # the key is there only sometimes (the description says when)


@dataclass(frozen=True, slots=True)
class EventShape:
    description: str
    # The columns besides event_id, event_type, occurred_at and received_at it may fill;
    # customer_id only once the visitor is known.
    columns: tuple[str, ...]
    # The keys of its properties; none: properties is null. All optional: often null.
    properties: tuple[Property, ...] = ()


_VISIT = ("session_id", "visitor_id", "customer_id", "sequence", "page")
_ORDER = ("customer_id", "order_id")


def _p(name: str, type_: str, description: str, **flags: bool) -> Property:
    return Property(name, type_, description, **flags)


_REPRICED = _p(
    "repriced",
    "array",
    "Cart lines whose product's price changed since they were added, moved to the current"
    " list price (the cart_items row follows), each {cart_item_id, unit_price_cents,"
    " previous_unit_price_cents}; absent when none changed.",
    optional=True,
)

_CART_LINE = (
    _p("cart_id", "integer", "The cart (carts.cart_id)."),
    _p("cart_item_id", "integer", "The line (cart_items.cart_item_id)."),
)

EVENT_SHAPES: dict[EventType, EventShape] = {
    EventType.PRODUCT_CREATED: EventShape(
        "A product was listed, before the scenario's start (products.created_at).",
        ("product_id",),
        (
            _p("sku", "string", "Stock-keeping unit."),
            _p("name", "string", "The product's name."),
            _p("category", "string", "Its category."),
            _p("price_cents", "integer", "Unit price in minor units (cents; yen for JPY)."),
            _p("currency", "string", "ISO 4217 code of the price."),
            _p("popularity", "number", "Relative chance of being picked."),
        ),
    ),
    EventType.PRODUCT_PRICE_CHANGED: EventShape(
        "A product's price changed: a scheduled price change, or a calendar event's sale"
        " starting or ending.",
        ("product_id",),
        (
            _p("price_cents", "integer", "The new unit price in minor units (cents; yen for JPY)."),
            _p("previous_price_cents", "integer", "The price before."),
            _p(
                "reason",
                "string",
                "price_change or price_change_end (catalog.price_changes), or the calendar"
                " event's name, then that name followed by ' ended'.",
            ),
        ),
    ),
    EventType.SESSION_STARTED: EventShape(
        "A visit began, on its entry page (sequence 1): drawn from its channel's entry_pages.",
        ("session_id", "visitor_id", "sequence", "page"),
        (
            _p("channel", "string", "Where the visit came from (sessions.channel)."),
            _p("utm_source", "string", "The channel's utm_source.", nullable=True),
            _p("utm_medium", "string", "The channel's utm_medium.", nullable=True),
            _p("utm_campaign", "string", "The channel's utm_campaign.", nullable=True),
            _p("device", "string", "The visitor's device."),
            _p("browser", "string", "The visitor's browser."),
            _p("country", "string", "The visitor's country code."),
            _p("is_returning", "boolean", "Whether the visitor had come before."),
            _p(
                "calendar_events",
                "array",
                "Names of the calendar events in full effect at the start; null if none.",
                nullable=True,
            ),
        ),
    ),
    EventType.PAGE_VIEWED: EventShape(
        "A page was shown; product pages carry the product_id. Properties are null but"
        " on category pages and on a saved cart opened right after the first page.",
        (*_VISIT, "product_id"),
        (
            _p("category", "string", "On a category page: the category.", optional=True),
            _p(
                "recovered_cart",
                "boolean",
                "On a cart page opened right after the first page: true (a saved cart recovered).",
                optional=True,
            ),
        ),
    ),
    EventType.PRODUCT_VIEWED: EventShape(
        "A product's page was viewed (after its page_viewed).",
        (*_VISIT, "product_id"),
        (
            _p(
                "price_cents",
                "integer",
                "The unit price shown, in minor units (cents; yen for JPY).",
            ),
        ),
    ),
    EventType.SEARCHED: EventShape(
        "The visitor searched (before the search page's page_viewed).",
        _VISIT,
        (_p("query", "string", "What they typed."),),
    ),
    EventType.SESSION_ENDED: EventShape(
        "The visit ended, at its last activity (the visitor left). A later visit of the"
        " same visitor, at least a session timeout after it, is a new session.",
        ("session_id", "visitor_id", "customer_id", "sequence"),
    ),
    EventType.SIGNED_UP: EventShape(
        "A visitor made an account (a customers row): while browsing or at checkout, in a"
        " visit; or, for the customers imported at the start, outside one.",
        ("session_id", "visitor_id", "customer_id", "sequence"),
        (
            _p("email", "string", "Their email address."),
            _p("first_name", "string", "Given name."),
            _p("last_name", "string", "Family name."),
            _p("country", "string", "Their country code."),
            _p("street", "string", "Their street line (customers.street)."),
            _p("city", "string", "Their town or city."),
            _p("region", "string", "Their state, province or prefecture.", nullable=True),
            _p("postal_code", "string", "Their postal code."),
            _p("source", "string", "import, browse or checkout (customers.signup_source)."),
            _p(
                "orders_before",
                "integer",
                "Import only: orders they had placed before the start (not in the data;"
                " counted in customers.orders_count).",
                optional=True,
            ),
            _p(
                "spent_before_cents",
                "integer",
                "Import only: what those orders came to, in minor units (counted in"
                " customers.total_spent_cents).",
                optional=True,
            ),
        ),
    ),
    EventType.LOGGED_IN: EventShape(
        "A returning customer logged in: on the visit's first page, or at checkout.",
        _VISIT,
    ),
    EventType.ADDED_TO_CART: EventShape(
        "Units of the product on the page were added to the cart (quantity: how many).",
        (*_VISIT, "product_id", "quantity"),
        (
            *_CART_LINE,
            _p(
                "unit_price_cents",
                "integer",
                "The line's unit price, in minor units (cents; yen for JPY).",
            ),
            _p("line_quantity", "integer", "Units on the line after this addition."),
        ),
    ),
    EventType.REMOVED_FROM_CART: EventShape(
        "A line was removed on the cart page (quantity: its units); never the last line.",
        (*_VISIT, "product_id", "quantity"),
        _CART_LINE,
    ),
    EventType.CART_QUANTITY_CHANGED: EventShape(
        "A line's quantity changed by one on the cart page (quantity: the new one).",
        (*_VISIT, "product_id", "quantity"),
        (*_CART_LINE, _p("previous_quantity", "integer", "Units on the line before.")),
    ),
    EventType.CHECKOUT_STARTED: EventShape(
        "The visitor went to checkout; the customer is known from here.",
        _VISIT,
        (
            _p("cart_id", "integer", "The cart; null if there is none.", nullable=True),
            _p("items_count", "integer", "Units in the cart."),
            _p(
                "subtotal_cents",
                "integer",
                "Their value at the current list prices, in minor units (cents; yen for JPY).",
            ),
            _REPRICED,
        ),
    ),
    EventType.PAYMENT_INFO_ADDED: EventShape(
        "Payment details were entered.",
        _VISIT,
        (_p("method", "string", "A name from orders.payment_methods, e.g. card."),),
    ),
    EventType.PAYMENT_FAILED: EventShape(
        "A payment attempt failed; the visitor may try again or leave.",
        _VISIT,
        (
            _p("attempt", "integer", "Which attempt, from 1."),
            _p("reason", "string", "card_declined, insufficient_funds or expired_card."),
        ),
    ),
    EventType.ORDER_PLACED: EventShape(
        "The cart became an order (an orders row and its lines).",
        (*_VISIT, "order_id"),
        (
            _p("cart_id", "integer", "The cart it was made from."),
            _p("currency", "string", "ISO 4217 code of the amounts."),
            _p(
                "lines",
                "array",
                "The order's lines, each an object named as its order_line_items row: "
                "{line_item_id, product_id, quantity, unit_price_cents}; each line is"
                " charged its product's list price when the order is placed.",
            ),
            _p("subtotal_cents", "integer", "The lines' value."),
            _p("discount_cents", "integer", "The coupon's discount; 0 without one."),
            _p("shipping_cents", "integer", "The shipping fee; 0 when shipping is free."),
            _p("tax_cents", "integer", "The tax."),
            _p("total_cents", "integer", "subtotal - discount + shipping + tax."),
            _p("coupon_code", "string", "The coupon used.", nullable=True),
            _p("recovered_cart", "boolean", "Whether the cart was filled in an earlier visit."),
            _p(
                "shipping_address",
                "object",
                "Where it ships: a copy of the customer's address when it was placed, {street,"
                " city, region, postal_code, country} (the orders.shipping_* columns).",
            ),
            _REPRICED,
            _p(
                "quirk",
                "string",
                "keep_removed_cart_items when its lines keep removed cart items (that quirk"
                " on); absent otherwise.",
                optional=True,
            ),
        ),
    ),
    EventType.ORDER_PAID: EventShape(
        "The payment was taken, minutes after placing.",
        _ORDER,
        (_p("amount_cents", "integer", "The amount: the order's total_cents."),),
    ),
    EventType.ORDER_SHIPPED: EventShape(
        "The order shipped.",
        _ORDER,
        (
            _p("carrier", "string", "A name from orders.lifecycle.carriers, e.g. UPS."),
            _p(
                "tracking_number",
                "string",
                "Shaped as the carrier prints it: UPS 1Z + 16 characters, USPS 22 digits,"
                " FedEx 12, DHL 10, posts the UPU S10 form (AB123456785GB); another carrier"
                " 12 digits. Drawn, not the order id.",
            ),
        ),
    ),
    EventType.ORDER_DELIVERED: EventShape("The order was delivered.", _ORDER),
    EventType.ORDER_CANCELLED: EventShape(
        "The order was cancelled before it shipped; a refund follows.",
        _ORDER,
        (_p("reason", "string", "customer_request."),),
    ),
    EventType.ORDER_RETURNED: EventShape(
        "The delivered order was sent back; a refund follows.",
        _ORDER,
        (_p("reason", "string", "wrong_size, not_as_described, damaged or changed_mind."),),
    ),
    EventType.REFUND_ISSUED: EventShape(
        "The money went back, after a cancellation or a return.",
        _ORDER,
        (_p("amount_cents", "integer", "The amount: the order's total_cents."),),
    ),
}
