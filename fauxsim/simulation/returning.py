"""Returning visitors: who comes back, and after how long (#18 item 8).

The pool keeps the visitors who may come back in the order their last visit ended. A
returning arrival at ``now`` draws a gap from the scenario's ``return_gap_days`` and
takes the visitor whose last visit ended latest at or before ``now - gap``. The gaps of
returning sessions then follow the configuration whatever the traffic does: a spike
takes more visitors, each after a gap drawn like any other, instead of pulling the
visitors who were due soonest.

From the first day: the pool starts with the visitors of the weeks before the start
(:func:`past_visits`), as a shop that opens its data window has customers who came
before it; so the returning share is the configured one from the first session.

A visitor is kept as three integers in arrays (when their visit ended; id and kind;
customer id), and their cart, if any, packed into one ``bytes`` (``Cart.packed``):
a few dozen bytes each, none of them objects the garbage collector looks at.
"""

from __future__ import annotations

import marshal
from array import array
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from fauxsim.clock import HOUR
from fauxsim.simulation.audience import KIND_BITS, Cart, Visitor

if TYPE_CHECKING:
    from collections.abc import Callable

    from fauxsim.randomness import Uniform
    from fauxsim.simulation.audience import VisitorKinds
    from fauxsim.simulation.sampling import WholeSampler

# A visitor's id and kind in one integer: id << KIND_BITS | kind (kinds: VisitorKinds).
_KIND_MASK = (1 << KIND_BITS) - 1
_MAX_VISITOR_ID = (1 << (63 - KIND_BITS)) - 1
# Gaps drawn once to know the distribution (its quantiles), without knowing its type.
_GAP_SAMPLE = 4096
# How much of the gap distribution the pool remembers visitors for (see ReturningGaps).
_REMEMBERED = 0.99
# Compact the arrays once this many entries at their start are gone, and half of them.
_COMPACT_AFTER = 4096


class ReturningGaps:
    """The return-gap distribution as a sample: its quantiles and CDF, whatever its type.

    ``horizon`` is how long a visitor is remembered after their last visit: the gap below
    which 99% of gaps fall (a longer gap takes the longest-remembered visitor).
    """

    def __init__(self, gap: WholeSampler, draw: Uniform, timeout: int) -> None:
        self.gap = gap
        self.timeout = timeout
        self._sorted = sorted(max(gap(draw), timeout) for _ in range(_GAP_SAMPLE))
        self.horizon = self._sorted[int(_REMEMBERED * _GAP_SAMPLE)]

    def below(self, gap: int) -> float:
        """The share of gaps at most ``gap`` long."""
        return bisect_right(self._sorted, gap) / _GAP_SAMPLE


def past_visit_counts(
    expected: Callable[[int], float], start: int, gaps: ReturningGaps, returning_share: float
) -> list[tuple[int, int]]:
    """How many visitors who came before ``start`` had their last visit end in each hour
    of the pool's horizon before it: (hour start, count), hours of none left out.

    Each hour's expected sessions (``expected(hour_start)``), less those whose visitor came
    back before the start (a visit at ``s`` is the visitor's last with chance ``1 - share *
    F(start - s)``): whole visits per hour, the fraction carried to the next. No draws: the
    shards a process runs share the counts (``TrafficModel.shared``).
    """
    first = start - gaps.horizon
    hour_start = first - first % HOUR
    carried = 0.0
    counts: list[tuple[int, int]] = []
    while hour_start < start:
        middle = hour_start + HOUR // 2
        carried += expected(hour_start) * (1.0 - returning_share * gaps.below(start - middle))
        count = int(carried)
        carried -= count
        if count:
            counts.append((hour_start, count))
        hour_start += HOUR
    return counts


def past_visits(
    counts: list[tuple[int, int]], start: int, gaps: ReturningGaps, draw: Uniform
) -> list[int]:
    """When the last visits of the visitors who came before ``start`` ended, in order:
    ``counts`` of each hour (``past_visit_counts``), at moments uniform in the hour."""
    first = start - gaps.horizon
    drawn = [hour_start + int(draw() * HOUR) for hour_start, count in counts for _ in range(count)]
    # One sort: the hours do not overlap, so it orders each hour's moments as a sort of each
    # would, and the hours in order (a shard of a small shop has many hours of one or two).
    # In place, then the moments from ``first`` to ``start`` cut out: a big shop's shard
    # draws millions.
    drawn.sort()
    return drawn[bisect_left(drawn, first) : bisect_left(drawn, start)]


# How much longer than the drawn gap a strict take may reach back (see ReturningPool.take).
STRICT_SLACK = 1.25


class ReturningPool:
    """Visitors who may come back, in the order their last visit ended.

    ``take(now, gap)`` returns the visitor whose last visit ended latest at or before
    ``now - gap`` (never within the session timeout: that would be the same
    session). If every such visitor was taken already, or the gap is longer than anyone
    is remembered, the visitor remembered longest comes back. Visitors whose last visit
    is older than ``gaps.horizon`` have churned and are forgotten.
    """

    def __init__(self, kinds: VisitorKinds, gaps: ReturningGaps, draw: Uniform) -> None:
        self._kinds = kinds
        self._gaps = gaps
        self._draw = draw  # for the gaps drawn at each return
        # One entry a visitor, in the order their last visit ended. A taken entry's
        # ``_who`` is negative: -(index + 2) of an entry below that may not be taken
        # (path-compressed as they are searched), so runs of taken entries are skipped.
        self._ends = array("q")  # when their last visit ended
        self._who = array("q")  # visitor_id << KIND_BITS | kind
        self._customers = array("q")  # customer id + 1 (0: none)
        self._head = 0  # entries before it are taken or forgotten
        self._live = 0
        self._carts: dict[int, bytes] = {}  # packed carts, by visitor id
        # What churned visitors leave behind that can never change again, to tell the
        # projector (see Simulation.finished): their customer accounts and carts.
        self.churned_customers: list[int] = []
        self.churned_carts: list[int] = []

    def __len__(self) -> int:
        return self._live

    def add(self, visitor: Visitor, ended_at: int) -> None:
        """A visitor whose visit ended at ``ended_at`` (no earlier than the last added)."""
        ends = self._ends
        if ends and ended_at < ends[-1]:
            msg = f"visits are added in the order they ended ({ended_at} < {ends[-1]})"
            raise ValueError(msg)
        visitor_id, customer_id = visitor.visitor_id, visitor.customer_id
        if visitor_id > _MAX_VISITOR_ID:
            msg = f"visitor ids above {_MAX_VISITOR_ID} do not fit in a pool entry"
            raise OverflowError(msg)
        if visitor.cart is not None:
            self._carts[visitor_id] = visitor.cart.packed()
        ends.append(ended_at)
        self._who.append(visitor_id << KIND_BITS | visitor.kind)
        self._customers.append(0 if customer_id is None else customer_id + 1)
        self._live += 1

    def draw_gap(self) -> int:
        """A return gap from the configured distribution (at least the session timeout),
        drawn from this pool's stream."""
        gaps = self._gaps
        return max(gaps.gap(self._draw), gaps.timeout)

    def take(self, now: int, gap: int, *, strict: bool = False) -> Visitor | None:
        """A visitor back at ``now`` after ``gap`` (``draw_gap``), or None if nobody can be.

        ``strict``: only a visitor whose last visit ended within ``STRICT_SLACK`` times the
        gap (else None, and nobody is taken), never the one remembered longest instead: for
        a pool that shares the returning visits with another (the customers'), which then
        takes the visit with the same gap.
        """
        gaps = self._gaps
        self._churn(now - gaps.horizon)
        ends, head = self._ends, self._head
        if head == len(ends):
            return None
        at = self._untaken_from(bisect_right(ends, now - gap, head) - 1)
        if strict:
            if at < head or ends[at] < now - round(gap * STRICT_SLACK):
                return None
        elif at < head:  # nobody left that long ago: the one remembered longest
            at = head
            if ends[at] > now - gaps.timeout:
                return None
        return self._taken(at)

    def _untaken_from(self, at: int) -> int:
        """The last entry not taken at or below ``at`` (below the head if none)."""
        who, head = self._who, self._head
        found = at
        while found >= head and who[found] < 0:
            found = -who[found] - 2
        while at > found:  # point the taken entries passed straight at what was found
            below = -who[at] - 2
            who[at] = -found - 2
            at = below
        return found

    def _taken(self, at: int) -> Visitor:
        entry, customer = self._who[at], self._customers[at]
        self._who[at] = -(at - 1) - 2
        self._live -= 1
        visitor_id = entry >> KIND_BITS
        visitor = Visitor(visitor_id, entry & _KIND_MASK, self._kinds)
        if customer:
            visitor.customer_id = customer - 1
        cart = self._carts.pop(visitor_id, None)
        if cart is not None:
            visitor.cart = Cart.unpacked(cart)
        return visitor

    def _churn(self, before: int) -> None:
        """Forget the visitors whose last visit ended before ``before``; skip taken ones."""
        ends, who, head = self._ends, self._who, self._head
        size = len(ends)
        while head < size and (who[head] < 0 or ends[head] < before):
            entry = who[head]
            if entry >= 0:
                self._forget(entry >> KIND_BITS, self._customers[head])
                self._live -= 1
            head += 1
        self._head = head
        if head >= _COMPACT_AFTER and 2 * head >= size:
            self._compact()

    def _compact(self) -> None:
        """Drop the entries before the head, and the taken ones after it."""
        ends, who, customers, head = self._ends, self._who, self._customers, self._head
        kept = [at for at in range(head, len(ends)) if who[at] >= 0]
        self._ends = array("q", [ends[at] for at in kept])
        self._who = array("q", [who[at] for at in kept])
        self._customers = array("q", [customers[at] for at in kept])
        self._head = 0

    def _forget(self, visitor_id: int, customer: int) -> None:
        """A visitor has churned: they will never come back, nor their account or cart.

        ``customer`` is the customer id + 1, as in a pool entry (0: none).
        """
        cart = self._carts.pop(visitor_id, None)
        if cart is not None:
            self.churned_carts.append(marshal.loads(cart)[0])  # noqa: S302 - see Cart.unpacked
        if customer:
            self.churned_customers.append(customer - 1)
