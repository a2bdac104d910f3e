"""What the operator's metrics read from the database: work waiting, and the newest event."""
from __future__ import annotations

from forum.store import fetch_one


async def backlog(conn) -> dict:
    """Scheduler jobs waiting and the oldest one's creation time, mail queued and mail given
    up on, and the newest event id: one trip to the database."""
    return await fetch_one(
        conn,
        "SELECT (SELECT COUNT(*) FROM jobs) AS jobs, (SELECT MIN(created_at) FROM jobs) AS oldest_job,"
        " (SELECT COUNT(*) FROM outbox WHERE status = 'queued') AS mail_queued,"
        " (SELECT COUNT(*) FROM outbox WHERE status = 'failed') AS mail_failed,"
        " (SELECT COALESCE(MAX(id), 0) FROM events) AS newest_event")
