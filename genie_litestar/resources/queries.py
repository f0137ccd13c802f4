"""The SQL behind the resources: keyset pages on (paging column, id) and rows by id.

Rows go straight from the database into the resource's msgspec struct; timestamps are
rendered to fixed-width RFC 3339 text by Postgres, so no datetime object is built per
value. Pages fetch ``limit + 1`` rows to learn whether another page exists, with no
COUNT and no OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import starmap
from typing import TYPE_CHECKING, Any

from psycopg import sql

from fauxsim.sinks.postgres.ledger import DATASET_WATERMARK, SHARDED_HORIZON
from fauxsim.tables import ColumnType
from genie_litestar.resources.catalog import RESOURCES, Resource
from genie_litestar.timestamps import SQL_RFC3339, micros_from_text, micros_of, moment_of

if TYPE_CHECKING:
    import datetime as dt

    import msgspec
    from psycopg import AsyncConnection

    from genie_litestar.resources.cursor import Filters, Position


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[msgspec.Struct]
    # Where the next page starts, when there is one.
    next_position: Position | None


def _select_list(resource: Resource) -> sql.Composed:
    columns: list[sql.Composable] = []
    for column in resource.spec.columns:
        name = sql.Identifier(column.name)
        if column.type is ColumnType.TIMESTAMP:
            rendered = sql.SQL(SQL_RFC3339).format(column=name)
            columns.append(sql.SQL("{} AS {}").format(rendered, name))
        else:
            columns.append(name)
    return sql.SQL(", ").join(columns)


@cache
def _page_query(name: str, *, has_since: bool, has_after: bool) -> sql.Composed:
    resource = RESOURCES[name]
    # Qualified: the select list renders the paging column to text under the same name,
    # and an unqualified ORDER BY would sort that text instead of walking the index.
    paging = sql.Identifier(resource.name, resource.paging_column)
    key = sql.Identifier(resource.name, resource.id_column)
    conditions = [sql.SQL("{} < %(horizon)s").format(paging)]
    if has_since:
        conditions.append(sql.SQL("{} >= %(since)s").format(paging))
    if has_after:
        # A row comparison, so Postgres walks the (paging, id) index from this point.
        conditions.append(sql.SQL("({}, {}) > (%(after)s, %(after_id)s)").format(paging, key))
    return sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}, {} LIMIT %(limit)s").format(
        _select_list(resource),
        sql.Identifier(resource.name),
        sql.SQL(" AND ").join(conditions),
        paging,
        key,
    )


@cache
def _row_query(name: str) -> sql.Composed:
    resource = RESOURCES[name]
    return sql.SQL("SELECT {} FROM {} WHERE {} = %(id)s").format(
        _select_list(resource), sql.Identifier(resource.name), sql.Identifier(resource.id_column)
    )


async def fix_horizon(connection: AsyncConnection, filters: Filters, settle_seconds: float) -> int:
    """The end of a paging run, fixed on its first page.

    Rows whose paging time is within ``settle_seconds`` of now may still be joined by
    rows committed late with an earlier time; leaving them to the next run means no row
    is ever skipped, and a fixed end means a run finishes even while data keeps coming.
    Everything before the watermark ``fauxsim run`` committed is final, however far in
    the future its simulated times lie (a scenario set in 2030): it is served at once.
    A dataset of several shards, loaded in parallel, is served up to its watermark only
    (``ledger.SHARDED_HORIZON``): a shard behind may still commit older rows.
    """
    before = None if filters.updated_before is None else moment_of(filters.updated_before)
    cursor = await connection.execute(
        "SELECT least(%(before)s::timestamptz, greatest("
        f"now() - make_interval(secs => %(settle)s), {DATASET_WATERMARK}), {SHARDED_HORIZON})",
        {"before": before, "settle": settle_seconds},
    )
    row = await cursor.fetchone()
    assert row is not None  # noqa: S101 - a SELECT without FROM returns one row
    horizon: dt.datetime = row[0]
    return micros_of(horizon)


async def fetch_page(
    connection: AsyncConnection,
    resource: Resource,
    filters: Filters,
    position: Position,
    *,
    first_page: bool,
    limit: int,
) -> Page:
    query = _page_query(
        resource.name, has_since=filters.updated_since is not None, has_after=not first_page
    )
    params: dict[str, Any] = {
        "horizon": moment_of(position.horizon_micros),
        "limit": limit + 1,
        "after": moment_of(position.after_micros),
        "after_id": position.after_id,
    }
    if filters.updated_since is not None:
        params["since"] = moment_of(filters.updated_since)
    cursor = await connection.execute(query, params)
    # Tuples from psycopg's C row maker, then one C-level pass into structs: about half
    # the cost of a Python row factory per row.
    rows: list[msgspec.Struct] = list(starmap(resource.row_struct, await cursor.fetchall()))
    if len(rows) <= limit:
        return Page(rows=rows, next_position=None)
    del rows[limit:]
    last = rows[-1]
    return Page(
        rows=rows,
        next_position=type(position)(
            after_micros=micros_from_text(getattr(last, resource.paging_column)),
            after_id=getattr(last, resource.id_column),
            horizon_micros=position.horizon_micros,
        ),
    )


async def fetch_row(
    connection: AsyncConnection, resource: Resource, row_id: int
) -> msgspec.Struct | None:
    cursor = await connection.execute(_row_query(resource.name), {"id": row_id})
    row = await cursor.fetchone()
    return None if row is None else resource.row_struct(*row)
