"""News items (site news and a group's news), their tags and revisions."""
from __future__ import annotations

import json

from forum.store import execute, fetch_all, fetch_one, fetch_value, insert_row

# group_visibility is NULL for site news: policy.can(READ_NEWS) reads it with the item's own
# visibility. Tags come as one JSON list per row, so a page of news is one query.
NEWS_SELECT = (
    "SELECT n.id, n.group_id, n.thread_id, n.author_id, n.title, n.summary, n.body, n.body_html, n.kind,"
    " n.visibility, n.publish_at, n.published_at, n.unpublished_at, n.announced_at, n.created_at, n.edited_at,"
    " n.edited_by,"
    " g.visibility AS group_visibility, g.name AS group_name, a.display_name AS author_name,"
    " t.reply_count AS comment_count, t.locked AS comments_locked,"
    " (SELECT json_group_array(tag) FROM (SELECT tag FROM news_tags WHERE news_id = n.id ORDER BY tag) AS tags) AS tags_json"
    " FROM news n LEFT JOIN groups g ON g.id = n.group_id JOIN users a ON a.id = n.author_id"
    " JOIN threads t ON t.id = n.thread_id"
)


async def site_group_id(conn, visibility: str) -> int:
    """The 'site' group that holds the comment threads of site news with this visibility."""
    return await fetch_value(conn, "SELECT id FROM groups WHERE kind = 'site' AND visibility = ?", (visibility,))


async def site_group_ids(conn) -> list[int]:
    rows = await fetch_all(conn, "SELECT id FROM groups WHERE kind = 'site' ORDER BY id")
    return [row["id"] for row in rows]


async def insert_comment_thread(conn, *, group_id, author_id, title, now) -> int:
    """The thread that will hold an item's comments: removed until the item is published."""
    return await insert_row(
        conn,
        "INSERT INTO threads (group_id, author_id, title, created_at, last_activity_at, last_poster_id, deleted_at,"
        " news_id) VALUES (?, ?, ?, ?, ?, ?, ?, 0) RETURNING id",
        (group_id, author_id, title, now, now, author_id, now),
    )


async def link_thread(conn, thread_id: int, news_id: int) -> None:
    await execute(conn, "UPDATE threads SET news_id = ? WHERE id = ?", (news_id, thread_id))


async def redact_news_events(conn, news_id: int, group_id: int | None, payload: dict) -> None:
    """An item left its readers: the events that carried its words, on every channel it can
    have been on, carry `payload` from now on."""
    await execute(
        conn,
        "UPDATE events SET payload = ? WHERE channel IN ('site', 'members', ?)"
        " AND kind IN ('news.published', 'news.updated') AND CAST(json_extract(payload, '$.news.id') AS BIGINT) = ?",
        (json.dumps(payload, separators=(",", ":")), f"group:{group_id}", news_id),
    )


async def insert(conn, *, group_id, thread_id, author_id, title, summary, body, body_html, kind, visibility,
                 publish_at, now) -> int:
    return await insert_row(
        conn,
        "INSERT INTO news (group_id, thread_id, author_id, title, summary, body, body_html, kind, visibility,"
        " publish_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (group_id, thread_id, author_id, title, summary, body, body_html, kind, visibility, publish_at, now),
    )


async def update(conn, news_id: int, *, title, summary, body, body_html, kind, visibility, publish_at,
                 thread_group_id, editor_id, now) -> None:
    await execute(
        conn,
        "UPDATE news SET title = ?, summary = ?, body = ?, body_html = ?, kind = ?, visibility = ?,"
        " publish_at = ?, edited_at = ?, edited_by = ? WHERE id = ?",
        (title, summary, body, body_html, kind, visibility, publish_at, now, editor_id, news_id),
    )
    # a visibility change moves the comments to the site group that matches it
    await execute(conn, "UPDATE threads SET group_id = ?, title = ? WHERE id = (SELECT thread_id FROM news WHERE id = ?)",
                  (thread_group_id, title, news_id))


async def set_tags(conn, news_id: int, tags: list[str]) -> None:
    await execute(conn, "DELETE FROM news_tags WHERE news_id = ?", (news_id,))
    if tags:
        await execute(conn, "INSERT INTO news_tags (news_id, tag) SELECT ?, value FROM json_each(?)",
                      (news_id, json.dumps(tags)))


async def mark_published(conn, news_id: int, now: str) -> bool:
    """True the first time: its readers are to be told (a republish tells nobody again)."""
    await execute(conn, "UPDATE news SET published_at = ?, unpublished_at = NULL WHERE id = ?", (now, news_id))
    return await fetch_value(conn, "UPDATE news SET announced_at = ? WHERE id = ? AND announced_at IS NULL"
                                   " RETURNING id", (now, news_id)) is not None


async def mark_unpublished(conn, news_id: int, now: str) -> None:
    await execute(conn, "UPDATE news SET unpublished_at = ? WHERE id = ?", (now, news_id))


async def mark_scheduled(conn, news_id: int) -> None:
    """Back to waiting for its publish time (a withdrawn item given a new one)."""
    await execute(conn, "UPDATE news SET published_at = NULL, unpublished_at = NULL WHERE id = ?", (news_id,))


async def set_thread_shown(conn, thread_id: int, shown: bool, now: str) -> None:
    """A news item's comments are readable exactly while it is published: otherwise its
    thread is marked removed, which every thread rule (pages, API, live, search) already honours."""
    await execute(conn, "UPDATE threads SET deleted_at = ? WHERE id = ?", (None if shown else now, thread_id))


async def delete(conn, news_id: int) -> None:
    await execute(conn, "DELETE FROM news WHERE id = ?", (news_id,))


async def by_id(conn, news_id: int):
    return await fetch_one(conn, f"{NEWS_SELECT} WHERE n.id = ?", (news_id,))


async def by_thread(conn, thread_id: int):
    return await fetch_one(conn, f"{NEWS_SELECT} WHERE n.thread_id = ?", (thread_id,))


async def listing(conn, where: str, params: list, *, group_id: int | None = None, tag: str | None = None,
                  kind: str | None = None, before: tuple[str, int] | None = None, limit: int = 20,
                  site_only: bool = False):
    """One page of news by publish time (newest first), keyset-paginated; `where` is the
    policy's filter over n and g."""
    clauses, args = [where], list(params)
    if site_only:
        clauses.append("n.group_id IS NULL")
    if group_id is not None:
        clauses.append("n.group_id = ?")
        args.append(group_id)
    if kind is not None:
        clauses.append("n.kind = ?")
        args.append(kind)
    if tag is not None:
        clauses.append("n.id IN (SELECT news_id FROM news_tags WHERE tag = ?)")
        args.append(tag)
    if before is not None:
        clauses.append("(n.publish_at, n.id) < (?, ?)")
        args += list(before)
    return await fetch_all(
        conn, f"{NEWS_SELECT} WHERE {' AND '.join(clauses)} ORDER BY n.publish_at DESC, n.id DESC LIMIT ?",
        (*args, limit),
    )


async def due(conn, now: str, limit: int = 50) -> list[int]:
    rows = await fetch_all(
        conn, "SELECT id FROM news WHERE published_at IS NULL AND unpublished_at IS NULL AND publish_at <= ?"
        " ORDER BY publish_at, id LIMIT ?", (now, limit))
    return [row["id"] for row in rows]


async def next_due_at(conn) -> str | None:
    return await fetch_value(
        conn, "SELECT MIN(publish_at) FROM news WHERE published_at IS NULL AND unpublished_at IS NULL")


async def popular_tags(conn, where: str, params: list, limit: int = 30):
    """Tags of the news the viewer may read, most used first."""
    return await fetch_all(
        conn,
        "SELECT nt.tag, COUNT(*) AS uses FROM news_tags nt JOIN news n ON n.id = nt.news_id"
        f" LEFT JOIN groups g ON g.id = n.group_id WHERE {where} GROUP BY nt.tag ORDER BY uses DESC, nt.tag LIMIT ?",
        (*params, limit),
    )


async def insert_revision(conn, news) -> None:
    """Keep the version an edit replaces, with who wrote it and when."""
    await execute(
        conn,
        "INSERT INTO news_revisions (news_id, title, summary, body, body_html, tags, author_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (news["id"], news["title"], news["summary"], news["body"], news["body_html"], news["tags_json"],
         news["edited_by"] or news["author_id"], news["edited_at"] or news["created_at"]),
    )


async def revisions(conn, news_id: int):
    return await fetch_all(
        conn,
        "SELECT r.id, r.title, r.summary, r.body, r.body_html, r.tags, r.created_at, u.display_name AS author_name"
        " FROM news_revisions r LEFT JOIN users u ON u.id = r.author_id WHERE r.news_id = ? ORDER BY r.id DESC",
        (news_id,),
    )



async def new_threads(conn, group_id: int, limit: int):
    """A group's discussions by when they were started, newest first (its feed)."""
    return await fetch_all(
        conn,
        "SELECT t.id, t.title, t.created_at, a.display_name AS author_name, p.body_html"
        " FROM threads t JOIN users a ON a.id = t.author_id"
        " LEFT JOIN posts p ON p.id = (SELECT MIN(id) FROM posts WHERE thread_id = t.id)"
        " WHERE t.group_id = ? AND t.deleted_at IS NULL AND t.news_id IS NULL"
        " AND p.deleted_at IS NULL AND p.hidden_at IS NULL ORDER BY t.created_at DESC, t.id DESC LIMIT ?",
        (group_id, limit),
    )
