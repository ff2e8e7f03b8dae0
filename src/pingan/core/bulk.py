"""Many rows in one statement whose text does not depend on how many rows there are.

On PostgreSQL a statement that lists its rows (`VALUES (...), (...)`, `IN (:a, :b, ...)`) has a
new text for every row count. psycopg then converts it from scratch on the client (its query cache
holds only statements under 4 KiB and 50 parameters) and the server parses and plans it anew. In
the stop-payment benchmark that conversion was about a quarter of the API processes' CPU (py-spy).
Here the rows travel as one array per column: the statement's text is fixed, psycopg converts it
once and, after five uses, the server keeps it prepared.

SQLite keeps the plain forms: its driver does no conversion, and it has no arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    Table,
    Update,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def any_of(
    session: Session, column: ColumnElement[Any] | QueryableAttribute[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """`column IN values`: on PostgreSQL `column = ANY(:array)`, one statement text for any count."""
    wanted = list(values)
    if isinstance(column, QueryableAttribute):
        column = column.expression
    if _postgresql(session):
        return column == any_(bindparam(None, wanted, type_=ARRAY(column.type)))
    return column.in_(wanted)


@lru_cache(maxsize=256)
def _unnest_insert(table: Table, columns: tuple[str, ...], returning_id: bool) -> Insert:
    rows = (
        func.unnest(*(bindparam(c, type_=ARRAY(table.c[c].type)) for c in columns))
        .table_valued(*columns, with_ordinality="ord")
        .render_derived(name="u")
    )
    # Ordered by the arrays' position, so the sequence numbers the rows in the caller's order.
    stmt = insert(table).from_select(columns, select(*(rows.c[c] for c in columns)).order_by(rows.c.ord))
    return stmt.returning(table.c.id) if returning_id else stmt


def insert_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, return_ids: bool = False
) -> list[int]:
    """Insert `rows` (each naming the same columns) in one statement; their ids in `rows`' order
    when `return_ids`.

    On PostgreSQL the ids come from the table's sequence in the order of the rows (the insert reads
    them ordered by position), so sorting the returned ids restores that order.
    """
    if not rows:
        return []
    columns = tuple(rows[0])
    if any(r.keys() != rows[0].keys() for r in rows):
        raise ValueError(f"rows inserted together into {table.name} must name the same columns: {columns}")
    if not _postgresql(session):
        if return_ids:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return [int(i) for i in session.execute(stmt, list(rows)).scalars()]
        session.execute(insert(table), list(rows))
        return []
    arrays = {c: [r[c] for r in rows] for c in columns}
    result = session.execute(_unnest_insert(table, columns, return_ids), arrays)
    return sorted(int(i) for i in result.scalars()) if return_ids else []


@lru_cache(maxsize=256)
def _unnest_update(table: Table, match: tuple[tuple[str, str], ...], sets: tuple[str, ...]) -> Update:
    names = (*(k for k, _ in match), *sets)
    types = (*(table.c[c].type for _, c in match), *(table.c[c].type for c in sets))
    rows = (
        func.unnest(*(bindparam(n, type_=ARRAY(t)) for n, t in zip(names, types, strict=True)))
        .table_valued(*names)
        .render_derived(name="u")
    )
    return (
        update(table).where(*(table.c[c] == rows.c[k] for k, c in match)).values({c: rows.c[c] for c in sets})
    )


@lru_cache(maxsize=256)
def _guarded_update(table: Table, match: tuple[tuple[str, str], ...], sets: tuple[str, ...]) -> Update:
    return (
        update(table)
        .where(*(table.c[c] == bindparam(k, type_=table.c[c].type) for k, c in match))
        .values({c: bindparam(c, type_=table.c[c].type) for c in sets})
    )


@lru_cache(maxsize=64)
def _lock_in_order(table: Table) -> Select[Any]:
    return (
        select(table.c.id)
        .where(table.c.id == any_(bindparam("ids", type_=ARRAY(table.c.id.type))))
        .order_by(table.c.id)
        .with_for_update()
    )


def update_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    match: Mapping[str, str],
    lock_in_id_order: bool = False,
) -> int | None:
    """Update each row of `table` whose columns equal the values of `match`'s keys in one of `rows`
    (`match={"_id": "id", "_from": "state"}` maps a key of the rows to its column); each row's
    other keys are the columns it sets. One statement; the number of rows updated, or None where
    the driver cannot count them (SQLite's executemany).

    `lock_in_id_order` (PostgreSQL): lock the rows in id order first, as every writer of many rows
    of the table does, so that two such writers cannot deadlock (the joined update would lock them
    in whatever order its plan reads them).
    """
    if not rows:
        return 0
    names = tuple(rows[0])
    if any(r.keys() != rows[0].keys() for r in rows):
        raise ValueError(f"rows updated together in {table.name} must name the same columns: {names}")
    key = tuple(match.items())
    sets = tuple(n for n in names if n not in match)
    if not _postgresql(session):
        done = session.execute(_guarded_update(table, key, sets), list(rows))
        sane = session.get_bind().dialect.supports_sane_multi_rowcount
        return int(getattr(done, "rowcount", len(rows))) if sane else None
    if lock_in_id_order:
        id_key = next(k for k, c in match.items() if c == "id")
        session.execute(_lock_in_order(table), {"ids": [r[id_key] for r in rows]})
    arrays = {n: [r[n] for r in rows] for n in names}
    return int(getattr(session.execute(_unnest_update(table, key, sets), arrays), "rowcount", len(rows)))
