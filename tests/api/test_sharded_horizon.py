"""A dataset of several shards, loaded in parallel (#20): Genie serves it up to the
lowest shard's watermark, since a shard behind may still commit rows older than what
another shard has committed; once every shard is complete, everything is served."""

from __future__ import annotations

import psycopg
from api_support import ROWS, issue, running_client


def _read_all(client) -> list[dict]:
    rows, cursor = [], None
    while True:
        body = client.get(
            "/v1/orders", params={"limit": 1000, **({"cursor": cursor} if cursor else {})}
        ).json()
        rows += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


_LAST = "(SELECT max(updated_at) + interval '1 hour' FROM orders)"


def _run(writer: psycopg.Connection, shard: int, watermark: str) -> None:
    writer.execute(
        "INSERT INTO runs (scenario_name, scenario_digest, seed, code_version, status, watermark,"  # noqa: S608 - the test's own expressions
        f" shard, shards) VALUES ('sharded', 'digest', 1, 'test', 'running', {watermark}, %s, 3)",
        (shard,),
    )
    writer.commit()


def test_a_dataset_of_shards_is_served_up_to_its_lowest_shard(fresh_database):
    token = issue(fresh_database)
    middle = "(SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY updated_at) FROM orders)"
    with psycopg.connect(fresh_database) as writer:
        _run(writer, 0, _LAST)
        _run(writer, 1, middle)
        with running_client(fresh_database, token, settle_seconds=60) as client:
            assert _read_all(client) == [], "shard 2 has committed nothing: nothing is final"
        _run(writer, 2, _LAST)
        below = writer.execute(
            f"SELECT count(*) FROM orders WHERE updated_at < {middle}"  # noqa: S608
        ).fetchone()
        assert below is not None
        assert 0 < below[0] < ROWS
        with running_client(fresh_database, token, settle_seconds=60) as client:
            assert len(_read_all(client)) == below[0]
        writer.execute("UPDATE runs SET watermark = (SELECT max(watermark) FROM runs)")
        writer.commit()
        with running_client(fresh_database, token, settle_seconds=60) as client:
            assert len(_read_all(client)) == ROWS
