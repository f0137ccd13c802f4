"""Who visits: new visitors, returning ones, and their carts (customers' names and
addresses: ``identities``)."""

from __future__ import annotations

import marshal
from collections import deque
from heapq import heappop, heappush
from typing import TYPE_CHECKING

from fauxsim.clock import DAY
from fauxsim.errors import ScenarioError
from fauxsim.simulation.choice import WeightedChoice

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fauxsim.randomness import Uniform
    from fauxsim.simulation import _visit
    from fauxsim.simulation.catalog import Product

DueQueue: type[_visit.DueQueue] | None
try:  # the pool's queue of visitors in C (_visit.c), built at install
    from fauxsim.simulation._visit import DueQueue
except ImportError:  # installed without a C compiler: a heap of packed ints, in Python
    DueQueue = None

# Whether ReturningPool keeps its visitors in the compiled queue; both return the same
# visitors in the same order (tests hold them equal).
COMPILED = DueQueue is not None


class CartLine:
    __slots__ = ("cart_item_id", "product_id", "quantity", "removed", "unit_price_cents")

    def __init__(
        self, cart_item_id: int, product_id: int, quantity: int, unit_price_cents: int
    ) -> None:
        self.cart_item_id = cart_item_id
        self.product_id = product_id
        self.quantity = quantity
        self.unit_price_cents = unit_price_cents
        self.removed = False


_LINE_FIELDS = 5  # what Cart.packed() keeps of a CartLine


class Cart:
    # Lines in a list, not a dict by product: carts hold a few lines, and an abandoned
    # cart waits for weeks with its visitor (a small dict costs 232 bytes, a list 64).
    __slots__ = ("cart_id", "lines", "session_id")

    def __init__(self, cart_id: int, session_id: int) -> None:
        self.cart_id = cart_id
        self.session_id = session_id  # the session that created it: later ones recover it
        self.lines: list[CartLine] = []  # one per product, in the order first added

    def live_lines(self) -> list[CartLine]:
        return [line for line in self.lines if not line.removed]

    def add(self, line: CartLine) -> None:
        """Add a line, in place of the removed line of the same product if there is one."""
        for position, present in enumerate(self.lines):
            if present.product_id == line.product_id:
                self.lines[position] = line
                return
        self.lines.append(line)

    def packed(self) -> bytes:
        """The cart as one compact object, for the weeks it waits (see ``unpacked``)."""
        fields: list[int | bool] = [self.cart_id, self.session_id]
        for line in self.lines:
            fields += line.cart_item_id, line.product_id, line.quantity
            fields += line.unit_price_cents, line.removed
        return marshal.dumps(tuple(fields))

    @classmethod
    def unpacked(cls, packed: bytes) -> Cart:
        """The cart ``packed()`` packed, line for line (removed ones too)."""
        # Only ever bytes that packed() made, in this process: safe to unpack.
        cart_id, session_id, *fields = marshal.loads(packed)  # noqa: S302
        cart = cls(cart_id, session_id)
        for at in range(0, len(fields), _LINE_FIELDS):
            item_id, product_id, quantity, price, removed = fields[at : at + _LINE_FIELDS]
            line = CartLine(item_id, product_id, quantity, price)
            line.removed = removed
            cart.lines.append(line)
        return cart

    def reprice(self, prices: Mapping[int, Product]) -> list[dict[str, int]] | None:
        """Bring the lines not removed to their products' current prices, as a shop does
        when checkout opens and when the order is placed; what changed, named as the
        ``repriced`` property of checkout_started and order_placed, or None."""
        repriced = None
        for line in self.lines:
            price = prices[line.product_id].price_cents
            if line.removed or line.unit_price_cents == price:
                continue
            if repriced is None:
                repriced = []
            repriced.append({
                "cart_item_id": line.cart_item_id,
                "unit_price_cents": price,
                "previous_unit_price_cents": line.unit_price_cents,
            })  # fmt: skip
            line.unit_price_cents = price
        return repriced

    def live_line(self, product_id: int) -> CartLine | None:
        """The line of a product, unless there is none or it was removed."""
        for line in self.lines:
            if line.product_id == product_id and not line.removed:
                return line
        return None


class Visitor:
    __slots__ = ("browser", "cart", "country", "customer_id", "device", "kind", "visitor_id")

    def __init__(self, visitor_id: int, kind: int, kinds: VisitorKinds) -> None:
        self.visitor_id = visitor_id
        self.kind = kind
        self.device, self.browser, self.country = kinds.described[kind]
        self.customer_id: int | None = None  # once signed up
        self.cart: Cart | None = None


# Kinds of visitor numbered in a pool entry's low bits (see below).
_KIND_BITS = 16


class VisitorKinds:
    """Every (device, browser, country) a visitor can have, numbered, and how common each is.

    A new visitor's kind is one draw from the product of the three independent mixes.
    """

    def __init__(
        self,
        devices: Mapping[str, float],
        browsers: Mapping[str, float],
        countries: Mapping[str, float],
    ) -> None:
        weighted = [
            ((device, browser, country), d * b * c)
            for device, d in devices.items()
            for browser, b in browsers.items()
            for country, c in countries.items()
            if d * b * c > 0
        ]
        if len(weighted) > 1 << _KIND_BITS:
            msg = (
                f"audience: {len(devices)} devices x {len(browsers)} browsers x "
                f"{len(countries)} countries make {len(weighted)} kinds of visitor; at most "
                f"{1 << _KIND_BITS} are supported. Remove some browsers or countries."
            )
            raise ScenarioError(msg)
        self.described = [kind for kind, _ in weighted]
        self._choice = WeightedChoice(range(len(weighted)), [weight for _, weight in weighted])

    def pick(self, draw: Uniform) -> int:
        return self._choice.pick(draw)


# Pool entries are plain integers that order like (due, visitor_id) tuples and that the
# garbage collector never has to look at. From the most significant bits down:
# due | visitor_id | customer_id + 1 (0: none) | kind of visitor.
_ID_BITS = 40
_CUSTOMER_SHIFT = _KIND_BITS
_ID_SHIFT = _CUSTOMER_SHIFT + _ID_BITS
_DUE_SHIFT = _ID_SHIFT + _ID_BITS
_KIND_MASK = (1 << _KIND_BITS) - 1
_ID_MASK = (1 << _ID_BITS) - 1


class ReturningPool:
    """Visitors who may come back, each from a moment drawn from the return-gap curve.

    A returning arrival takes the visitor who most recently became due, so the observed
    gaps follow the configured distribution; visitors left waiting longer than
    ``patience`` have churned and are forgotten. Taking the latest first, a visitor
    due for days is in practice never taken (in the bundled scenarios, no visitor was
    taken more than three days after becoming due), so a week loses nothing.

    A visitor is kept as one number, and rebuilt from it when they come back; a
    visitor's cart, packed into one ``bytes`` beside it (``Cart.packed``). Hundreds of
    thousands of visitors then cost a few dozen bytes each, and the tens of thousands
    of abandoned carts about a hundred (as objects: ~450).
    """

    def __init__(
        self, kinds: VisitorKinds, patience: int = 7 * DAY, *, compiled: bool | None = None
    ) -> None:
        # The same entries, as C structs where the extension was built (and ``compiled``,
        # by default :data:`COMPILED` now), else as packed ints:
        if compiled is None:
            compiled = COMPILED
        self._queue = DueQueue() if compiled and DueQueue is not None else None
        self._waiting: list[int] = []  # heap of entries not due yet
        self._due: deque[int] = deque()  # entries due, in the order they became due
        self._carts: dict[int, bytes] = {}  # packed carts, by visitor id
        self._kinds = kinds
        self._patience = patience
        # What churned visitors leave behind that can never change again, to tell the
        # projector (see Simulation.finished): their customer accounts and carts.
        self.churned_customers: list[int] = []
        self.churned_carts: list[int] = []

    def __len__(self) -> int:
        if self._queue is not None:
            return len(self._queue)
        return len(self._waiting) + len(self._due)

    def add(self, visitor: Visitor, due: int) -> None:
        visitor_id, customer_id = visitor.visitor_id, visitor.customer_id
        customer = 0 if customer_id is None else customer_id + 1
        if visitor_id > _ID_MASK or customer > _ID_MASK:
            msg = f"visitor and customer ids above {_ID_MASK - 1} do not fit in a pool entry"
            raise OverflowError(msg)
        if visitor.cart is not None:
            self._carts[visitor_id] = visitor.cart.packed()
        if self._queue is not None:
            self._queue.push(due, visitor_id, customer, visitor.kind)
            return
        entry = due << _DUE_SHIFT | visitor_id << _ID_SHIFT | customer << _CUSTOMER_SHIFT
        heappush(self._waiting, entry | visitor.kind)

    def take(self, now: int) -> Visitor | None:
        """The visitor who most recently became due, or None if nobody is due."""
        if self._queue is not None:
            taken = self._queue.take(now, self._patience, self._forget)
            if taken is None:
                return None
            visitor_id, customer, kind = taken
        else:
            waiting, due = self._waiting, self._due
            limit = (now + 1) << _DUE_SHIFT  # entries due at or before now are below
            while waiting and waiting[0] < limit:
                due.append(heappop(waiting))
            churned = (now - self._patience) << _DUE_SHIFT  # entries due before that are below
            while due and due[0] < churned:
                entry = due.popleft()
                self._forget(entry >> _ID_SHIFT & _ID_MASK, entry >> _CUSTOMER_SHIFT & _ID_MASK)
            if not due:
                return None
            entry = due.pop()
            visitor_id = entry >> _ID_SHIFT & _ID_MASK
            customer, kind = entry >> _CUSTOMER_SHIFT & _ID_MASK, entry & _KIND_MASK
        visitor = Visitor(visitor_id, kind, self._kinds)
        if customer:
            visitor.customer_id = customer - 1
        cart = self._carts.pop(visitor_id, None)
        if cart is not None:
            visitor.cart = Cart.unpacked(cart)
        return visitor

    def _forget(self, visitor_id: int, customer: int) -> None:
        """A visitor has churned: they will never come back, nor their account or cart.

        ``customer`` is the customer id + 1, as in a pool entry (0: none).
        """
        cart = self._carts.pop(visitor_id, None)
        if cart is not None:
            self.churned_carts.append(marshal.loads(cart)[0])  # noqa: S302 - see Cart.unpacked
        if customer:
            self.churned_customers.append(customer - 1)
