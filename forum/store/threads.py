"""Threads and their posts, post revisions, and the event log."""
from __future__ import annotations

import json

from forum.store import execute, fetch_all, fetch_one, fetch_value, insert_row

THREAD_SELECT = (
    "SELECT t.id, t.group_id, t.author_id, t.title, t.created_at, t.last_activity_at, t.reply_count,"
    " t.locked, t.pinned, t.deleted_at, t.news_id, t.event_id, g.visibility AS group_visibility, g.name AS group_name,"
    " g.kind AS group_kind, a.display_name AS author_name, t.last_poster_id,"
    " lp.display_name AS last_poster_name"
    " FROM threads t JOIN groups g ON g.id = t.group_id JOIN users a ON a.id = t.author_id"
    " LEFT JOIN users lp ON lp.id = t.last_poster_id"
)

POST_SELECT = (
    "SELECT p.id, p.thread_id, p.parent_id, p.depth, p.author_id, u.display_name AS author_name,"
    " u.photo_blob AS author_photo,"
    " p.body, p.body_html, p.created_at, p.edited_at, p.deleted_at, p.hidden_at, p.hidden_reason, p.tree_path"
)
POST_FROM = " FROM posts p JOIN users u ON u.id = p.author_id"

# A post's place in its thread's tree (forum/migrations.py 22): its ancestors' ids and its own,
# 8 hex digits each, at most TREE_LEVELS ancestors; text order is the tree's reading order.
# Eight digits hold ids up to 4,294,967,295: a site that nears that needs wider places (and a
# migration that rewrites them), or the order breaks.
TREE_LEVELS = 16
PLACE_DIGITS = 8


async def insert_thread(conn, *, group_id, author_id, title, now) -> int:
    return await insert_row(
        conn,
        "INSERT INTO threads (group_id, author_id, title, created_at, last_activity_at, last_poster_id)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (group_id, author_id, title, now, now, author_id),
    )


async def get_thread(conn, thread_id: int):
    return await fetch_one(conn, f"{THREAD_SELECT} WHERE t.id = ? AND t.deleted_at IS NULL", (thread_id,))


async def get_thread_even_removed(conn, thread_id: int):
    """For the live hub: a removed thread's readers are still told that it went."""
    return await fetch_one(conn, f"{THREAD_SELECT} WHERE t.id = ?", (thread_id,))


async def group_threads(conn, group_id: int, *, before: tuple[str, int] | None, limit: int):
    """One page of a group's unpinned threads by last activity, keyset-paginated (no OFFSET)."""
    # a news item's or event's comments are shown with it, not among the discussions
    where = "t.group_id = ? AND t.deleted_at IS NULL AND t.pinned = 0 AND t.news_id IS NULL AND t.event_id IS NULL"
    params = [group_id]
    if before:
        where += " AND (t.last_activity_at, t.id) < (?, ?)"
        params += list(before)
    return await fetch_all(
        conn, f"{THREAD_SELECT} WHERE {where} ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ?",
        (*params, limit),
    )


async def pinned_threads(conn, group_id: int, limit: int):
    """Threads a moderator pinned: shown above the others on a group's first page."""
    return await fetch_all(
        conn,
        f"{THREAD_SELECT} WHERE t.group_id = ? AND t.deleted_at IS NULL AND t.pinned = 1 AND t.news_id IS NULL"
        " AND t.event_id IS NULL"
        " ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ?",
        (group_id, limit),
    )


async def update_thread(conn, thread_id: int, *, title: str, locked: bool, pinned: bool, group_id: int) -> None:
    await execute(conn, "UPDATE threads SET title = ?, locked = ?, pinned = ?, group_id = ? WHERE id = ?",
                  (title, int(locked), int(pinned), group_id, thread_id))


async def hide_post(conn, post_id: int, *, reason: str, now: str) -> None:
    await execute(conn, "UPDATE posts SET hidden_at = ?, hidden_reason = ? WHERE id = ?", (now, reason, post_id))


async def mark_thread_deleted(conn, thread_id: int, now: str) -> None:
    await execute(conn, "UPDATE threads SET deleted_at = ? WHERE id = ?", (now, thread_id))


async def recent_threads(conn, where: str, params: list, limit: int):
    """Latest activity across the groups a policy filter lets through (alias g)."""
    return await fetch_all(
        conn,
        f"{THREAD_SELECT} WHERE t.deleted_at IS NULL AND t.news_id IS NULL AND t.event_id IS NULL"
        f" AND {where}"
        " ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ?",
        (*params, limit),
    )


async def touch_thread(conn, thread_id: int, *, poster_id: int, now: str) -> None:
    await execute(
        conn,
        "UPDATE threads SET last_activity_at = ?, last_poster_id = ?, reply_count = reply_count + 1"
        " WHERE id = ?",
        (now, poster_id, thread_id),
    )


async def wrote_where(conn, author_id: int, readable: tuple[str, list]) -> bool:
    """Whether this person has a post still shown in a group `readable` (a policy WHERE on g) lets one read."""
    where, params = readable
    return await fetch_value(
        conn, "SELECT 1 FROM posts p JOIN threads t ON t.id = p.thread_id JOIN groups g ON g.id = t.group_id"
              " WHERE p.author_id = ? AND p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.deleted_at IS NULL"
              f" AND {where} LIMIT 1", (author_id, *params)) is not None


async def refresh_last_poster(conn, thread_id: int) -> None:
    """After a post is removed or hidden: the list's "last post" names the newest one still shown
    (none: only the time stays)."""
    await execute(
        conn,
        "UPDATE threads SET last_poster_id = (SELECT p.author_id FROM posts p WHERE p.thread_id = threads.id"
        " AND p.deleted_at IS NULL AND p.hidden_at IS NULL ORDER BY p.id DESC LIMIT 1) WHERE id = ?",
        (thread_id,),
    )


# --- posts ------------------------------------------------------------------------------

def tree_place(post_id: int, parent_place: str | None) -> str:
    return (parent_place or "")[:TREE_LEVELS * PLACE_DIGITS] + f"{post_id:0{PLACE_DIGITS}x}"


def below(place: str) -> tuple[str, str]:
    """The range of places strictly under `place` (its replies and theirs): every longer text
    that starts with it sorts after it and before it followed by 'g', past every hex digit."""
    return place, place + "g"


async def insert_post(conn, *, thread_id, parent_id, depth, author_id, body, body_html, now,
                      parent_place: str | None = None) -> int:
    post_id = await insert_row(
        conn,
        "INSERT INTO posts (thread_id, parent_id, depth, author_id, body, body_html, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (thread_id, parent_id, depth, author_id, body, body_html, now),
    )
    await execute(conn, "UPDATE posts SET tree_path = ? WHERE id = ?", (tree_place(post_id, parent_place), post_id))
    return post_id


async def get_post(conn, post_id: int):
    """A post with what the policy needs to judge it: its thread's group and lock."""
    return await fetch_one(
        conn,
        f"{POST_SELECT}, t.group_id, g.visibility AS group_visibility, t.locked, t.title AS thread_title, t.news_id, t.event_id"
        " FROM posts p JOIN users u ON u.id = p.author_id JOIN threads t ON t.id = p.thread_id"
        " JOIN groups g ON g.id = t.group_id WHERE p.id = ? AND t.deleted_at IS NULL",
        (post_id,),
    )


# --- a page of a thread: index ranges on (thread_id, id) and (thread_id, tree_path) ----------

async def post_count(conn, thread_id: int) -> int:
    return await fetch_value(conn, "SELECT count(*) FROM posts WHERE thread_id = ?", (thread_id,))


async def root_count(conn, thread_id: int) -> int:
    return await fetch_value(conn, "SELECT count(*) FROM posts WHERE thread_id = ? AND parent_id IS NULL",
                             (thread_id,))


async def posts_in_time_order(conn, thread_id: int, offset: int, limit: int):
    return await fetch_all(conn, f"{POST_SELECT}{POST_FROM} WHERE p.thread_id = ? ORDER BY p.id LIMIT ? OFFSET ?",
                           (thread_id, limit, offset))


async def posts_after(conn, thread_id: int, after_id: int, limit: int):
    """The API's cursor: the next posts in time order after a post id."""
    return await fetch_all(conn, f"{POST_SELECT}{POST_FROM} WHERE p.thread_id = ? AND p.id > ? ORDER BY p.id LIMIT ?",
                           (thread_id, after_id, limit))


async def roots(conn, thread_id: int, offset: int, limit: int):
    """Posts that answer the discussion itself (the opening post first), oldest first."""
    return await fetch_all(
        conn, f"{POST_SELECT}{POST_FROM} WHERE p.thread_id = ? AND p.parent_id IS NULL ORDER BY p.id LIMIT ? OFFSET ?",
        (thread_id, limit, offset))


async def first_places(conn, thread_id: int, places: list[str], limit: int):
    """Under each place the first `limit` replies' ids and places in tree order, in one
    statement: one short index range per place, however many replies a place has."""
    if not places:
        return []
    one = "SELECT * FROM (SELECT id, tree_path FROM posts WHERE thread_id = ? AND tree_path > ? AND tree_path < ?" \
          " ORDER BY tree_path LIMIT ?) AS r"
    params: list = []
    for place in places:
        params.extend((thread_id, *below(place), limit))
    return await fetch_all(conn, " UNION ALL ".join(f"{one}{n}" for n in range(len(places))), params)


async def replies_under(conn, thread_id: int, places: list[str]) -> dict[str, int]:
    """How many posts each place has below it."""
    if not places:
        return {}
    params: list = []
    for place in places:
        params.extend((place, thread_id, *below(place)))
    rows = await fetch_all(conn, " UNION ALL ".join(
        "SELECT CAST(? AS TEXT) AS place, count(*) AS n FROM posts WHERE thread_id = ? AND tree_path > ? AND tree_path < ?"
        for _ in places), params)
    return {row["place"]: row["n"] for row in rows}


async def posts_under(conn, thread_id: int, place: str, offset: int, limit: int):
    return await fetch_all(
        conn, f"{POST_SELECT}{POST_FROM} WHERE p.thread_id = ? AND p.tree_path > ? AND p.tree_path < ?"
              " ORDER BY p.tree_path LIMIT ? OFFSET ?", (thread_id, *below(place), limit, offset))


async def posts_by_id(conn, ids: list[int]):
    if not ids:
        return []
    return await fetch_all(conn, f"{POST_SELECT}{POST_FROM} WHERE p.id IN ({', '.join('?' * len(ids))})", ids)


async def posts_before(conn, thread_id: int, post_id: int) -> int:
    return await fetch_value(conn, "SELECT count(*) FROM posts WHERE thread_id = ? AND id < ?", (thread_id, post_id))


async def roots_before(conn, thread_id: int, post_id: int) -> int:
    return await fetch_value(conn, "SELECT count(*) FROM posts WHERE thread_id = ? AND parent_id IS NULL AND id < ?",
                             (thread_id, post_id))


async def places_before(conn, thread_id: int, under: str, place: str) -> int:
    """How many posts below `under` come before `place` in tree order."""
    low, high = below(under)
    return await fetch_value(
        conn, "SELECT count(*) FROM posts WHERE thread_id = ? AND tree_path > ? AND tree_path < ? AND tree_path < ?",
        (thread_id, low, high, place))


async def first_post_id(conn, thread_id: int) -> int | None:
    return await fetch_value(conn, "SELECT min(id) FROM posts WHERE thread_id = ?", (thread_id,))


async def first_post_after(conn, thread_id: int, after_id: int, not_by: int) -> int | None:
    """The first post after a reader's last read one that someone else wrote."""
    return await fetch_value(
        conn, "SELECT min(id) FROM posts WHERE thread_id = ? AND id > ? AND author_id <> ?", (thread_id, after_id, not_by))


async def thread_posts(conn, thread_id: int):
    return await fetch_all(
        conn, f"{POST_SELECT} FROM posts p JOIN users u ON u.id = p.author_id WHERE p.thread_id = ? ORDER BY p.id",
        (thread_id,),
    )


async def update_post_body(conn, post_id: int, *, body: str, body_html: str, now: str) -> None:
    await execute(
        conn, "UPDATE posts SET body = ?, body_html = ?, edited_at = ? WHERE id = ?",
        (body, body_html, now, post_id),
    )


async def bodies_after(conn, table: str, after_id: int, limit: int = 500):
    """Rows of posts or post_revisions with their text and stored HTML (keyset by id)."""
    assert table in ("posts", "post_revisions")
    return await fetch_all(conn, f"SELECT id, body, body_html FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                           (after_id, limit))


async def set_body_html(conn, table: str, row_id: int, body_html: str) -> None:
    assert table in ("posts", "post_revisions")
    await execute(conn, f"UPDATE {table} SET body_html = ? WHERE id = ?", (body_html, row_id))


async def mark_post_deleted(conn, post_id: int, *, by: int, now: str) -> None:
    await execute(
        conn, "UPDATE posts SET deleted_at = ?, deleted_by = ? WHERE id = ?", (now, by, post_id)
    )


async def insert_revision(conn, *, post_id, body, body_html, author_id, created_at) -> None:
    await execute(
        conn,
        "INSERT INTO post_revisions (post_id, body, body_html, author_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (post_id, body, body_html, author_id, created_at),
    )


async def revisions(conn, post_id: int):
    return await fetch_all(
        conn,
        "SELECT r.id, r.body, r.body_html, r.created_at, r.author_id, u.display_name AS author_name"
        " FROM post_revisions r JOIN users u ON u.id = r.author_id WHERE r.post_id = ? ORDER BY r.id",
        (post_id,),
    )


# --- events -----------------------------------------------------------------------------

async def append_event(conn, channel: str, kind: str, payload: dict, now: str) -> int:
    return await insert_row(
        conn, "INSERT INTO events (channel, kind, payload, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (channel, kind, json.dumps(payload, separators=(",", ":")), now),
    )


async def redact_post_events(conn, thread_id: int, post_id: int, payload: dict) -> None:
    """A post was removed or hidden: its earlier post.created/post.edited events on its thread's
    channel, which carry its words, carry `payload` (ids and flags) from now on."""
    await execute(
        conn,
        "UPDATE events SET payload = ? WHERE channel = ? AND kind IN ('post.created', 'post.edited')"
        " AND CAST(json_extract(payload, '$.post.id') AS BIGINT) = ?",
        (json.dumps(payload, separators=(",", ":")), f"thread:{thread_id}", post_id),
    )


async def redact_thread_events(conn, channel: str, thread_id: int, payload: dict) -> None:
    """A thread went, or left a group: the events on `channel` that describe it (its title,
    author, last poster) carry `payload` (ids and flags) from now on."""
    await execute(
        conn,
        "UPDATE events SET payload = ? WHERE channel = ? AND kind IN ('thread.created', 'thread.updated')"
        " AND CAST(json_extract(payload, '$.thread.id') AS BIGINT) = ?",
        (json.dumps(payload, separators=(",", ":")), channel, thread_id),
    )


async def redact_thread_channel(conn, thread_id: int, payload: dict) -> None:
    """A removed thread's own channel keeps only the news that it went: every post and title
    event on it carries `payload` instead."""
    await execute(
        conn,
        "UPDATE events SET payload = ? WHERE channel = ? AND kind != 'thread.removed'",
        (json.dumps(payload, separators=(",", ":")), f"thread:{thread_id}"),
    )


async def events_after(conn, after_id: int, limit: int = 1000):
    return await fetch_all(
        conn, "SELECT id, channel, kind, payload, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    )


async def events_on_channels(conn, channels: list[str], after_id: int, up_to_id: int, limit: int = 5000):
    marks = ", ".join("?" for _ in channels)
    return await fetch_all(
        conn,
        f"SELECT id, channel, kind, payload, created_at FROM events WHERE channel IN ({marks})"
        " AND id > ? AND id <= ? ORDER BY id LIMIT ?",
        (*channels, after_id, up_to_id, limit),
    )


async def event_id_range(conn) -> tuple[int, int]:
    """(oldest retained id, newest id); (0, 0) when the log is empty."""
    row = await fetch_one(conn, "SELECT COALESCE(MIN(id), 0) AS low, COALESCE(MAX(id), 0) AS high FROM events")
    return row["low"], row["high"]


async def trim_events(conn, *, older_than: str, keep_newest: int) -> None:
    """Drop events that are both older than the cut-off and beyond the newest `keep_newest`."""
    await execute(
        conn,
        "DELETE FROM events WHERE created_at < ? AND id <= (SELECT COALESCE(MAX(id), 0) FROM events) - ?",
        (older_than, keep_newest),
    )
