"""A batch's events as AMQP messages: four parallel lists, cheap to hand to the publisher.

The publisher process needs only this module (no pyarrow, no JSON): the run's process
makes the messages (:mod:`fauxsim.sinks.stream.bodies`) and sends them as ``marshal`` data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Messages:
    """A batch's events as messages, in delivery order (duplicates and late arrivals kept)."""

    watermark: int
    bodies: list[bytes]
    event_types: list[str]  # routing key and ``type`` property
    event_ids: list[int]  # ``message_id`` property, as text
    timestamps: list[int]  # ``timestamp`` property: received_at in whole seconds

    def __len__(self) -> int:
        return len(self.bodies)

    def pack(self) -> tuple[int, list[bytes], list[str], list[int], list[int]]:
        """Plain values for ``marshal``."""
        return (self.watermark, self.bodies, self.event_types, self.event_ids, self.timestamps)

    @classmethod
    def unpack(cls, packed: Any) -> Messages:  # noqa: ANN401 - what marshal returns
        watermark, bodies, event_types, event_ids, timestamps = packed
        return cls(watermark, bodies, event_types, event_ids, timestamps)
