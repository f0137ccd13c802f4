"""Paging stays correct while rows are being written, as in live mode.

A paging run fixes its horizon (now - settle) on the first page: it finishes even
while writes continue, never returns a row twice, and leaves every row changed or
committed late to the next incremental run, which picks them up. Two runs merged by
id (later wins, as dlt's merge does) equal one full read of the final table.
"""

from __future__ import annotations

import psycopg
from api_support import ROWS, issue, running_client

from fauxsim.tables import ORDERS

_COLUMNS = ", ".join(ORDERS.column_names)
_NEW_ID = 1_000_000


def _write_while_paging(connection: psycopg.Connection, page_number: int, seen: set[int]) -> None:
    """Writes like a live generator's: some rows change now, some arrive late."""
    unseen = connection.execute(
        "SELECT order_id FROM orders WHERE order_id <> ALL(%s) ORDER BY order_id DESC LIMIT 3",
        (list(seen),),
    ).fetchall()
    connection.execute(
        "UPDATE orders SET status = 'changed', updated_at = now() WHERE order_id = ANY(%s)",
        ([row[0] for row in unseen],),
    )
    copy_columns = _COLUMNS.replace("order_id", "order_id + %(offset)s")
    copy_columns = copy_columns.replace("updated_at", "now() - %(late)s::interval")
    for offset, late in ((_NEW_ID, "0 seconds"), (2 * _NEW_ID, "30 seconds")):
        connection.execute(
            f"INSERT INTO orders ({_COLUMNS}) SELECT {copy_columns} FROM orders"  # noqa: S608
            " WHERE order_id = %(source)s",
            {"offset": offset + page_number, "late": late, "source": page_number + 1},
        )
    connection.commit()


def test_two_incremental_runs_during_writes_equal_one_full_read(fresh_database):
    token = issue(fresh_database)
    run_one: list[dict] = []
    with (
        running_client(fresh_database, token, settle_seconds=60) as client,
        psycopg.connect(fresh_database) as writer,
    ):
        cursor, pages = None, 0
        while True:
            params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            body = client.get("/v1/orders", params=params).json()
            run_one += body["data"]
            pages += 1
            _write_while_paging(writer, pages, {row["order_id"] for row in run_one})
            cursor = body["next_cursor"]
            if cursor is None:
                break

    ids = [row["order_id"] for row in run_one]
    assert len(ids) == len(set(ids)), "a row came twice"
    keys = [(row["updated_at"], row["order_id"]) for row in run_one]
    assert keys == sorted(keys)
    assert all(row["order_id"] < _NEW_ID for row in run_one), "a row newer than the horizon"
    assert all(row["status"] != "changed" for row in run_one)

    # A minute later (settle 0 stands in for the wait), the next incremental run.
    last_seen = max(row["updated_at"] for row in run_one)
    with running_client(fresh_database, token, settle_seconds=0) as client:
        run_two = _read_all(client, updated_since=last_seen)
        full = _read_all(client)

    merged = {row["order_id"]: row for row in run_one}
    merged.update({row["order_id"]: row for row in run_two})
    assert merged == {row["order_id"]: row for row in full}
    late = [row for row in run_two if row["order_id"] >= 2 * _NEW_ID]
    assert len(late) == pages, "every row committed 30 s late reached the second run"


def _read_all(client, **params) -> list[dict]:
    rows, cursor = [], None
    while True:
        query = {"limit": 1000, **params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/orders", params=query).json()
        rows += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def test_horizon_is_fixed_on_the_first_page(fresh_database):
    """A row changed after the first page moves past the horizon and out of this run.

    Were the horizon recomputed per page, the run would meet the row again at its new
    time and, with rows changing steadily, might never end.
    """
    token = issue(fresh_database)
    with running_client(fresh_database, token, settle_seconds=0) as client:
        first = client.get("/v1/products", params={"limit": 10}).json()
        seen = {row["product_id"] for row in first["data"]}
        unseen = next(i for i in range(1, ROWS + 1) if i not in seen)
        with psycopg.connect(fresh_database) as writer:
            writer.execute(
                "UPDATE products SET updated_at = now() WHERE product_id = %s", (unseen,)
            )
        rest = _read_all_products(client, first["next_cursor"])
    ids = [row["product_id"] for row in first["data"] + rest]
    assert unseen not in ids
    assert len(ids) == len(set(ids)) == ROWS - 1


def _read_all_products(client, cursor):
    rows = []
    while cursor:
        body = client.get("/v1/products", params={"limit": 10, "cursor": cursor}).json()
        rows += body["data"]
        cursor = body["next_cursor"]
    return rows


def test_rows_a_run_committed_are_served_even_when_dated_in_the_future(fresh_database):
    """A scenario set in the future: its rows lie past now - settle, but before the
    watermark its run committed, so they are final and served; rows past the watermark
    (written by something else) wait as before."""
    token = issue(fresh_database)
    with psycopg.connect(fresh_database) as writer:
        writer.execute("UPDATE orders SET updated_at = updated_at + interval '10 years'")
        writer.execute(
            "INSERT INTO runs (scenario_name, scenario_digest, seed, code_version, status, "
            "watermark) SELECT 'future', 'digest', 1, 'test', 'complete', "
            "max(updated_at) - interval '1 hour' FROM orders"
        )
        committed = writer.execute(
            "SELECT count(*) FROM orders WHERE updated_at < (SELECT watermark FROM runs)"
        ).fetchone()
    assert committed is not None
    assert 0 < committed[0] < ROWS
    with running_client(fresh_database, token, settle_seconds=60) as client:
        served = _read_all(client)
    assert len(served) == committed[0]
