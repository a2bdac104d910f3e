"""Mail waiting to go out, and what became of it."""
from __future__ import annotations

import json

from forum.store import execute, fetch_all, fetch_one


async def insert(conn, *, to_addr: str, subject: str, body_text: str, now: str, body_html: str = "",
                 headers: dict | None = None) -> int:
    return await execute(
        conn, "INSERT INTO outbox (to_addr, subject, body_text, body_html, headers, created_at)"
              " VALUES (?, ?, ?, ?, ?, ?)",
        (to_addr, subject, body_text, body_html, json.dumps(headers or {}), now),
    )


async def queued(conn, limit: int = 50):
    return await fetch_all(
        conn, "SELECT id, to_addr, subject, body_text, body_html, headers, created_at, attempts FROM outbox"
        " WHERE status = 'queued' ORDER BY id LIMIT ?", (limit,),
    )


async def mark(conn, mail_id: int, *, status: str, error: str = "", now: str | None = None) -> None:
    await execute(
        conn, "UPDATE outbox SET status = ?, last_error = ?, attempts = attempts + 1, done_at = ? WHERE id = ?",
        (status, error, now, mail_id),
    )


async def requeue(conn, mail_id: int, error: str) -> None:
    await execute(
        conn, "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error, mail_id)
    )


async def latest(conn, limit: int = 100):
    return await fetch_all(
        conn, "SELECT id, to_addr, subject, created_at, status, attempts, last_error FROM outbox"
        " ORDER BY id DESC LIMIT ?", (limit,),
    )


async def get(conn, mail_id: int):
    return await fetch_one(conn, "SELECT * FROM outbox WHERE id = ?", (mail_id,))
