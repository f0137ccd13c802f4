"""What every file sink does alike: partial files, clean failure, clear errors, flat memory."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from functools import partial
from pathlib import Path

import pytest
from sink_rows import lazy_event_batches, one_batch, rows_of_every_table, write_with

from fauxsim.errors import SinkError
from fauxsim.sinks.base import Batch
from fauxsim.sinks.files import table_files
from fauxsim.sinks.files.arrow_columns import POOL
from fauxsim.sinks.files.csv import CsvTableWriter, open_csv
from fauxsim.sinks.files.jsonl import open_jsonl
from fauxsim.sinks.files.parquet import ParquetTableWriter, open_parquet
from fauxsim.tables import ALL_TABLES

FORMATS = {"jsonl": open_jsonl, "csv": open_csv, "parquet": open_parquet}
ROWS = rows_of_every_table(5)
HERE = Path(__file__).parent

every_format = pytest.mark.parametrize("extension", list(FORMATS))


def open_descriptors() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def final_names(extension: str) -> set[str]:
    return {f"{spec.name}.{extension}" for spec in ALL_TABLES}


def names_in(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


@every_format
def test_files_keep_a_partial_name_until_close(extension, tmp_path):
    sink = FORMATS[extension](tmp_path)
    sink.write(Batch(0, ROWS))

    assert names_in(tmp_path) == {f".{name}.partial" for name in final_names(extension)}
    sink.close()
    assert names_in(tmp_path) == final_names(extension)
    assert set(sink.paths.values()) == {tmp_path / name for name in final_names(extension)}


def test_a_run_removes_what_a_dead_run_left_unfinished_in_another_format(tmp_path):
    """The files a killed run left are hidden (``.events.parquet.partial``): a run in
    another format into the folder removes them, or they would stay there unseen."""
    left = [tmp_path / f".{name}.partial" for name in final_names("parquet")]
    for path in left:
        path.write_bytes(b"half a file")
    (tmp_path / ".notes.partial").write_text("not ours")
    sink = FORMATS["csv"](tmp_path)
    sink.close()
    assert names_in(tmp_path) == final_names("csv") | {".notes.partial"}


@every_format
def test_a_killed_process_leaves_only_partial_files(extension, tmp_path):
    script = f"""
        import os, sys
        from pathlib import Path
        sys.path.insert(0, {str(HERE)!r})
        from sink_rows import one_batch, rows_of_every_table
        from fauxsim.sinks.base import open_sink
        sink = open_sink({extension!r}, Path({str(tmp_path)!r}))
        for batch in one_batch(rows_of_every_table(2000)):
            sink.write(batch)
        os._exit(3)  # dies without closing, like kill -9
    """
    died = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False)  # noqa: S603

    assert died.returncode == 3
    assert names_in(tmp_path) == {f".{name}.partial" for name in final_names(extension)}


@every_format
def test_abort_removes_partial_files_and_keeps_an_earlier_complete_output(extension, tmp_path):
    earlier = write_with(FORMATS[extension], tmp_path, one_batch(ROWS))
    sink = FORMATS[extension](tmp_path)
    sink.write(Batch(0, rows_of_every_table(9)))

    sink.abort()
    sink.abort()  # safe to repeat

    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == earlier


@every_format
def test_an_exception_inside_the_with_block_aborts(extension, tmp_path):
    def interrupted_run() -> None:
        with FORMATS[extension](tmp_path) as sink:
            sink.write(Batch(0, ROWS))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_run()

    assert names_in(tmp_path) == set()


@every_format
def test_an_aborted_run_removes_the_folders_it_created_and_keeps_existing_ones(extension, tmp_path):
    (tmp_path / "kept").mkdir()
    for out in (tmp_path / "new" / "nested", tmp_path / "kept"):
        sink = FORMATS[extension](out)
        sink.write(Batch(0, ROWS))
        sink.abort()
    assert names_in(tmp_path) == {"kept"}
    assert names_in(tmp_path / "kept") == set()


@every_format
def test_a_stop_while_closing_aborts_and_keeps_the_earlier_files(extension, tmp_path, monkeypatch):
    """Ctrl-C while the files are flushed to disk: nothing published, earlier files intact."""
    earlier = write_with(FORMATS[extension], tmp_path, one_batch(ROWS))
    flushed = []

    def flush_then_stop(path: Path) -> None:
        flushed.append(path)
        if len(flushed) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(table_files, "flush_to_disk", flush_then_stop)
    sink = FORMATS[extension](tmp_path)
    sink.write(Batch(0, rows_of_every_table(9)))
    with pytest.raises(KeyboardInterrupt):
        sink.close()
    assert not sink.published
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == earlier


def test_ctrl_c_during_the_renames_waits_until_every_file_is_published(tmp_path, monkeypatch):
    """The folder never mixes files of two runs: a stop comes after the last rename."""
    renamed = []
    replace = Path.replace

    def replace_and_stop(self: Path, target: Path) -> Path:
        if not renamed:
            os.kill(os.getpid(), signal.SIGINT)  # held until the renames are done
        renamed.append(target.name)
        return replace(self, target)

    sink = open_jsonl(tmp_path)
    sink.write(Batch(0, ROWS))
    monkeypatch.setattr(Path, "replace", replace_and_stop)
    with pytest.raises(KeyboardInterrupt):
        sink.close()
    assert sink.published
    assert set(renamed) == names_in(tmp_path) == final_names("jsonl")


@every_format
def test_close_twice_is_harmless_but_writing_after_close_is_a_bug(extension, tmp_path):
    sink = FORMATS[extension](tmp_path)
    sink.close()
    sink.close()

    with pytest.raises(RuntimeError, match=r"write\(\) called after close\(\) or abort\(\)"):
        sink.write(Batch(0, ROWS))


@every_format
def test_a_batch_for_an_unknown_table_is_refused(extension, tmp_path):
    sink = FORMATS[extension](tmp_path)
    valid = ", ".join(spec.name for spec in ALL_TABLES)

    with pytest.raises(
        ValueError, match=f"unknown table 'nope' in batch. Valid values are: {valid}"
    ):
        sink.write(Batch(0, {"nope": [(1,)]}))
    sink.abort()


@every_format
def test_the_output_folder_and_its_parents_are_created(extension, tmp_path):
    out = tmp_path / "new" / "deeper"

    write_with(FORMATS[extension], out, one_batch(ROWS))

    assert names_in(out) == final_names(extension)


@every_format
def test_an_output_folder_that_is_a_file_is_a_user_error(extension, tmp_path):
    out = tmp_path / "data"
    out.write_text("not a folder")

    with pytest.raises(SinkError) as raised:
        FORMATS[extension](out)

    assert str(raised.value) == (
        f"output folder '{out}' is a file, not a folder. "
        "Pass a folder path (it is created if missing) or move the file away."
    )


@every_format
def test_an_output_folder_that_cannot_be_created_is_a_user_error(extension, tmp_path):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "data"

    with pytest.raises(SinkError) as raised:
        FORMATS[extension](out)

    assert str(raised.value) == (
        f"cannot create output folder '{out}': Not a directory. "
        "Pass a folder path you can write to."
    )


@every_format
def test_a_file_that_cannot_be_opened_is_a_user_error_and_nothing_is_left(extension, tmp_path):
    """The OS refusing one file (here: a folder in the way) cleans up the others."""
    blocked = tmp_path / f".events.{extension}.partial"
    blocked.mkdir()

    with pytest.raises(SinkError) as raised:
        FORMATS[extension](tmp_path)

    message = str(raised.value)
    assert message.startswith(f"cannot write '{blocked}': ")
    assert "is a directory" in message.lower()
    assert message.endswith(
        ". Check that the output folder is writable and the disk has space, then run again."
    )
    assert names_in(tmp_path) == {blocked.name}


def test_a_stop_while_the_last_file_is_being_opened_leaves_no_folder(tmp_path):
    """Ctrl-C after the last table's partial file exists but before its writer is ready:
    the folder the sink created goes too (it used to stay behind, empty)."""
    out = tmp_path / "out"

    def open_writer(spec, path, chunk_rows):
        if spec is ALL_TABLES[-1]:
            path.write_bytes(b"a header")
            raise KeyboardInterrupt
        return CsvTableWriter(spec, path, chunk_rows)

    with pytest.raises(KeyboardInterrupt):
        table_files.TableFilesSink(out, extension="csv", open_writer=open_writer)
    assert not out.exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux /dev/full")
@every_format
def test_a_full_disk_is_a_user_error_and_leaves_no_file_posing_as_complete(extension, tmp_path):
    (tmp_path / f".events.{extension}.partial").symlink_to("/dev/full")
    open_files = open_descriptors()

    with pytest.raises(SinkError, match=r"events\.\w+\.partial': No space left on device"):
        write_with(FORMATS[extension], tmp_path, one_batch(rows_of_every_table(500)))

    assert names_in(tmp_path) == set()
    assert open_descriptors() == open_files


@every_format
def test_a_final_name_taken_by_a_folder_fails_at_close_and_leaves_nothing_partial(
    extension, tmp_path
):
    taken = tmp_path / f"orders.{extension}"
    taken.mkdir()
    sink = FORMATS[extension](tmp_path)
    sink.write(Batch(0, ROWS))

    with pytest.raises(SinkError, match=r"orders\.\w+\.partial': Is a directory"):
        sink.close()

    assert not any(name.endswith(".partial") for name in names_in(tmp_path))
    assert taken.is_dir()


SMALL_BUFFERS = {
    "jsonl": partial(open_jsonl, chunk_rows=256),
    "csv": partial(open_csv, chunk_rows=256),
    "parquet": partial(open_parquet, chunk_rows=256, row_group_rows=1024),
}


def peak_memory(extension: str, out: Path, total_rows: int) -> tuple[int, int]:
    """Peak Python memory and peak Arrow memory while writing ``total_rows`` events."""
    gc.collect()
    tracemalloc.start()
    arrow_peak = 0
    with SMALL_BUFFERS[extension](out) as sink:
        for batch in lazy_event_batches(total_rows, batch_rows=100):
            sink.write(batch)
            arrow_peak = max(arrow_peak, POOL.bytes_allocated())  # the file sinks' Arrow pool
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return python_peak, arrow_peak


@pytest.mark.slow
@every_format
def test_memory_does_not_grow_with_the_number_of_rows(extension, tmp_path):
    peak_memory(extension, tmp_path / "warm-up", 1_000)  # imports and caches
    small = peak_memory(extension, tmp_path / "small", 4_000)
    large = peak_memory(extension, tmp_path / "large", 16_000)

    assert large[0] < small[0] * 1.25
    assert large[1] <= small[1] * 1.25 + 64 * 1024


@every_format
def test_buffers_never_hold_more_than_a_chunk_and_a_row_group(extension, tmp_path):
    sink = SMALL_BUFFERS[extension](tmp_path)
    for batch in lazy_event_batches(5_000, batch_rows=700):
        sink.write(batch)
        for output in sink._outputs.values():
            assert output.writer.pending_rows < 256
            if isinstance(output.writer, ParquetTableWriter):
                assert output.writer.grouping_rows < 1024
    sink.close()


def test_no_file_is_left_open_after_close(tmp_path):
    before = open_descriptors()
    for open_sink in FORMATS.values():
        write_with(open_sink, tmp_path / open_sink.__name__, one_batch(ROWS))

    assert open_descriptors() == before


@pytest.mark.parametrize("extension", ["jsonl", "csv", "parquet"])
def test_a_batch_keeps_its_rows_unless_it_hands_them_over(extension, tmp_path):
    """Writers let go of rows as they write them, but only of lists the sink owns."""
    opened = {"jsonl": open_jsonl, "csv": open_csv, "parquet": open_parquet}[extension]
    rows = rows_of_every_table(40)
    kept = {name: list(table) for name, table in rows.items()}
    handed = {name: list(table) for name, table in rows.items()}

    written = write_with(partial(opened, chunk_rows=16), tmp_path / "kept", [Batch(0, kept)])
    released = write_with(
        partial(opened, chunk_rows=16), tmp_path / "handed", [Batch(0, handed, release_rows=True)]
    )

    assert released == written
    assert kept == rows  # untouched
    if extension != "jsonl":  # the compiled converter lets go (JSON Lines need not)
        from fauxsim.sinks.files.arrow_columns import COMPILED  # noqa: PLC0415

        if COMPILED:  # every row, converted as it is added, even those of a partial chunk
            for table in handed.values():
                assert table == [None] * len(table)


@pytest.mark.parametrize("at", [1, 5], ids=["in-a-chunk", "left-for-the-next-batch"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
@pytest.mark.parametrize("extension", ["jsonl", "csv", "parquet"])
def test_a_row_of_the_wrong_width_fails_its_own_batch_and_aborts(
    extension, compiled, at, tmp_path, monkeypatch
):
    from fauxsim.sinks.files import arrow_columns  # noqa: PLC0415

    if compiled and not arrow_columns.COMPILED:
        pytest.skip("the compiled converter is not built in this install")
    monkeypatch.setattr(arrow_columns, "COMPILED", compiled)
    opened = {"jsonl": open_jsonl, "csv": open_csv, "parquet": open_parquet}[extension]
    good = rows_of_every_table(3)["events"]
    assert len(good) == 6  # one, then chunks of two from the second batch
    sink = opened(tmp_path, chunk_rows=2)
    sink.write(Batch(0, {"events": good[:1]}, release_rows=True))
    second = good[1:]
    second.insert(at, good[0][:5])  # with a row too short in a chunk, or left over

    with pytest.raises(ValueError, match="values"):
        sink.write(Batch(1, {"events": second}, release_rows=True))
    with pytest.raises(RuntimeError, match="after close"):  # aborted: nothing more goes in
        sink.write(Batch(2, {"events": good[:1]}))
    sink.close()
    assert names_in(tmp_path) == set()
