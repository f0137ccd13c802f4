"""Who visits: visitors, their kinds and their carts (who comes back: ``returning``;
customers' names and addresses: ``identities``)."""

from __future__ import annotations

import marshal
from typing import TYPE_CHECKING

from fauxsim.errors import ScenarioError
from fauxsim.simulation.choice import WeightedChoice

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fauxsim.randomness import Uniform
    from fauxsim.simulation.catalog import Product


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


# Kinds of visitor fit in this many bits (a pool entry keeps one beside the visitor id).
KIND_BITS = 16


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
        if len(weighted) > 1 << KIND_BITS:
            msg = (
                f"audience: {len(devices)} devices x {len(browsers)} browsers x "
                f"{len(countries)} countries make {len(weighted)} kinds of visitor; at most "
                f"{1 << KIND_BITS} are supported. Remove some browsers or countries."
            )
            raise ScenarioError(msg)
        self.described = [kind for kind, _ in weighted]
        self._choice = WeightedChoice(range(len(weighted)), [weight for _, weight in weighted])

    def pick(self, draw: Uniform) -> int:
        return self._choice.pick(draw)
