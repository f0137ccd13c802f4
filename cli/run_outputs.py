"""Where ``fauxsim run`` writes: files, Postgres and/or the RabbitMQ stream.

Files go with ``--out``/``--format``; Postgres otherwise, except that with ``--stream``
alone only the stream is written (Postgres too when ``--db`` or ``$DATABASE_URL`` names
one; the embedded server is not started for a stream run). Several outputs are one
:class:`~fauxsim.sinks.fanout.FanOut`, each resumed from where it stands.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fauxsim.sinks.fanout import FanOut, ResumedSink, earliest_resume

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

    from fauxsim.scenario.model import Scenario
    from fauxsim.sinks.base import Sink


@dataclass
class Output:
    """One place a run writes to."""

    kind: str  # "files", "database" or "stream"
    sink: Sink
    resume_after: int | None
    where: str


@dataclass
class Outputs:
    """Every place a run writes to, opened in order; closed or aborted as one sink."""

    opened: list[Output] = field(default_factory=list)

    @property
    def sink(self) -> Sink:
        if len(self.opened) == 1:
            return self.opened[0].sink
        # Readers first, files last: a file sink empties the rows it has written.
        ordered = sorted(self.opened, key=lambda output: output.kind == "files")
        resume = self.resume_after
        return FanOut(
            [
                output.sink
                if output.resume_after == resume
                else ResumedSink(output.sink, output.resume_after)
                for output in ordered
            ]
        )

    @property
    def resume_after(self) -> int | None:
        return earliest_resume([output.resume_after for output in self.opened])

    @property
    def kinds(self) -> set[str]:
        return {output.kind for output in self.opened}

    @property
    def where(self) -> str:
        return " and ".join(output.where for output in self.opened)

    def abort(self) -> None:
        for output in self.opened:
            output.sink.abort()

    def what_was_kept(self, target: Path) -> str:
        """What a stopped run leaves behind, for its closing message."""
        if not self.opened:
            return "nothing was written"
        return "; ".join(_kept(output, target) for output in self.opened)


def open_outputs(
    outputs: Outputs,
    scenario: Scenario,
    *,
    files: tuple[str, Path] | None,
    db: str | None,
    stream: str | None,
    stream_exchange: str,
    replace: bool,
    until: dt.datetime | dt.date | None,
) -> None:
    """Open every output the options name into ``outputs``; if one fails, the ones opened
    are aborted."""
    try:
        if stream is not None:
            from fauxsim.sinks.stream import open_stream_sink  # noqa: PLC0415 - stream runs only

            published = open_stream_sink(stream, scenario, exchange=stream_exchange)
            outputs.opened.append(
                Output("stream", published, published.resume_after, published.describe())
            )
        if files is None and (stream is None or db is not None or os.environ.get("DATABASE_URL")):
            from fauxsim.sinks.postgres.process import open_loader_process  # noqa: PLC0415

            # Loading runs in a child process, on the other core (see sinks.postgres.process).
            database = open_loader_process(db, scenario, replace=replace, until=until)
            outputs.opened.append(
                Output("database", database, database.resume_after, database.describe())
            )
        if files is not None:
            from fauxsim.sinks.base import open_sink  # noqa: PLC0415 - only file runs need it
            from fauxsim.sinks.files.folder import signals_held  # noqa: PLC0415

            format_name, target = files
            # A stop waits until the sink is opened and known: it then removes the files the
            # sink began (a stop half-way through opening it left them behind, unnamed).
            with signals_held():
                sink = open_sink(format_name, target)
                outputs.opened.append(Output("files", sink, None, f"{target}/ ({format_name})"))
    except BaseException:
        outputs.abort()
        raise


def _kept(output: Output, target: Path) -> str:
    if output.kind == "database":
        from fauxsim.sinks.postgres.process import LoaderProcess  # noqa: PLC0415 - as opened

        if isinstance(output.sink, LoaderProcess) and output.sink.completed:
            return "after the run had finished: the database holds all of it"
        return "everything committed so far is kept: run the same command again to resume"
    if output.kind == "stream":
        return (
            "every event the broker confirmed stays published: the same command publishes the rest"
        )
    from fauxsim.sinks.files.table_files import TableFilesSink  # noqa: PLC0415

    if isinstance(output.sink, TableFilesSink) and output.sink.published:
        return f"after the run had finished: the files in {target}/ are complete"
    return f"nothing written to {target}/ (files there from an earlier run are untouched)"
