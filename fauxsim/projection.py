"""The projector: folds the event stream into entity tables.

It is the only producer of table rows, for every sink. It holds the current state of
each live row (in column order, see ``fauxsim.tables``) and, at each checkpoint, hands
out the rows that changed since the previous one. Rows whose life is over are
forgotten once written: ended sessions, placed order lines, converted carts and
refunded orders, as the events show; and, when the simulation says so (``forget``),
customers and carts of visitors who will never come back and orders delivered and
kept. Memory then follows the shop's recent activity, not the length of the run.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any, Final, cast

from fauxsim.events import (
    CUSTOMER_ID,
    EVENT_COLUMNS,
    OCCURRED_AT,
    ORDER_ID,
    PAGE,
    PRODUCT_ID,
    PROPERTIES,
    QUANTITY,
    SESSION_ID,
    TYPE,
    VISITOR_ID,
    Event,
    EventType,
    OrderStatus,
)
from fauxsim.tables import (
    CART_ITEMS,
    CARTS,
    CUSTOMERS,
    ORDER_LINE_ITEMS,
    ORDERS,
    PRODUCTS,
    SESSIONS,
)

Row = list[Any]
_Handler = Callable[[Event], None]

# Column positions, looked up once from the table specs.
_CUSTOMER = {name: i for i, name in enumerate(CUSTOMERS.column_names)}
_SESSION = {name: i for i, name in enumerate(SESSIONS.column_names)}
_CART = {name: i for i, name in enumerate(CARTS.column_names)}
_ITEM = {name: i for i, name in enumerate(CART_ITEMS.column_names)}
_ORDER = {name: i for i, name in enumerate(ORDERS.column_names)}
_PRODUCT = {name: i for i, name in enumerate(PRODUCTS.column_names)}

S_CUSTOMER, S_ENDED, S_PAGE_VIEWS, S_ORDER, S_UPDATED = (
    _SESSION["customer_id"],
    _SESSION["ended_at"],
    _SESSION["page_views"],
    _SESSION["order_id"],
    _SESSION["updated_at"],
)
# The event types folded inline, as the plain strings events carry (``simulation.labels``).
PAGE_VIEWED: str = EventType.PAGE_VIEWED.value
SESSION_ENDED: str = EventType.SESSION_ENDED.value
SESSION_STARTED: str = EventType.SESSION_STARTED.value

# Where each column of a new session's row comes from: a column of its session_started
# event (by its position, ``fauxsim.events``), a property of it, or a value.
_FROM_EVENT, _FROM_PROPERTY, _VALUE = 0, 1, 2
_STARTED_SESSION_SOURCES: dict[str, tuple[int, Any]] = {
    "session_id": (_FROM_EVENT, SESSION_ID),
    "visitor_id": (_FROM_EVENT, VISITOR_ID),
    "customer_id": (_FROM_EVENT, CUSTOMER_ID),
    "started_at": (_FROM_EVENT, OCCURRED_AT),
    "ended_at": (_VALUE, None),
    "is_returning": (_FROM_PROPERTY, "is_returning"),
    "channel": (_FROM_PROPERTY, "channel"),
    "utm_source": (_FROM_PROPERTY, "utm_source"),
    "utm_medium": (_FROM_PROPERTY, "utm_medium"),
    "utm_campaign": (_FROM_PROPERTY, "utm_campaign"),
    "device": (_FROM_PROPERTY, "device"),
    "browser": (_FROM_PROPERTY, "browser"),
    "country": (_FROM_PROPERTY, "country"),
    "landing_page": (_FROM_EVENT, PAGE),
    "page_views": (_VALUE, 0),
    "order_id": (_VALUE, None),
    "created_at": (_FROM_EVENT, OCCURRED_AT),
    "updated_at": (_FROM_EVENT, OCCURRED_AT),
}
# In column order, as the row is built.
_STARTED_SESSION = tuple(_STARTED_SESSION_SOURCES[name] for name in SESSIONS.column_names)
# The same table as one lookup: the row is picked, in C, from the event's columns, then
# its properties (_STARTED_KEYS) and the values (_STARTED_VALUES), laid end to end.
_STARTED_KEYS = tuple(source for origin, source in _STARTED_SESSION if origin == _FROM_PROPERTY)
_STARTED_VALUES = tuple(source for origin, source in _STARTED_SESSION if origin == _VALUE)


def _started_positions() -> list[int]:
    """Where each column of a new session's row is in (*event, *properties, *values)."""
    positions, keys, values = [], len(EVENT_COLUMNS), len(EVENT_COLUMNS) + len(_STARTED_KEYS)
    for origin, source in _STARTED_SESSION:
        if origin == _FROM_EVENT:
            positions.append(source)
        elif origin == _FROM_PROPERTY:
            positions.append(keys)
            keys += 1
        else:
            positions.append(values)
            values += 1
    return positions


_STARTED_PICK = itemgetter(*_started_positions())

# Which order timestamp column each lifecycle event sets, and the status it leads to.
_LIFECYCLE: dict[str, tuple[str, OrderStatus]] = {
    EventType.ORDER_PAID: ("paid_at", OrderStatus.PAID),
    EventType.ORDER_SHIPPED: ("shipped_at", OrderStatus.SHIPPED),
    EventType.ORDER_DELIVERED: ("delivered_at", OrderStatus.DELIVERED),
    EventType.ORDER_CANCELLED: ("cancelled_at", OrderStatus.CANCELLED),
    EventType.ORDER_RETURNED: ("returned_at", OrderStatus.RETURNED),
    # Cancelled or returned, the order is refunded once the money comes back: one rule for
    # both paths (cancelled_at or returned_at says which), so refunds count by status.
    EventType.REFUND_ISSUED: ("refunded_at", OrderStatus.REFUNDED),
}


# What a flush without finished rows forgets (read only: never added to).
_NONE_FORGOTTEN: frozenset[int] = frozenset()


def _flush(
    rows: dict[int, Row | bytes],
    dirty: dict[int, None],
    *,
    freeze: bool,
    forgotten: set[int] | frozenset[int],
) -> list[tuple[Any, ...]]:
    """The changed rows as tuples; with ``freeze``, each kept as its tuple ``marshal``-packed
    (but for the ``forgotten``, about to be dropped: packing them is work for nothing).
    """
    out: list[tuple[Any, ...]] = list(map(tuple, map(rows.__getitem__, dirty)))  # lists, all
    if freeze:
        pack = marshal.dumps
        for row_id, row in zip(dirty, out, strict=True):
            if row_id not in forgotten:
                # Values are ints, text, floats, booleans and None: marshal gives them back
                # equal and of the same type.
                rows[row_id] = pack(row)
    return out


class _Table:
    """Live rows of one table and the ids that changed since the last checkpoint.

    A row changed since the last checkpoint is a list, updated in place. With
    ``freeze``, a row is kept as the row last written, packed into one ``bytes``
    (``marshal``), until it changes again. Rows that live long and change seldom
    (customers, open carts waiting for their visitor, orders) then cost the garbage
    collector nothing, and a third of the memory: a cart row as a tuple holds a dozen
    objects (~270 bytes), packed it is one object of ~100 bytes.
    """

    __slots__ = ("dirty", "finished", "freeze", "rows")

    def __init__(self, *, freeze: bool = True) -> None:
        self.rows: dict[int, Row | bytes] = {}
        self.dirty: dict[int, None] = {}  # insertion-ordered set: output order is deterministic
        self.finished: list[int] = []  # to forget once written
        self.freeze = freeze

    def add(self, row_id: int, row: Row) -> None:
        self.rows[row_id] = row
        self.dirty[row_id] = None

    def change(self, row_id: int) -> Row:
        """The row to update in place, marked as changed."""
        row = self.rows[row_id]
        if row.__class__ is bytes:
            # Only ever bytes that flush() packed, in this process: safe to unpack.
            row = self.rows[row_id] = list(marshal.loads(row))  # noqa: S302
        self.dirty[row_id] = None
        return row  # type: ignore[return-value]  # a list, by now

    def flush(self) -> list[tuple[Any, ...]]:
        finished = self.finished
        forgotten = set(finished) if finished and self.freeze else _NONE_FORGOTTEN
        out = _flush(self.rows, self.dirty, freeze=self.freeze, forgotten=forgotten)
        # Emptied in place: the fold holds these very dict and list.
        self.dirty.clear()
        if finished:
            pop = self.rows.pop
            for row_id in finished:
                pop(row_id, None)
            finished.clear()
        return out


def _fold(
    events: list[Event],
    sessions: dict[int, Row],
    dirty: dict[int, None],
    ended: list[int],
    handlers: dict[str, _Handler],
) -> None:
    """Fold events into the session rows, and hand the rest to their handlers.

    Page views and sessions' starts and ends (70% of all events) are folded inline, and
    so is every other event in a session that has no handler of its own, which only moves
    the session's clock.
    """
    page_viewed, session_ended = PAGE_VIEWED, SESSION_ENDED
    # Positions as local names: this loop runs for every event of the run.
    kind_at: Final = TYPE
    session_at: Final = SESSION_ID
    time_at: Final = OCCURRED_AT
    customer_at: Final = CUSTOMER_ID
    properties_at: Final = PROPERTIES
    session_started = SESSION_STARTED
    pick_started, started_keys, started_values = _STARTED_PICK, _STARTED_KEYS, _STARTED_VALUES
    page_views, updated, customer, ended_at = S_PAGE_VIEWS, S_UPDATED, S_CUSTOMER, S_ENDED
    get_handler, end = handlers.get, ended.append
    for event in events:
        kind = event[kind_at]
        if kind == page_viewed:
            session_id = event[session_at]
            row = sessions[session_id]  # type: ignore[index]  # page views have a session
            row[page_views] += 1
            row[updated] = event[time_at]
            if row[customer] is None and event[customer_at] is not None:
                row[customer] = event[customer_at]
            dirty[session_id] = None  # type: ignore[index]
            continue
        if kind == session_ended:
            session_id = event[session_at]
            row = sessions[session_id]  # type: ignore[index]
            row[ended_at] = row[updated] = event[time_at]
            end(session_id)  # type: ignore[arg-type]
            dirty[session_id] = None  # type: ignore[index]
            continue
        if kind == session_started:  # a new row, its columns picked as _STARTED_SESSION says
            session_id = event[session_at]
            found = map((event[properties_at] or {}).__getitem__, started_keys)
            sessions[session_id] = list(pick_started((*event, *found, *started_values)))  # type: ignore[index]
            dirty[session_id] = None  # type: ignore[index]
            continue
        handler = get_handler(kind)
        if handler is not None:
            handler(event)
            continue
        session_id = event[session_at]
        if session_id is not None:
            row = sessions[session_id]
            row[updated] = event[time_at]
            if row[customer] is None and event[customer_at] is not None:
                row[customer] = event[customer_at]
            dirty[session_id] = None


class Projector:
    """Fold events into table rows; ``checkpoint()`` returns the changed rows per table."""

    def __init__(self) -> None:
        self.tables = {
            # Session rows change at every page and are gone soon after: kept as lists.
            spec.name: _Table(freeze=spec is not SESSIONS)
            for spec in (PRODUCTS, CUSTOMERS, SESSIONS, CARTS, CART_ITEMS, ORDERS, ORDER_LINE_ITEMS)
        }
        self._products = self.tables[PRODUCTS.name]
        self._customers = self.tables[CUSTOMERS.name]
        self._sessions = self.tables[SESSIONS.name]
        self._carts = self.tables[CARTS.name]
        self._items = self.tables[CART_ITEMS.name]
        self._orders = self.tables[ORDERS.name]
        self._lines = self.tables[ORDER_LINE_ITEMS.name]
        # The item ids of each live cart: one id, or a tuple of several. Most carts hold
        # one item and wait for weeks; a tuple for each would cost 48 bytes more.
        self._items_of_cart: dict[int, int | tuple[int, ...]] = {}
        handlers: dict[EventType, _Handler] = {
            EventType.PRODUCT_CREATED: self._product_created,
            EventType.PRODUCT_PRICE_CHANGED: self._product_price_changed,
            EventType.SIGNED_UP: self._signed_up,
            EventType.LOGGED_IN: self._logged_in,
            EventType.ADDED_TO_CART: self._added_to_cart,
            EventType.REMOVED_FROM_CART: self._removed_from_cart,
            EventType.CART_QUANTITY_CHANGED: self._cart_quantity_changed,
            EventType.CHECKOUT_STARTED: self._checkout_started,
            EventType.ORDER_PLACED: self._order_placed,
        }
        for event_type in _LIFECYCLE:
            handlers[EventType(event_type)] = self._order_lifecycle
        # Keyed by the plain strings events carry: a dict of exact str keys looks up fastest.
        self._handlers: dict[str, _Handler] = {
            kind.value: handler for kind, handler in handlers.items()
        }

    def apply(self, events: Iterable[Event]) -> None:
        """Fold events, in the order they happened."""
        if not isinstance(events, list):
            events = list(events)
        if not events:
            return
        # Session rows are never frozen: always lists. ``dirty`` and ``finished`` are
        # replaced only by checkpoint(), never during a fold.
        sessions = cast("dict[int, Row]", self._sessions.rows)
        dirty, ended = self._sessions.dirty, self._sessions.finished
        _fold(events, sessions, dirty, ended, self._handlers)

    def forget(self, customers: Iterable[int], carts: Iterable[int], orders: Iterable[int]) -> None:
        """Drop these rows after the next checkpoint has written them: they never change again.

        The simulation knows (``Simulation.finished``); the events alone do not, so a
        projector that is never told keeps every row, and folds the same tables.
        """
        self._customers.finished.extend(customers)
        self._orders.finished.extend(orders)
        for cart_id in carts:
            self._carts.finished.append(cart_id)
            self._forget_items_of(cart_id)

    def _forget_items_of(self, cart_id: int) -> None:
        """The cart's items never change again: forget them once written."""
        items = self._items_of_cart.pop(cart_id, ())
        if isinstance(items, int):
            self._items.finished.append(items)
        else:
            self._items.finished.extend(items)

    def checkpoint(self) -> dict[str, list[tuple[Any, ...]]]:
        """The rows that changed since the last checkpoint, per table name: only tables
        with some (a shard of a small shop has many quiet hours)."""
        changed = {}
        for name, table in self.tables.items():
            if table.dirty or table.finished:
                rows = table.flush()
                if rows:
                    changed[name] = rows
        return changed

    # ------------------------------------------------------------------ catalog

    def _product_created(self, event: Event) -> None:
        props = event[PROPERTIES] or {}
        product_id = event[PRODUCT_ID]
        assert product_id is not None  # noqa: S101 - the engine always sets it
        self._products.add(product_id, [
            product_id, props["sku"], props["name"], props["category"], props["price_cents"],
            props["currency"], props["popularity"], event[OCCURRED_AT], event[OCCURRED_AT],
        ])  # fmt: skip

    def _product_price_changed(self, event: Event) -> None:
        product_id = event[PRODUCT_ID]
        assert product_id is not None  # noqa: S101
        row = self._products.change(product_id)
        row[_PRODUCT["price_cents"]] = (event[PROPERTIES] or {})["price_cents"]
        row[-1] = event[OCCURRED_AT]

    # ------------------------------------------------------------------ sessions

    def _in_session(self, event: Event) -> None:
        session_id = event[SESSION_ID]
        if session_id is None:
            return
        row = self._sessions.change(session_id)
        row[S_UPDATED] = event[OCCURRED_AT]
        if row[S_CUSTOMER] is None and event[CUSTOMER_ID] is not None:
            row[S_CUSTOMER] = event[CUSTOMER_ID]

    # ------------------------------------------------------------------ customers

    def _signed_up(self, event: Event) -> None:
        props = event[PROPERTIES] or {}
        customer_id, now = event[CUSTOMER_ID], event[OCCURRED_AT]
        assert customer_id is not None  # noqa: S101
        self._customers.add(customer_id, [
            customer_id, event[VISITOR_ID], props["email"], props["first_name"], props["last_name"],
            props["country"], props["street"], props["city"], props["region"],
            props["postal_code"], props["source"], props.get("orders_before", 0),
            props.get("spent_before_cents", 0), None, now, now,
        ])  # fmt: skip
        self._in_session(event)

    def _logged_in(self, event: Event) -> None:
        customer_id = event[CUSTOMER_ID]
        assert customer_id is not None  # noqa: S101
        row = self._customers.change(customer_id)
        row[_CUSTOMER["last_login_at"]] = row[-1] = event[OCCURRED_AT]
        self._in_session(event)

    # ------------------------------------------------------------------ carts

    def _cart(self, event: Event, cart_id: int) -> Row:
        """The cart row, created on first sight, with its customer once known."""
        if cart_id in self._carts.rows:
            row = self._carts.change(cart_id)
            if row[_CART["customer_id"]] is None and event[CUSTOMER_ID] is not None:
                row[_CART["customer_id"]] = event[CUSTOMER_ID]
        else:
            row = [
                cart_id,
                event[VISITOR_ID],
                event[CUSTOMER_ID],
                "open",
                0,
                0,
                None,
                event[OCCURRED_AT],
                event[OCCURRED_AT],
            ]
            self._carts.add(cart_id, row)
        row[-1] = event[OCCURRED_AT]
        return row

    def _added_to_cart(self, event: Event) -> None:
        props = event[PROPERTIES] or {}
        cart = self._cart(event, props["cart_id"])
        item_id, quantity, price = (
            props["cart_item_id"],
            event[QUANTITY] or 0,
            props["unit_price_cents"],
        )
        if item_id in self._items.rows:
            item = self._items.change(item_id)
        else:
            item = [
                item_id,
                props["cart_id"],
                event[PRODUCT_ID],
                0,
                price,
                False,
                event[OCCURRED_AT],
                event[OCCURRED_AT],
            ]
            self._items.add(item_id, item)
            items, cart_id = self._items_of_cart, props["cart_id"]
            present = items.get(cart_id)
            if present is None:
                items[cart_id] = item_id
            elif isinstance(present, int):
                items[cart_id] = (present, item_id)
            else:
                items[cart_id] = (*present, item_id)
        item[_ITEM["quantity"]] = props["line_quantity"]
        item[-1] = event[OCCURRED_AT]
        cart[_CART["items_count"]] += quantity
        cart[_CART["subtotal_cents"]] += quantity * price
        self._in_session(event)

    def _removed_from_cart(self, event: Event) -> None:
        props = event[PROPERTIES] or {}
        cart = self._cart(event, props["cart_id"])
        item = self._items.change(props["cart_item_id"])
        item[_ITEM["removed"]] = True
        item[-1] = event[OCCURRED_AT]
        cart[_CART["items_count"]] -= item[_ITEM["quantity"]]
        cart[_CART["subtotal_cents"]] -= item[_ITEM["quantity"]] * item[_ITEM["unit_price_cents"]]
        self._in_session(event)

    def _cart_quantity_changed(self, event: Event) -> None:
        props = event[PROPERTIES] or {}
        cart = self._cart(event, props["cart_id"])
        item = self._items.change(props["cart_item_id"])
        delta = (event[QUANTITY] or 0) - item[_ITEM["quantity"]]
        item[_ITEM["quantity"]] = event[QUANTITY]
        item[-1] = event[OCCURRED_AT]
        cart[_CART["items_count"]] += delta
        cart[_CART["subtotal_cents"]] += delta * item[_ITEM["unit_price_cents"]]
        self._in_session(event)

    def _checkout_started(self, event: Event) -> None:
        props = event[PROPERTIES] or {}
        cart_id = props.get("cart_id")
        if cart_id is not None:
            cart = self._cart(event, cart_id)
            self._reprice(cart, props.get("repriced"), event[OCCURRED_AT])
        self._in_session(event)

    def _reprice(self, cart: list[Any], repriced: list[dict[str, int]] | None, now: int) -> None:
        """Cart lines moved to their products' current prices (at checkout: see
        tables.CART_ITEMS), and the cart's subtotal with them."""
        for change in repriced or ():
            item = self._items.change(change["cart_item_id"])
            price = change["unit_price_cents"]
            cart[_CART["subtotal_cents"]] += item[_ITEM["quantity"]] * (
                price - item[_ITEM["unit_price_cents"]]
            )
            item[_ITEM["unit_price_cents"]] = price
            item[-1] = now

    # ------------------------------------------------------------------ orders

    def _order_placed(self, event: Event) -> None:
        props = event[PROPERTIES] or {}
        order_id, customer_id, now = event[ORDER_ID], event[CUSTOMER_ID], event[OCCURRED_AT]
        assert order_id is not None  # noqa: S101
        assert customer_id is not None  # noqa: S101
        lines, ship_to = props["lines"], props["shipping_address"]
        self._orders.add(order_id, [
            order_id, customer_id, event[SESSION_ID], props["cart_id"], OrderStatus.PLACED.value,
            props["currency"], sum(line["quantity"] for line in lines), props["subtotal_cents"],
            props["discount_cents"], props["shipping_cents"], props["tax_cents"],
            props["total_cents"], props["coupon_code"], ship_to["street"], ship_to["city"],
            ship_to["region"], ship_to["postal_code"], ship_to["country"], now, None, None, None,
            None, None, None, now, now,
        ])  # fmt: skip
        for line in lines:
            line_id, quantity, price = (
                line["line_item_id"],
                line["quantity"],
                line["unit_price_cents"],
            )
            self._lines.add(line_id, [
                line_id, order_id, line["product_id"], quantity, price, quantity * price, now, now,
            ])  # fmt: skip
            self._lines.finished.append(line_id)  # order lines never change once placed
        cart = self._cart(event, props["cart_id"])
        self._reprice(cart, props.get("repriced"), now)
        cart[_CART["status"]] = "converted"
        cart[_CART["order_id"]] = order_id
        # A converted cart and its items never change again.
        self._carts.finished.append(props["cart_id"])
        self._forget_items_of(props["cart_id"])
        customer = self._customers.change(customer_id)
        customer[_CUSTOMER["orders_count"]] += 1
        customer[_CUSTOMER["total_spent_cents"]] += props["total_cents"]
        customer[-1] = now
        session_id = event[SESSION_ID]
        if session_id is not None:
            session = self._sessions.change(session_id)
            if session[S_ORDER] is None:  # the visit's first order: see tables.SESSIONS
                session[S_ORDER] = order_id
        self._in_session(event)

    def _order_lifecycle(self, event: Event) -> None:
        order_id = event[ORDER_ID]
        assert order_id is not None  # noqa: S101
        row = self._orders.change(order_id)
        column, status = _LIFECYCLE[event[TYPE]]
        row[_ORDER[column]] = row[-1] = event[OCCURRED_AT]
        row[_ORDER["status"]] = status.value
        if status is OrderStatus.REFUNDED:
            self._orders.finished.append(order_id)  # nothing happens to it after a refund
            customer = self._customers.change(row[_ORDER["customer_id"]])
            customer[_CUSTOMER["total_spent_cents"]] -= (event[PROPERTIES] or {})["amount_cents"]
            customer[-1] = event[OCCURRED_AT]
