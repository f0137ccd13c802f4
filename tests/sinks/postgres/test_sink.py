"""The Postgres sink with hand-made batches: values, upserts, the ledger and refusals."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from fauxsim.clock import to_micros
from fauxsim.scenario.model import Quirks, Scenario
from fauxsim.sinks.base import Batch
from fauxsim.sinks.postgres.connection import mask_password
from fauxsim.sinks.postgres.ledger import DatasetIdentity, DatasetMismatchError
from fauxsim.sinks.postgres.sink import open_database_sink
from tests.integration.helpers import event_row, product_row, read_table, table_counts

SCENARIO = Scenario(name="shop", start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 3))
START = to_micros(SCENARIO.start_utc)
HOUR = 3_600_000_000


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


def write_all(url: str, *batches: Batch, scenario: Scenario = SCENARIO, **options) -> None:
    with open_database_sink(url, scenario, **options) as sink:
        for batch in batches:
            sink.write(batch)


def ledger_rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(
            "SELECT run_id, status, watermark, batches, rows_written FROM runs ORDER BY run_id"
        ).fetchall()


def test_timestamps_json_and_nulls_arrive_exactly(postgres_url):
    """Microsecond timestamps (also before 2000), JSON documents and NULLs survive COPY."""
    before_2000 = to_micros(utc(1999, 12, 31, 23, 59, 59, 999_999))
    odd = START + 123_456_789
    events = [
        event_row(1, odd, properties={"q": "mugs", "n": [1, 2], "nested": {"ok": True}}),
        event_row(2, before_2000, properties=None, visitor_id=None, page=None),
    ]
    write_all(postgres_url, Batch(START + HOUR, {"events": events}))
    rows = read_table(postgres_url, "events")
    assert rows[0][2] == utc(2025, 1, 1, 0, 2, 3, 456_789)
    assert rows[0][12] == {"q": "mugs", "n": [1, 2], "nested": {"ok": True}}
    assert rows[1][2] == utc(1999, 12, 31, 23, 59, 59, 999_999)
    assert (rows[1][5], rows[1][8], rows[1][12]) == (None, None, None)


def test_a_later_row_version_replaces_the_earlier_one(postgres_url):
    write_all(
        postgres_url,
        Batch(START + HOUR, {"products": [product_row(1, START, price_cents=1000)]}),
        Batch(START + 2 * HOUR, {"products": [product_row(1, START + HOUR, price_cents=800)]}),
    )
    rows = read_table(postgres_url, "products")
    assert [(row[0], row[4], row[8]) for row in rows] == [(1, 800, utc(2025, 1, 1, 1))]


def test_an_older_version_never_overwrites_a_newer_one(postgres_url):
    """updated_at only moves forward, even if a version arrives out of order."""
    write_all(
        postgres_url,
        Batch(START + 2 * HOUR, {"products": [product_row(1, START + HOUR, price_cents=800)]}),
        Batch(START + 3 * HOUR, {"products": [product_row(1, START, price_cents=1000)]}),
    )
    assert read_table(postgres_url, "products")[0][4] == 800


def test_several_versions_of_a_row_in_one_batch_keep_the_last(postgres_url):
    """A batch spans several checkpoints, so one id can come more than once."""
    versions = [product_row(1, START + n, price_cents=1000 - n) for n in range(3)]
    write_all(postgres_url, Batch(START + HOUR, {"products": [*versions, product_row(2, START)]}))
    assert [(row[0], row[4]) for row in read_table(postgres_url, "products")] == [
        (1, 998),
        (2, 1000),
    ]


def test_every_batch_moves_the_watermark_in_the_ledger(postgres_url):
    write_all(
        postgres_url,
        Batch(START + HOUR, {"events": [event_row(1, START)]}),
        Batch(START + 2 * HOUR, {"events": [event_row(2, START + HOUR)]}),
    )
    assert ledger_rows(postgres_url) == [(1, "complete", utc(2025, 1, 1, 2), 2, 2)]


def test_the_same_scenario_resumes_after_its_committed_watermark(postgres_url):
    write_all(postgres_url, Batch(START + HOUR, {"events": [event_row(1, START)]}))
    with open_database_sink(postgres_url, SCENARIO) as again:
        assert again.resume_after == START + HOUR


def test_an_empty_database_starts_from_the_beginning(postgres_url):
    with open_database_sink(postgres_url, SCENARIO) as sink:
        assert sink.resume_after is None


def test_another_scenario_is_refused_with_how_to_replace_it(postgres_url):
    write_all(postgres_url, Batch(START + HOUR, {"events": [event_row(1, START)]}))
    other = SCENARIO.model_copy(update={"name": "other", "seed": 2})
    old, new = DatasetIdentity.of(SCENARIO), DatasetIdentity.of(other)
    with pytest.raises(DatasetMismatchError) as refused:
        open_database_sink(postgres_url, other)
    assert str(refused.value) == (
        f"the database {mask_password(postgres_url)} holds scenario 'shop' (seed 1, digest "
        f"{old.scenario_digest[:12]}, fauxsim {old.code_version}), written up to "
        "2025-01-01T01:00:00.000000Z; you asked for scenario 'other' (seed 2, digest "
        f"{new.scenario_digest[:12]}, fauxsim {new.code_version}). Pass --replace to delete "
        "it and write the new one, or use another database (--db / DATABASE_URL)."
    )
    assert table_counts(postgres_url)["events"] == 1


def test_replace_swaps_the_dataset_and_keeps_api_tokens(postgres_url):
    write_all(postgres_url, Batch(START + HOUR, {"events": [event_row(1, START)]}))
    with psycopg.connect(postgres_url) as connection:
        connection.execute(
            "INSERT INTO api_tokens (token_id, name, secret_hash, scopes, created_at) "
            "VALUES ('fg_1', 'laptop', 'h', '[]', now())"
        )
    other = SCENARIO.model_copy(update={"seed": 2})
    write_all(
        postgres_url, Batch(START + HOUR, {"events": [event_row(5, START)]}), scenario=other,
        replace=True,
    )  # fmt: skip
    assert [row[0] for row in read_table(postgres_url, "events")] == [5]
    assert ledger_rows(postgres_url) == [(1, "complete", utc(2025, 1, 1, 1), 1, 1)]
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT token_id FROM api_tokens").fetchall() == [("fg_1",)]


def test_replace_keeps_the_old_dataset_until_the_first_new_batch_commits(postgres_url):
    write_all(postgres_url, Batch(START + HOUR, {"events": [event_row(1, START)]}))
    other = SCENARIO.model_copy(update={"seed": 2})
    with pytest.raises(KeyboardInterrupt), open_database_sink(postgres_url, other, replace=True):
        raise KeyboardInterrupt
    assert [row[0] for row in read_table(postgres_url, "events")] == [1]


def test_two_runs_cannot_write_into_one_database_at_once(postgres_url):
    with open_database_sink(postgres_url, SCENARIO):
        with pytest.raises(DatasetMismatchError) as refused:
            open_database_sink(postgres_url, SCENARIO)
        assert str(refused.value).startswith(
            f"another fauxsim run is writing to {mask_password(postgres_url)} (server process "
        )
        assert str(refused.value).endswith(
            "Wait for it to finish or stop it; two runs into one database would interleave "
            "their batches."
        )
    with open_database_sink(postgres_url, SCENARIO):  # free again once the first is closed
        pass


def test_a_failing_batch_leaves_the_previous_ones_and_nothing_of_itself(postgres_url):
    dangling_line_item = (1, 99, 99, 1, 100, 100, START, START)  # order 99 does not exist
    with pytest.raises(psycopg.errors.ForeignKeyViolation):  # noqa: PT012 - raised by close
        sink = open_database_sink(postgres_url, SCENARIO)
        sink.write(Batch(START + HOUR, {"events": [event_row(1, START)]}))
        sink.write(
            Batch(
                START + 2 * HOUR,
                {"events": [event_row(2, START + HOUR)], "order_line_items": [dangling_line_item]},
            )
        )
        sink.close()
    assert table_counts(postgres_url)["events"] == 1
    assert table_counts(postgres_url)["order_line_items"] == 0
    assert ledger_rows(postgres_url) == [(1, "running", utc(2025, 1, 1, 1), 1, 1)]


def test_an_interrupted_run_is_marked_so_by_the_next_one(postgres_url):
    with pytest.raises(KeyboardInterrupt), open_database_sink(postgres_url, SCENARIO) as sink:  # noqa: PT012
        sink.write(Batch(START + HOUR, {"events": [event_row(1, START)]}))
        sink.flush()
        raise KeyboardInterrupt
    with open_database_sink(postgres_url, SCENARIO) as resumed:
        resumed.write(Batch(START + 2 * HOUR, {"events": [event_row(2, START + HOUR)]}))
    assert ledger_rows(postgres_url) == [
        (1, "interrupted", utc(2025, 1, 1, 1), 1, 1),
        (2, "complete", utc(2025, 1, 1, 2), 1, 1),
    ]


def test_duplicate_deliveries_keep_the_first_event(postgres_url):
    """With the duplicate-events quirk, one event id can arrive twice; the key holds one."""
    quirky = SCENARIO.model_copy(update={"quirks": Quirks(duplicate_events=0.1)})
    first, again = event_row(1, START, page="first"), event_row(1, START + 5, page="again")
    write_all(
        postgres_url,
        Batch(START + HOUR, {"events": [first, again]}),
        Batch(START + 2 * HOUR, {"events": [event_row(1, START + HOUR, page="later")]}),
        scenario=quirky,
    )
    assert [(row[0], row[8]) for row in read_table(postgres_url, "events")] == [(1, "first")]


def test_of_two_deliveries_the_earliest_received_is_kept_whatever_their_order(postgres_url):
    """Never the order rows come out of the staging table: it changes as it is reused."""
    quirky = SCENARIO.model_copy(update={"quirks": Quirks(duplicate_events=0.1)})
    late_copy, original = event_row(1, START + 5, page="copy"), event_row(1, START, page="original")
    filler = [event_row(n, START) for n in range(2, 400)]
    write_all(
        postgres_url,
        Batch(START + HOUR, {"events": filler}),
        Batch(START + 2 * HOUR, {"events": [late_copy, *filler[:3], original]}),
        scenario=quirky,
    )
    assert read_table(postgres_url, "events")[0][8] == "original"


def test_events_repeated_right_after_a_resume_are_written_once(postgres_url):
    write_all(postgres_url, Batch(START + HOUR, {"events": [event_row(1, START)]}))
    write_all(
        postgres_url,
        Batch(START + 2 * HOUR, {"events": [event_row(1, START), event_row(2, START + HOUR)]}),
    )
    assert [row[0] for row in read_table(postgres_url, "events")] == [1, 2]
