"""One run into several sinks at once (a stream beside Postgres or files), each resumed
from where it stands.

Every sink of a run has its own resume point: Postgres its committed watermark, the
stream the last batch the broker confirmed, files none (they are written whole). The run
resumes from the earliest, and each sink is handed only what it does not hold yet:
:class:`ResumedSink` drops batches it already holds and, in the batch that straddles its
resume point, the events received before it (entity rows are upserts, so a row repeated
from the straddling checkpoint is harmless: an ordinary resume repeats none, see
``runner._changed_since``, but this one resumes from another sink's point).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.events import RECEIVED_AT
from fauxsim.sinks.base import Batch
from fauxsim.tables import EVENTS, QUIRKS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fauxsim.sinks.base import Sink

# A quirk row's last column is when its event happened (see fauxsim.quirks), the moment
# the runner resumes it by.
_QUIRK_HAPPENED_AT = -1


def earliest_resume(points: Sequence[int | None]) -> int | None:
    """Where a run into sinks standing at ``points`` resumes (None: from the start)."""
    if not points or any(point is None for point in points):
        return None
    return min(point for point in points if point is not None)


@dataclass
class ResumedSink:
    """A sink that is handed only what comes after its own resume point."""

    sink: Sink
    resume_after: int | None

    def write(self, batch: Batch) -> None:
        after = self.resume_after
        if after is None:
            self.sink.write(batch)
            return
        if batch.watermark <= after:
            return  # it holds all of this batch already
        rows = dict(batch.rows)
        if EVENTS.name in rows:
            rows[EVENTS.name] = [row for row in rows[EVENTS.name] if row[RECEIVED_AT] >= after]
        if QUIRKS.name in rows:
            rows[QUIRKS.name] = [
                row for row in rows[QUIRKS.name] if row[_QUIRK_HAPPENED_AT] >= after
            ]
        self.resume_after = None  # later batches are all new to it
        self.sink.write(Batch(batch.watermark, rows))

    def close(self) -> None:
        self.sink.close()

    def abort(self) -> None:
        self.sink.abort()


class FanOut:
    """Writes every batch into each sink in turn.

    The sinks that only read a batch come first: a file sink may empty a batch's row
    lists as it writes them (``Batch.release_rows``), so it goes last, and the batch
    keeps that flag only for it.
    """

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)

    def write(self, batch: Batch) -> None:
        *readers, last = self.sinks
        if readers:
            kept = Batch(batch.watermark, batch.rows)  # no release: the next sink reads them
            for sink in readers:
                sink.write(kept)
        last.write(batch)

    def close(self) -> None:
        """Close each sink; if one fails, abort the ones not closed yet, then raise."""
        for position, sink in enumerate(self.sinks):
            try:
                sink.close()
            except BaseException:
                for rest in self.sinks[position + 1 :]:
                    rest.abort()
                raise

    def abort(self) -> None:
        for sink in self.sinks:
            sink.abort()
