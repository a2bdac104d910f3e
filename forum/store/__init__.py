"""SQL, and only SQL: small named async functions per aggregate. No permissions, no commits,
no HTTP. Each takes the connection it runs on: a reader, or the writer inside db.write()."""
from __future__ import annotations

from typing import Any, Iterable

import aiosqlite


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
    async with conn.execute(sql, tuple(params)) as cursor:
        return await cursor.fetchone()


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
    async with conn.execute(sql, tuple(params)) as cursor:
        return list(await cursor.fetchall())


async def fetch_value(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    row = await fetch_one(conn, sql, params)
    return None if row is None else row[0]


async def execute(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Run a change; returns the new row id for INSERTs."""
    async with conn.execute(sql, tuple(params)) as cursor:
        return cursor.lastrowid
