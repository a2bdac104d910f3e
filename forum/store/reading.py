"""What each user has read: the newest post per thread, and the unread notifications a page
view reads along with it."""
from __future__ import annotations

import json

from forum.store import execute, fetch_all, fetch_one


async def thread_seen_state(conn, user_id: int, thread_id: int, group_id: int):
    """Last post read, unread notifications about the thread, and the reader's levels: one trip."""
    return await fetch_one(
        conn,
        "SELECT (SELECT last_read_post_id FROM thread_reads WHERE user_id = ? AND thread_id = ?) AS last_read,"
        " (SELECT COUNT(*) FROM notifications WHERE user_id = ? AND thread_id = ? AND read_at IS NULL) AS unread,"
        " (SELECT level FROM thread_subscriptions WHERE thread_id = ? AND user_id = ?) AS thread_level,"
        " (SELECT level FROM group_subscriptions WHERE group_id = ? AND user_id = ?) AS group_level",
        (user_id, thread_id, user_id, thread_id, thread_id, user_id, group_id, user_id))


async def group_seen_state(conn, user_id: int, group_id: int):
    return await fetch_one(
        conn,
        "SELECT (SELECT level FROM group_subscriptions WHERE group_id = ? AND user_id = ?) AS group_level,"
        " (SELECT COUNT(*) FROM notifications WHERE user_id = ? AND group_id = ? AND thread_id IS NULL"
        " AND read_at IS NULL) AS unread",
        (group_id, user_id, user_id, group_id))


async def record_read(conn, user_id: int, thread_id: int, post_id: int) -> None:
    await execute(
        conn,
        "INSERT INTO thread_reads (user_id, thread_id, last_read_post_id) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id, thread_id) DO UPDATE SET last_read_post_id ="
        " MAX(thread_reads.last_read_post_id, excluded.last_read_post_id)",
        (user_id, thread_id, post_id))


async def new_counts(conn, user_id: int, thread_ids: list[int]) -> dict[int, tuple[int, int | None]]:
    """Per opened thread: (posts after the last one read, the first of them). Threads never
    opened are absent."""
    rows = await fetch_all(
        conn,
        "SELECT r.thread_id, COUNT(p.id) AS new, MIN(p.id) AS first_new FROM thread_reads r"
        " LEFT JOIN posts p ON p.thread_id = r.thread_id AND p.id > r.last_read_post_id AND p.deleted_at IS NULL"
        " WHERE r.user_id = ? AND r.thread_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) GROUP BY r.thread_id",
        (user_id, json.dumps(thread_ids)))
    return {row["thread_id"]: (row["new"], row["first_new"]) for row in rows}


async def mark_group_read(conn, user_id: int, group_id: int) -> None:
    await execute(
        conn,
        "INSERT INTO thread_reads (user_id, thread_id, last_read_post_id)"
        " SELECT ?, t.id, (SELECT MAX(p.id) FROM posts p WHERE p.thread_id = t.id) FROM threads t"
        " WHERE t.group_id = ? AND t.deleted_at IS NULL"
        # a news item's comment thread may have no posts yet: nothing to have read
        " AND EXISTS (SELECT 1 FROM posts p WHERE p.thread_id = t.id)"
        " ON CONFLICT (user_id, thread_id) DO UPDATE SET last_read_post_id = excluded.last_read_post_id",
        (user_id, group_id))


async def posts_after(conn, thread_id: int, after_id: int, limit: int) -> list:
    """(id, author) of a thread's posts after one, oldest first: how far a reader's run of read
    posts goes on."""
    return await fetch_all(conn, "SELECT id, author_id FROM posts WHERE thread_id = ? AND id > ? ORDER BY id LIMIT ?",
                           (thread_id, after_id, limit))
