"""Reports of posts and the moderation queue: reports of one post gather in one open item."""
from __future__ import annotations

import json

from forum.store import execute, execute_count, fetch_all, fetch_one, fetch_value, insert_row


async def open_item_for(conn, post_id: int, now: str) -> tuple[int, bool]:
    """(the post's open item, whether it was opened just now)."""
    row = await fetch_one(conn, "SELECT id FROM moderation_items WHERE post_id = ? AND status = 'open'", (post_id,))
    if row:
        return row["id"], False
    return await insert_row(conn, "INSERT INTO moderation_items (post_id, created_at) VALUES (?, ?) RETURNING id", (post_id, now)), True


async def open_count(conn, groups: list[int] | None) -> int:
    """Open items in these groups' queues (None: every group's)."""
    where, params = ("", []) if groups is None else (
        f" AND t.group_id IN ({','.join('?' * len(groups))})", list(groups))
    return await fetch_value(conn, "SELECT COUNT(*) FROM moderation_items i JOIN posts p ON p.id = i.post_id"
                                   f" JOIN threads t ON t.id = p.thread_id WHERE i.status = 'open'{where}", params)


async def add_report(conn, *, item_id: int, reporter_id: int, reason: str, text: str, now: str) -> bool:
    return await execute_count(
        conn, "INSERT INTO reports (item_id, reporter_id, reason, text, created_at) VALUES (?, ?, ?, ?, ?)"
              " ON CONFLICT DO NOTHING",
        (item_id, reporter_id, reason, text, now)) > 0


ITEM_SELECT = (
    "SELECT i.id, i.post_id, i.status, i.created_at, i.resolved_at, i.resolution_reason, t.group_id,"
    " g.name AS group_name, g.visibility AS group_visibility, t.id AS thread_id, t.title AS thread_title,"
    " p.author_id, u.display_name AS author_name, p.body_html, p.deleted_at, p.hidden_at"
    " FROM moderation_items i JOIN posts p ON p.id = i.post_id JOIN threads t ON t.id = p.thread_id"
    " JOIN groups g ON g.id = t.group_id JOIN users u ON u.id = p.author_id"
)


async def item(conn, item_id: int):
    return await fetch_one(conn, f"{ITEM_SELECT} WHERE i.id = ?", (item_id,))


async def open_items(conn, groups: list[int] | None, limit: int = 100):
    where, params = "i.status = 'open'", []
    if groups is not None:
        where += " AND t.group_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))"
        params.append(json.dumps(groups))
    return await fetch_all(conn, f"{ITEM_SELECT} WHERE {where} ORDER BY i.id LIMIT ?", (*params, limit))


async def reports_of(conn, item_ids: list[int]):
    return await fetch_all(
        conn,
        "SELECT r.item_id, r.reporter_id, u.display_name AS reporter_name, r.reason, r.text, r.created_at"
        " FROM reports r JOIN users u ON u.id = r.reporter_id WHERE r.item_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))"
        " ORDER BY r.id", (json.dumps(item_ids),))


async def resolve(conn, item_id: int, *, status: str, by: int, reason: str, now: str) -> None:
    await execute(conn, "UPDATE moderation_items SET status = ?, resolved_by = ?, resolved_at = ?,"
                        " resolution_reason = ? WHERE id = ?", (status, by, now, reason, item_id))
