"""Event types and pages as plain strings, the way they go into event tuples.

``EventType`` and ``PageState`` name the closed sets, but their members are objects the
garbage collector tracks, and a tuple holding one stays tracked as long as it lives.
A tuple of plain strings and numbers is untracked by the first collection that sees
it: with plain values, millions of events in flight cost the collector nothing.
Being each member's own value, these strings compare and hash equal to the members.
"""

from __future__ import annotations

from fauxsim.events import EventType
from fauxsim.scenario.model import PageState

# catalog
PRODUCT_CREATED = EventType.PRODUCT_CREATED.value
PRODUCT_PRICE_CHANGED = EventType.PRODUCT_PRICE_CHANGED.value
# visits
SESSION_STARTED = EventType.SESSION_STARTED.value
PAGE_VIEWED = EventType.PAGE_VIEWED.value
PRODUCT_VIEWED = EventType.PRODUCT_VIEWED.value
SEARCHED = EventType.SEARCHED.value
SESSION_ENDED = EventType.SESSION_ENDED.value
# accounts
SIGNED_UP = EventType.SIGNED_UP.value
LOGGED_IN = EventType.LOGGED_IN.value
# cart and checkout
ADDED_TO_CART = EventType.ADDED_TO_CART.value
REMOVED_FROM_CART = EventType.REMOVED_FROM_CART.value
CART_QUANTITY_CHANGED = EventType.CART_QUANTITY_CHANGED.value
CHECKOUT_STARTED = EventType.CHECKOUT_STARTED.value
PAYMENT_INFO_ADDED = EventType.PAYMENT_INFO_ADDED.value
PAYMENT_FAILED = EventType.PAYMENT_FAILED.value
# order lifecycle
ORDER_PLACED = EventType.ORDER_PLACED.value
ORDER_PAID = EventType.ORDER_PAID.value
ORDER_SHIPPED = EventType.ORDER_SHIPPED.value
ORDER_DELIVERED = EventType.ORDER_DELIVERED.value
ORDER_CANCELLED = EventType.ORDER_CANCELLED.value
ORDER_RETURNED = EventType.ORDER_RETURNED.value
REFUND_ISSUED = EventType.REFUND_ISSUED.value

# Pages. The session loop compares them by identity: always use these objects.
LANDING = PageState.LANDING.value
CATEGORY = PageState.CATEGORY.value
SEARCH = PageState.SEARCH.value
PRODUCT = PageState.PRODUCT.value
CART = PageState.CART.value
CHECKOUT = PageState.CHECKOUT.value
PAYMENT = PageState.PAYMENT.value
CONFIRMATION = PageState.CONFIRMATION.value


def page(state: PageState) -> str:
    """The plain string of a page: the very object of the constants above."""
    value: str = state.value
    return value
