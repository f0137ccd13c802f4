"""Who visits: new visitors, returning ones, and the identities of customers."""

from __future__ import annotations

import heapq
from collections import deque

from fauxsim.clock import DAY
from fauxsim.simulation.wordlists import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES


class Customer:
    __slots__ = ("country", "customer_id", "email", "first_name", "last_name")

    def __init__(self, customer_id: int, bits: int, country: str) -> None:
        """A customer named by ``bits``, 64 random bits of their own (``randomness.derive``)."""
        # Three picks from one 64-bit number, read as digits in mixed bases: far cheaper
        # than seeding a stream for three draws, and as good (the lists are short).
        bits, first = divmod(bits, len(FIRST_NAMES))
        bits, last = divmod(bits, len(LAST_NAMES))
        self.customer_id = customer_id
        self.first_name = FIRST_NAMES[first]
        self.last_name = LAST_NAMES[last]
        domain = EMAIL_DOMAINS[bits % len(EMAIL_DOMAINS)]
        local = f"{self.first_name}.{self.last_name}".lower().replace("'", "").replace(" ", "")
        # The id keeps addresses unique however often a name pair repeats.
        self.email = f"{local}.{customer_id}@{domain}"
        self.country = country


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


class Cart:
    __slots__ = ("cart_id", "lines", "session_id")

    def __init__(self, cart_id: int, session_id: int) -> None:
        self.cart_id = cart_id
        self.session_id = session_id  # the session that created it: later ones recover it
        self.lines: dict[int, CartLine] = {}

    def live_lines(self) -> list[CartLine]:
        return [line for line in self.lines.values() if not line.removed]


class Visitor:
    __slots__ = ("browser", "cart", "country", "customer", "device", "visitor_id")

    def __init__(self, visitor_id: int, device: str, browser: str, country: str) -> None:
        self.visitor_id = visitor_id
        self.device = device
        self.browser = browser
        self.country = country
        self.customer: Customer | None = None
        self.cart: Cart | None = None


class ReturningPool:
    """Visitors who may come back, each from a moment drawn from the return-gap curve.

    A returning arrival takes the visitor who most recently became due, so the observed
    gaps follow the configured distribution; visitors left waiting longer than
    ``patience`` have churned and are forgotten, which keeps memory bounded.
    """

    def __init__(self, patience: int = 60 * DAY) -> None:
        self._waiting: list[tuple[int, int, Visitor]] = []  # (due, visitor_id, visitor) heap
        self._due: deque[tuple[int, Visitor]] = deque()
        self._patience = patience

    def __len__(self) -> int:
        return len(self._waiting) + len(self._due)

    def add(self, visitor: Visitor, due: int) -> None:
        heapq.heappush(self._waiting, (due, visitor.visitor_id, visitor))

    def take(self, now: int) -> Visitor | None:
        """The visitor who most recently became due, or None if nobody is due."""
        waiting, due = self._waiting, self._due
        while waiting and waiting[0][0] <= now:
            moment, _, visitor = heapq.heappop(waiting)
            due.append((moment, visitor))
        while due and due[0][0] < now - self._patience:
            due.popleft()
        return due.pop()[1] if due else None
