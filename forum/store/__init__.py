"""SQL, and only SQL: small named async functions per aggregate. No permissions, no commits,
no HTTP. Each takes the connection it runs on: a reader, or the writer inside db.write().

Every helper here is one trip to the connection's thread (aiosqlite's execute_fetchall and
execute_insert): the hop between the event loop and that thread, not SQLite, is what a page
mostly pays for.
"""
from __future__ import annotations

from typing import Any, Iterable

import aiosqlite

from forum.db import Record, as_records


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> dict | None:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return Record(zip(rows[0].keys(), rows[0])) if rows else None


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[dict]:
    return as_records(list(await conn.execute_fetchall(sql, tuple(params))))


async def fetch_value(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    row = await fetch_one(conn, sql, params)
    return None if row is None else next(iter(row.values()))


async def execute(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Run a change; returns the new row id for INSERTs."""
    row = await conn.execute_insert(sql, tuple(params))
    return row[0] if row else 0
