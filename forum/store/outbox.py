"""Mail waiting to go out, and what became of it."""
from __future__ import annotations

import json

from forum.store import execute, execute_count, fetch_all, fetch_one, fetch_value, insert_row

# Failed mail stays on the admin's page however old it is, up to this many rows.
FAILED_SHOWN = 1000


async def insert(conn, *, to_addr: str, subject: str, body_text: str, now: str, body_html: str = "",
                 headers: dict | None = None) -> int:
    return await insert_row(
        conn, "INSERT INTO outbox (to_addr, subject, body_text, body_html, headers, created_at)"
              " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (to_addr, subject, body_text, body_html, json.dumps(headers or {}), now),
    )


async def queued(conn, now: str, limit: int = 50):
    """Queued mail that is due: never tried (NULL) or its retry time has come."""
    return await fetch_all(
        conn, "SELECT id, to_addr, subject, body_text, body_html, headers, created_at, attempts FROM outbox"
        " WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
        (now, limit),
    )


async def claim_queued(conn, now: str, until: str, limit: int = 50):
    """Queued mail that is due (never tried: NULL, or its retry time has come), taken for
    sending until `until`: another process skips it meanwhile, and if this one dies mid-send
    it is due again then. Sending ends the claim (mark) or sets the next try (requeue)."""
    rows = await fetch_all(
        conn, "UPDATE outbox SET next_attempt_at = ? WHERE id IN (SELECT id FROM outbox WHERE status = 'queued'"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?)"
        " RETURNING id, to_addr, subject, body_text, body_html, headers, created_at, attempts",
        (until, now, limit),
    )
    return sorted(rows, key=lambda row: row["id"])


def _while_claimed(claimed_until: str | None) -> tuple[str, tuple]:
    """The condition that a claim (claim_queued's `until`) is still this process's: the mail
    is still queued and nobody claimed it anew after ours ran out."""
    if claimed_until is None:
        return "", ()
    return " AND status = 'queued' AND next_attempt_at = ?", (claimed_until,)


async def mark(conn, mail_id: int, *, status: str, error: str = "", now: str | None = None,
               claimed_until: str | None = None) -> bool:
    """What became of a mail. With `claimed_until`, only while that claim is still ours (a
    process that stalled past its claim does not overwrite what the next one made of it);
    returns whether the row was changed."""
    condition, extra = _while_claimed(claimed_until)
    return await execute_count(
        conn, "UPDATE outbox SET status = ?, last_error = ?, attempts = attempts + 1, done_at = ?,"
              " next_attempt_at = NULL WHERE id = ?" + condition,
        (status, error, now, mail_id, *extra),
    ) > 0


async def requeue(conn, mail_id: int, error: str, next_attempt_at: str | None = None,
                  claimed_until: str | None = None) -> bool:
    condition, extra = _while_claimed(claimed_until)
    return await execute_count(
        conn, "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?" + condition,
        (error, next_attempt_at, mail_id, *extra),
    ) > 0


async def retry(conn, mail_id: int) -> None:
    """A failed mail back to the head of the queue, with a fresh count of attempts."""
    await execute(
        conn, "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = NULL, done_at = NULL"
              " WHERE id = ? AND status = 'failed'", (mail_id,),
    )


async def latest(conn, limit: int = 100):
    """The newest mail, and every failed one however old (failed first), so none slips out of view."""
    return await fetch_all(
        conn, "SELECT id, to_addr, subject, created_at, status, attempts, last_error, next_attempt_at"
        " FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id DESC LIMIT ?)"
        " OR id IN (SELECT id FROM outbox WHERE status = 'failed' ORDER BY id DESC LIMIT ?)"
        " ORDER BY status = 'failed' DESC, id DESC", (limit, FAILED_SHOWN),
    )


async def failed_count(conn) -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM outbox WHERE status = 'failed'")


async def get(conn, mail_id: int):
    return await fetch_one(conn, "SELECT * FROM outbox WHERE id = ?", (mail_id,))
