"""Events as messages: the JSONL sink's line as body, the event's labels as properties.

The body of an event is exactly its line in ``events.jsonl`` without the newline: the
same record maker and the same timestamp text, so that the two cannot drift apart.
"""

from __future__ import annotations

from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING

import orjson

from fauxsim.clock import SECOND
from fauxsim.events import ID, RECEIVED_AT, TYPE
from fauxsim.sinks.files.arrow_columns import timestamp_texts

# The JSONL sink's own record maker, so that a message body and a JSONL line cannot drift.
from fauxsim.sinks.files.jsonl import _record_maker
from fauxsim.sinks.stream.messages import Messages
from fauxsim.tables import EVENTS, ColumnType

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fauxsim.sinks.base import Row

_STAMP_POSITIONS = tuple(
    position
    for position, column in enumerate(EVENTS.columns)
    if column.type is ColumnType.TIMESTAMP
)
_MAKE_RECORD = _record_maker(EVENTS)


def event_messages(watermark: int, events: Sequence[Row]) -> Messages:
    """The messages of ``events``; reads the rows, never changes them or their list."""
    EVENTS.check_widths(events)
    stamp_columns = [
        timestamp_texts(list(map(itemgetter(position), events))).to_pylist()
        for position in _STAMP_POSITIONS
    ]
    stamps_per_row = zip(*stamp_columns, strict=True) if stamp_columns else repeat((), len(events))
    dumps, make_record = orjson.dumps, _MAKE_RECORD
    bodies = [
        dumps(make_record(event, stamps))
        for event, stamps in zip(events, stamps_per_row, strict=True)
    ]
    return Messages(
        watermark,
        bodies,
        list(map(itemgetter(TYPE), events)),
        list(map(itemgetter(ID), events)),
        [received // SECOND for received in map(itemgetter(RECEIVED_AT), events)],
    )
