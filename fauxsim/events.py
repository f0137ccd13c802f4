"""The event stream: the single source of truth every table is projected from.

Events travel through the engine as plain tuples in the column order of
:data:`EVENT_COLUMNS` (see :data:`fauxsim.tables.EVENTS`); a tuple is several times
cheaper to build than a dict or a validated model, and the engine builds millions.
The ``properties`` slot holds a dict (or None) with what the columns do not carry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

Properties = dict[str, Any] | None

# event_id, event_type, occurred_at, received_at, session_id, visitor_id, customer_id,
# sequence, page, product_id, quantity, order_id, properties
Event = tuple[
    int, str, int, int, int | None, int | None, int | None,
    int | None, str | None, int | None, int | None, int | None, Properties,
]  # fmt: skip

EVENT_COLUMNS = (
    "event_id",
    "event_type",
    "occurred_at",
    "received_at",
    "session_id",
    "visitor_id",
    "customer_id",
    "sequence",
    "page",
    "product_id",
    "quantity",
    "order_id",
    "properties",
)

# Positions in the tuple, for every reader and writer of events: ``event[OCCURRED_AT]``,
# never ``event[2]``. Final literals, so that mypy types each item by its column.
ID: Final = 0
TYPE: Final = 1
OCCURRED_AT: Final = 2
RECEIVED_AT: Final = 3
SESSION_ID: Final = 4
VISITOR_ID: Final = 5
CUSTOMER_ID: Final = 6
SEQUENCE: Final = 7
PAGE: Final = 8
PRODUCT_ID: Final = 9
QUANTITY: Final = 10
ORDER_ID: Final = 11
PROPERTIES: Final = 12


def event(
    event_id: int,
    event_type: str,
    occurred_at: int,
    *,
    session_id: int | None = None,
    visitor_id: int | None = None,
    customer_id: int | None = None,
    sequence: int | None = None,
    page: str | None = None,
    product_id: int | None = None,
    quantity: int | None = None,
    order_id: int | None = None,
    properties: Properties = None,
    received_at: int | None = None,
) -> Event:
    """An event, its columns named: the one place the engine lays out an event's tuple.

    ``received_at`` is ``occurred_at`` unless given (the delivery quirks move it).
    """
    return (
        event_id,
        event_type,
        occurred_at,
        occurred_at if received_at is None else received_at,
        session_id,
        visitor_id,
        customer_id,
        sequence,
        page,
        product_id,
        quantity,
        order_id,
        properties,
    )


class EventType(StrEnum):
    # catalog
    PRODUCT_CREATED = "product_created"
    PRODUCT_PRICE_CHANGED = "product_price_changed"
    # visits
    SESSION_STARTED = "session_started"
    PAGE_VIEWED = "page_viewed"
    PRODUCT_VIEWED = "product_viewed"
    SEARCHED = "searched"
    SESSION_ENDED = "session_ended"
    # accounts
    SIGNED_UP = "signed_up"
    LOGGED_IN = "logged_in"
    # cart and checkout
    ADDED_TO_CART = "added_to_cart"
    REMOVED_FROM_CART = "removed_from_cart"
    CART_QUANTITY_CHANGED = "cart_quantity_changed"
    CHECKOUT_STARTED = "checkout_started"
    PAYMENT_INFO_ADDED = "payment_info_added"
    PAYMENT_FAILED = "payment_failed"
    # order lifecycle
    ORDER_PLACED = "order_placed"
    ORDER_PAID = "order_paid"
    ORDER_SHIPPED = "order_shipped"
    ORDER_DELIVERED = "order_delivered"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_RETURNED = "order_returned"
    REFUND_ISSUED = "refund_issued"


class OrderStatus(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    REFUNDED = "refunded"


class CartStatus(StrEnum):
    OPEN = "open"
    CONVERTED = "converted"
