"""SQL, and only SQL: small named async functions per aggregate. No permissions, no commits,
no HTTP. Each takes the connection it runs on: a reader, or the writer inside db.write().

Every helper here is one trip to the connection's thread (aiosqlite's execute_fetchall): the
hop between the event loop and that thread, not SQLite, is what a page mostly pays for. All SQL
goes through these helpers, so another database's driver would need changing here only.
"""
from __future__ import annotations

from typing import Any, Iterable

import aiosqlite

from forum.db import Record, as_records


def _bound(params):
    """Named parameters stay a mapping; positional ones become a tuple. (Made a tuple, a dict
    gave SQLite its keys as the values: the search index's one-statement insert matched nothing
    and fell back to its slower path, unnoticed.)"""
    return params if isinstance(params, dict) else tuple(params)


def is_postgres(conn) -> bool:
    """The few statements that must differ (search) ask this; forum/postgres.py translates the rest."""
    return getattr(conn, "dialect", "sqlite") == "postgresql"


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> dict | None:
    rows = await conn.execute_fetchall(sql, _bound(params))
    return Record(zip(rows[0].keys(), rows[0])) if rows else None


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[dict]:
    return as_records(list(await conn.execute_fetchall(sql, _bound(params))))


async def fetch_value(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    row = await fetch_one(conn, sql, params)
    return None if row is None else next(iter(row.values()))


async def execute(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> None:
    """Run a change."""
    await conn.execute_fetchall(sql, _bound(params))


async def insert_row(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Run an INSERT that ends in RETURNING id; returns that id. Said in the SQL rather than read
    from the driver's last row id, so the statement means the same on another database."""
    rows = await conn.execute_fetchall(sql, _bound(params))
    return rows[0][0]


async def execute_count(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Run a change; returns how many rows it changed."""
    cursor = await conn.execute(sql, _bound(params))
    try:
        return cursor.rowcount
    finally:
        await cursor.close()


async def execute_many(conn: aiosqlite.Connection, sql: str, rows: Iterable[Iterable[Any]]) -> None:
    """One change for each row of parameters."""
    await conn.executemany(sql, [tuple(row) for row in rows])
