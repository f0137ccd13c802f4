"""Values the shards a worker process runs share: each computed once per process.

Every shard of a scenario needs the same catalog listings, hourly rates, sign-up hours,
past-visit counts and return-gap sample; built per shard, at 64 shards of a small shop
they cost as much as the visits. A value kept here is a pure function of its key (or a
memo of pure values, filled as they are asked for), and its readers never change it.
The most recently used ``_MOST`` values are kept: a process that runs many scenarios
(the tests) does not grow without bound.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

_MOST = 64
_kept: OrderedDict[tuple[object, ...], object] = OrderedDict()


def once_per_process(key: tuple[object, ...], make: Callable[[], T]) -> T:
    """``make()``, computed the first time ``key`` is asked for in this process."""
    if key in _kept:
        _kept.move_to_end(key)
        return cast("T", _kept[key])
    value = _kept[key] = make()
    if len(_kept) > _MOST:
        _kept.popitem(last=False)
    return value
