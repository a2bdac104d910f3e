"""Notifications, who follows what (thread and group levels), what each user has read, and
the durable jobs that fan notifications out. Lists of user ids travel as one JSON parameter
(json_each), so a fan-out to ten thousand readers is a handful of statements."""
from __future__ import annotations

import json

from forum.store import execute, execute_count, execute_many, fetch_all, fetch_one, fetch_value, insert_row

NOTIFICATION_SELECT = (
    # a thread's notifications follow the thread: access is judged against the group it is in
    # now (it may have moved into a group the reader cannot read)
    "SELECT n.id, n.user_id, n.kind, n.actor_id, a.display_name AS actor_name,"
    " COALESCE(t.group_id, n.group_id) AS group_id,"
    " g.name AS group_name, g.visibility AS group_visibility, n.thread_id, t.title AS thread_title,"
    " t.deleted_at AS thread_deleted_at, n.post_id, p.body AS post_body, p.deleted_at AS post_deleted_at,"
    " p.hidden_at AS post_hidden_at,"
    " n.count, n.data, n.created_at, n.updated_at, n.read_at"
    " FROM notifications n LEFT JOIN users a ON a.id = n.actor_id"
    " LEFT JOIN threads t ON t.id = n.thread_id LEFT JOIN groups g ON g.id = COALESCE(t.group_id, n.group_id)"
    " LEFT JOIN posts p ON p.id = n.post_id"
)


def _ids(user_ids) -> str:
    return json.dumps(sorted(set(user_ids)))


# --- levels -------------------------------------------------------------------------------

async def follow_thread(conn, user_id: int, thread_id: int) -> None:
    """Start watching, unless the user already chose a level for this thread."""
    await execute(conn, "INSERT INTO thread_subscriptions (thread_id, user_id, level) VALUES (?, ?, 'watching')"
                        " ON CONFLICT DO NOTHING",
                  (thread_id, user_id))


async def set_thread_level(conn, user_id: int, thread_id: int, level: str) -> None:
    await execute(conn, "INSERT INTO thread_subscriptions (thread_id, user_id, level) VALUES (?, ?, ?)"
                        " ON CONFLICT (thread_id, user_id) DO UPDATE SET level = excluded.level",
                  (thread_id, user_id, level))


async def set_group_level(conn, user_id: int, group_id: int, level: str) -> None:
    await execute(conn, "INSERT INTO group_subscriptions (group_id, user_id, level) VALUES (?, ?, ?)"
                        " ON CONFLICT (group_id, user_id) DO UPDATE SET level = excluded.level",
                  (group_id, user_id, level))


# --- recipients ---------------------------------------------------------------------------
# `reads` is policy.account_reads_group_sql("u", "g"): who may read the group, as SQL.

RECIPIENT_COLUMNS = "u.id AS user_id, u.locale, u.email_notifications"


async def thread_watchers(conn, reads: str, *, thread_id: int, group_id: int, author_id: int,
                          after_user_id: int, limit: int):
    """Readers whose level for this thread is watching (their own, or their group's when
    they set none for the thread), in user id order from a cursor."""
    return await fetch_all(
        conn,
        "WITH candidates(user_id) AS ("
        "  SELECT user_id FROM thread_subscriptions WHERE thread_id = ? AND level = 'watching'"
        "  UNION SELECT gs.user_id FROM group_subscriptions gs WHERE gs.group_id = ? AND gs.level = 'watching'"
        "    AND NOT EXISTS (SELECT 1 FROM thread_subscriptions ts WHERE ts.thread_id = ? AND ts.user_id = gs.user_id))"
        f" SELECT {RECIPIENT_COLUMNS} FROM candidates c JOIN users u ON u.id = c.user_id JOIN groups g ON g.id = ?"
        f" WHERE u.id > ? AND u.id != ? AND {reads} ORDER BY u.id LIMIT ?",
        (thread_id, group_id, thread_id, group_id, after_user_id, author_id, limit))


async def group_watchers(conn, reads: str, *, group_id: int, author_id: int, after_user_id: int, limit: int):
    """Readers told about every new thread of the group."""
    return await fetch_all(
        conn,
        f"SELECT {RECIPIENT_COLUMNS} FROM group_subscriptions gs JOIN users u ON u.id = gs.user_id"
        " JOIN groups g ON g.id = gs.group_id"
        f" WHERE gs.group_id = ? AND gs.level IN ('watching', 'new_threads') AND u.id > ? AND u.id != ? AND {reads}"
        " ORDER BY u.id LIMIT ?",
        (group_id, after_user_id, author_id, limit))


async def readers_with_levels(conn, reads: str, *, user_ids, thread_id: int | None, group_id: int):
    """These users, if they may read the group, with their effective level for the thread."""
    return await fetch_all(
        conn,
        f"SELECT {RECIPIENT_COLUMNS},"
        " (SELECT level FROM thread_subscriptions WHERE thread_id = ? AND user_id = u.id) AS thread_level,"
        " (SELECT level FROM group_subscriptions WHERE group_id = g.id AND user_id = u.id) AS group_level"
        f" FROM users u JOIN groups g ON g.id = ? WHERE u.id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) AND {reads}",
        (thread_id or 0, group_id, _ids(user_ids)))


_MENTIONABLE = (
    "u.status = 'active' AND (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.group_id = ?"
    " AND m.role IN ('owner', 'moderator', 'member')) OR EXISTS (SELECT 1 FROM groups sg WHERE sg.id = ? AND sg.kind = 'site'))"
)


async def members_by_handles(conn, group_id: int, handles: list[str]):
    """Who of these handles belongs to the group: only they can be mentioned there. Under
    news of the whole site (a 'site' group, which has no members) every active account can."""
    return await fetch_all(
        conn,
        f"SELECT u.id, u.handle FROM users u WHERE {_MENTIONABLE} AND u.handle IN (SELECT value FROM json_each(?))",
        (group_id, group_id, json.dumps(handles)))


async def mention_candidates(conn, group_id: int, prefix: str, limit: int):
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return await fetch_all(
        conn,
        f"SELECT u.id, u.handle, u.display_name FROM users u WHERE {_MENTIONABLE}"
        " AND (u.handle LIKE ? ESCAPE '\\' OR u.display_name LIKE ? ESCAPE '\\')"
        " ORDER BY u.handle LIMIT ?",
        (group_id, group_id, pattern, pattern, limit))


async def moderators_of(conn, group_id: int):
    """A group's owner and moderators; for a site group (the comments on site news and events)
    the editors and admins, who moderate those."""
    return await fetch_all(
        conn,
        "SELECT u.id AS user_id, u.locale, u.email_notifications FROM users u WHERE u.status = 'active' AND ("
        " EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = ? AND m.user_id = u.id"
        " AND m.role IN ('owner', 'moderator'))"
        " OR (u.role IN ('editor', 'admin') AND EXISTS (SELECT 1 FROM groups g WHERE g.id = ? AND g.kind = 'site')))",
        (group_id, group_id))


# --- writing notifications -----------------------------------------------------------------

async def unread_folds(conn, *, thread_id: int, kind: str, user_ids) -> dict[int, dict]:
    rows = await fetch_all(
        conn,
        "SELECT id, user_id, count, mailed_at, mail_due_at FROM notifications"
        " WHERE thread_id = ? AND kind = ? AND read_at IS NULL AND user_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
        (thread_id, kind, _ids(user_ids)))
    return {row["user_id"]: row for row in rows}


async def has_unread(conn, user_id: int, kind: str, *, actor_id, group_id, thread_id) -> bool:
    """An unread notification of this kind, by this actor, about this group and thread."""
    return await fetch_value(
        conn, "SELECT 1 FROM notifications WHERE user_id = ? AND kind = ? AND read_at IS NULL AND actor_id IS ?"
              " AND group_id IS ? AND thread_id IS ? LIMIT 1", (user_id, kind, actor_id, group_id, thread_id)) is not None


async def was_told(conn, user_id: int, kind: str, group_id: int) -> bool:
    """Whether this person ever had a notification of this kind about this group."""
    return await last_told(conn, user_id, kind, group_id) is not None


async def last_told(conn, user_id: int, kind: str, group_id: int) -> dict | None:
    """The data of this person's latest notification of this kind about this group, or None."""
    row = await fetch_one(
        conn, "SELECT data FROM notifications WHERE user_id = ? AND kind = ? AND group_id = ? ORDER BY id DESC LIMIT 1",
        (user_id, kind, group_id))
    return json.loads(row["data"] or "{}") if row is not None else None


async def insert_many(conn, rows: list[tuple]) -> None:
    """rows: (user_id, kind, actor_id, group_id, thread_id, post_id, data, now, now, mail_due_at)"""
    await execute_many(
        conn, "INSERT INTO notifications (user_id, kind, actor_id, group_id, thread_id, post_id, data, created_at,"
        " updated_at, mail_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


async def fold_many(conn, rows: list[tuple]) -> None:
    """rows: (actor_id, now, mail_due_at, id): one more post folded into an unread notification."""
    await execute_many(
        conn, "UPDATE notifications SET count = count + 1, actor_id = ?, updated_at = ?,"
        " mail_due_at = COALESCE(mail_due_at, ?) WHERE id = ?", rows)


async def ids_for_post(conn, *, post_id: int, kinds: tuple[str, ...], user_ids) -> dict[int, int]:
    rows = await fetch_all(
        conn,
        f"SELECT id, user_id FROM notifications WHERE post_id = ? AND kind IN ({', '.join('?' * len(kinds))})"
        " AND user_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
        (post_id, *kinds, _ids(user_ids)))
    return {row["user_id"]: row["id"] for row in rows}


async def by_ids(conn, ids) -> list[dict]:
    return await fetch_all(conn, f"{NOTIFICATION_SELECT} WHERE n.id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
                           (json.dumps(sorted(set(ids))),))


async def newest_of(conn, user_ids) -> list[dict]:
    """Each user's newest notification."""
    return await fetch_all(
        conn, f"{NOTIFICATION_SELECT} WHERE n.id IN (SELECT MAX(id) FROM notifications"
              " WHERE user_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) GROUP BY user_id)", (_ids(user_ids),))


async def unread_counts(conn, user_ids) -> dict[int, int]:
    rows = await fetch_all(
        conn,
        "SELECT user_id, COUNT(*) AS n FROM notifications WHERE read_at IS NULL"
        " AND user_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) GROUP BY user_id",
        (_ids(user_ids),))
    counts = {row["user_id"]: row["n"] for row in rows}
    return {user_id: counts.get(user_id, 0) for user_id in user_ids}


async def unread_count(conn, user_id: int) -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
                             (user_id,))


async def insert_events(conn, rows: list[tuple]) -> None:
    """rows: (channel, kind, payload json, now)"""
    await execute_many(conn, "INSERT INTO events (channel, kind, payload, created_at) VALUES (?, ?, ?, ?)", rows)


# --- reading and marking ---------------------------------------------------------------------

async def page_for(conn, user_id: int, *, unread_only: bool, before: int | None, limit: int):
    where, params = "n.user_id = ?", [user_id]
    if unread_only:
        where += " AND n.read_at IS NULL"
    if before:
        where += " AND n.id < ?"
        params.append(before)
    return await fetch_all(conn, f"{NOTIFICATION_SELECT} WHERE {where} ORDER BY n.id DESC LIMIT ?", (*params, limit))


async def mark_read(conn, user_id: int, ids: list[int] | None, now: str) -> int:
    """Mark some (or, with ids None, all) of a user's notifications read; returns how many changed."""
    if ids is None:
        return await execute_count(
            conn, "UPDATE notifications SET read_at = ?, mail_due_at = NULL WHERE user_id = ? AND read_at IS NULL",
            (now, user_id))
    return await execute_count(
        conn, "UPDATE notifications SET read_at = ?, mail_due_at = NULL WHERE user_id = ? AND read_at IS NULL"
              " AND id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))", (now, user_id, json.dumps(ids)))


async def mark_read_where(conn, user_id: int, *, thread_id: int | None = None, group_id: int | None = None,
                          now: str, post_ids: list[int] | None = None) -> int:
    """Seeing a thread (or a group's page) is reading what was notified about it; seeing a page
    of a thread (post_ids) reads what was about those posts or the thread as a whole."""
    if thread_id is not None:
        shown = "" if post_ids is None else \
            f" AND (post_id IS NULL OR post_id IN ({', '.join('?' * len(post_ids))}))" if post_ids else " AND post_id IS NULL"
        return await execute_count(
            conn, "UPDATE notifications SET read_at = ?, mail_due_at = NULL"
                  f" WHERE user_id = ? AND thread_id = ? AND read_at IS NULL{shown}",
            (now, user_id, thread_id, *(post_ids or ())))
    return await execute_count(
        conn, "UPDATE notifications SET read_at = ?, mail_due_at = NULL"
              " WHERE user_id = ? AND group_id = ? AND thread_id IS NULL AND read_at IS NULL", (now, user_id, group_id))


async def unread_about_posts(conn, user_id: int, thread_id: int) -> list[int | None]:
    """What the unread notifications about a thread are about: a post's id, or None (the thread)."""
    rows = await fetch_all(conn, "SELECT post_id FROM notifications WHERE user_id = ? AND thread_id = ?"
                                 " AND read_at IS NULL", (user_id, thread_id))
    return [row["post_id"] for row in rows]


# --- jobs, mail and digests ------------------------------------------------------------------

async def add_job(conn, kind: str, payload: dict, now: str) -> int:
    return await insert_row(conn, "INSERT INTO jobs (kind, payload, created_at) VALUES (?, ?, ?) RETURNING id",
                         (kind, json.dumps(payload), now))


async def job(conn, job_id: int):
    return await fetch_one(conn, "SELECT id, kind, payload FROM jobs WHERE id = ?", (job_id,))


async def next_jobs(conn, limit: int = 20):
    return await fetch_all(conn, "SELECT id, kind, payload, attempts FROM jobs ORDER BY id LIMIT ?", (limit,))


async def save_job(conn, job_id: int, payload: dict) -> None:
    await execute(conn, "UPDATE jobs SET payload = ? WHERE id = ?", (json.dumps(payload), job_id))


async def job_failed(conn, job_id: int, error: str) -> None:
    await execute(conn, "UPDATE jobs SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error[:500], job_id))


async def delete_job(conn, job_id: int) -> None:
    await execute(conn, "DELETE FROM jobs WHERE id = ?", (job_id,))


async def users_with_mail_due(conn, now: str, limit: int = 100) -> list[int]:
    rows = await fetch_all(conn, "SELECT DISTINCT user_id FROM notifications WHERE mail_due_at <= ? LIMIT ?",
                           (now, limit))
    return [row["user_id"] for row in rows]


async def unmailed_for(conn, user_id: int):
    """What a notification mail gathers: everything still unseen and not mailed yet."""
    return await fetch_all(
        conn, f"{NOTIFICATION_SELECT} WHERE n.user_id = ? AND n.mail_due_at IS NOT NULL ORDER BY n.id", (user_id,))


async def mark_mailed(conn, ids: list[int], now: str) -> None:
    await execute(conn, "UPDATE notifications SET mail_due_at = NULL, mailed_at = ?"
                        " WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))", (now, json.dumps(ids)))


async def users_with_digest_due(conn, now: str, limit: int = 100):
    return await fetch_all(
        conn,
        "SELECT id, email, display_name, locale, digest, digest_since, status FROM users"
        " WHERE digest_due_at <= ? ORDER BY digest_due_at LIMIT ?", (now, limit))


async def digest_still_due(conn, user_id: int, now: str) -> bool:
    return await fetch_one(conn, "SELECT 1 AS due FROM users WHERE id = ? AND digest_due_at <= ?",
                           (user_id, now)) is not None


async def plan_digest(conn, user_id: int, *, since: str | None, due: str | None) -> None:
    await execute(conn, "UPDATE users SET digest_since = COALESCE(?, digest_since), digest_due_at = ? WHERE id = ?",
                  (since, due, user_id))


async def digest_threads(conn, reads: str, *, user_id: int, since: str, limit: int):
    """Threads with new posts since `since` in the groups the user belongs to and may read."""
    return await fetch_all(
        conn,
        "SELECT t.id, t.title, g.id AS group_id, g.name AS group_name, COUNT(p.id) AS new_posts,"
        " MAX(p.created_at) AS last_at"
        " FROM users u JOIN memberships m ON m.user_id = u.id AND m.role IN ('owner', 'moderator', 'member')"
        " JOIN groups g ON g.id = m.group_id JOIN threads t ON t.group_id = g.id AND t.deleted_at IS NULL"
        " JOIN posts p ON p.thread_id = t.id AND p.created_at > ? AND p.deleted_at IS NULL AND p.hidden_at IS NULL"
        " AND p.author_id != u.id"
        f" WHERE u.id = ? AND {reads}"
        " AND NOT EXISTS (SELECT 1 FROM group_subscriptions gs WHERE gs.group_id = g.id AND gs.user_id = u.id"
        "  AND gs.level = 'muted')"
        " GROUP BY t.id, g.id ORDER BY last_at DESC, t.id LIMIT ?",
        (since, user_id, limit))


async def mail_settings(conn, user_id: int):
    return await fetch_one(
        conn, "SELECT id, email, display_name, locale, handle, email_notifications, digest, digest_due_at, status"
              " FROM users"
              " WHERE id = ?", (user_id,))


async def update_mail_settings(conn, user_id: int, *, email_notifications: str, digest: str, locale: str,
                               digest_due_at: str | None, now: str) -> None:
    await execute(
        conn,
        "UPDATE users SET email_notifications = ?, digest = ?, locale = ?, digest_due_at = ?,"
        " digest_since = COALESCE(digest_since, ?) WHERE id = ?",
        (email_notifications, digest, locale, digest_due_at, now, user_id))


async def clear_pending_mail(conn, user_id: int) -> None:
    await execute(conn, "UPDATE notifications SET mail_due_at = NULL WHERE user_id = ? AND mail_due_at IS NOT NULL",
                  (user_id,))
