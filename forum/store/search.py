"""All search SQL: the index (search_docs, with the FTS5 table search_fts kept from it by
triggers) and the one query that searches it.

The index holds words already normalised and stemmed by forum/services/search.py; what a hit
is about (its group, author, date, whether it still exists) is joined from the live rows at
query time, so a thread that moves is found through its new group at once, and the policy's
SQL filter decides inside the query what the viewer may read. A PostgreSQL backend puts a
tsvector column behind these same functions.
"""
from __future__ import annotations

from forum.store import execute, fetch_all, fetch_one

# bm25 weights of (title, body, words): a word in the title counts most; `words` (the unstemmed
# forms, for prefixes while typing) least, so a prefix hit never outranks a whole-word one.
WEIGHTS = (6.0, 1.5, 0.5)

_NEWS_TAGS = "(SELECT group_concat(tag, ' ') FROM news_tags WHERE news_id = n.id)"
KIND_SOURCES = {
    # a news item's comment thread is found through the news item, its posts on their own
    "thread": "SELECT t.id, t.title, '' AS body FROM threads t WHERE t.deleted_at IS NULL AND t.news_id IS NULL",
    "post": "SELECT p.id, '' AS title, p.body FROM posts p JOIN threads t ON t.id = p.thread_id"
            " WHERE p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.deleted_at IS NULL",
    "group": "SELECT g.id, g.name AS title, g.description AS body FROM groups g WHERE 1=1",
    "user": "SELECT u.id, u.display_name AS title, u.bio AS body FROM users u WHERE 1=1",
    # tags count as title words: they name what an item is about
    "news": f"SELECT n.id, n.title || ' ' || COALESCE({_NEWS_TAGS}, '') AS title,"
            " n.summary || ' ' || n.body AS body FROM news n WHERE 1=1",
    "page": "SELECT sp.id, sp.title, sp.body FROM site_pages sp WHERE 1=1",
}
_ALIAS = {"thread": "t", "post": "p", "group": "g", "user": "u", "news": "n", "page": "sp"}


async def put(conn, kind: str, object_id: int, *, title: str, body: str, words: str) -> None:
    """Add or replace one object's entry (the triggers keep search_fts in step)."""
    await execute(
        conn,
        "INSERT INTO search_docs (kind, object_id, title, body, words) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, object_id) DO UPDATE SET title = excluded.title, body = excluded.body,"
        " words = excluded.words",
        (kind, object_id, title, body, words),
    )


async def drop(conn, kind: str, object_id: int) -> None:
    await execute(conn, "DELETE FROM search_docs WHERE kind = ? AND object_id = ?", (kind, object_id))


async def drop_posts_of_thread(conn, thread_id: int) -> None:
    await execute(conn, "DELETE FROM search_docs WHERE kind = 'post' AND object_id IN"
                        " (SELECT id FROM posts WHERE thread_id = ?)", (thread_id,))


async def sources(conn, kind: str, after: int, limit: int):
    """(id, title, body) of objects of one kind that belong in the index, by id after `after`:
    for filling the index of a database made before search existed."""
    alias = _ALIAS[kind]
    return await fetch_all(conn, f"{KIND_SOURCES[kind]} AND {alias}.id > ? ORDER BY {alias}.id LIMIT ?",
                           (after, limit))


async def source(conn, kind: str, object_id: int):
    """(id, title, body) of one object as the index holds it, or None if it does not belong there."""
    return await fetch_one(conn, f"{KIND_SOURCES[kind]} AND {_ALIAS[kind]}.id = ?", (object_id,))


async def thread_state(conn, thread_id: int):
    """(id, title, news_id, deleted_at) of a thread, removed or not."""
    return await fetch_one(conn, "SELECT id, title, news_id, deleted_at FROM threads WHERE id = ?", (thread_id,))


async def shown_posts_of_thread(conn, thread_id: int):
    return await fetch_all(conn, "SELECT id, '' AS title, body FROM posts WHERE thread_id = ? AND deleted_at IS NULL"
                                 " AND hidden_at IS NULL ORDER BY id", (thread_id,))


async def count(conn) -> int:
    rows = await fetch_all(conn, "SELECT COUNT(*) AS n FROM search_docs")
    return rows[0]["n"]


# What a hit is about, whatever its kind: `g` is the group a thread or post is in (or the group
# itself), `a` the author of a thread or post, `pu` the person a user entry is about.
_CREATED = ("CASE d.kind WHEN 'thread' THEN t.created_at WHEN 'post' THEN p.created_at"
            " WHEN 'group' THEN g.created_at WHEN 'news' THEN COALESCE(n.published_at, n.publish_at)"
            " WHEN 'page' THEN sp.created_at ELSE pu.created_at END")

_SELECT = f"""
WITH hits AS (SELECT rowid AS doc_id, bm25(search_fts, {', '.join(map(str, WEIGHTS))}) AS score
              FROM search_fts WHERE search_fts MATCH ?)
SELECT * FROM (
SELECT d.id AS doc_id, d.kind, d.object_id, h.score,
       {_CREATED} AS created_at,
       CASE d.kind WHEN 'group' THEN g.name WHEN 'user' THEN pu.display_name WHEN 'news' THEN n.title
            WHEN 'page' THEN sp.title ELSE t.title END AS title,
       CASE d.kind WHEN 'post' THEN p.body WHEN 'group' THEN g.description WHEN 'user' THEN pu.bio
            WHEN 'news' THEN n.summary || ' ' || n.body WHEN 'page' THEN sp.body ELSE '' END AS text,
       t.id AS thread_id, t.news_id, sp.slug, g.id AS group_id, g.name AS group_name, g.kind AS group_kind,
       a.id AS author_id, a.display_name AS author_name
FROM hits h JOIN search_docs d ON d.id = h.doc_id
LEFT JOIN posts p ON d.kind = 'post' AND p.id = d.object_id
LEFT JOIN news n ON d.kind = 'news' AND n.id = d.object_id
LEFT JOIN site_pages sp ON d.kind = 'page' AND sp.id = d.object_id
LEFT JOIN threads t ON t.id = CASE d.kind WHEN 'thread' THEN d.object_id WHEN 'post' THEN p.thread_id END
LEFT JOIN groups g ON g.id = CASE d.kind WHEN 'group' THEN d.object_id WHEN 'news' THEN n.group_id
                                         ELSE t.group_id END
LEFT JOIN users a ON a.id = CASE d.kind WHEN 'thread' THEN t.author_id WHEN 'post' THEN p.author_id
                                        WHEN 'news' THEN n.author_id END
LEFT JOIN users pu ON d.kind = 'user' AND pu.id = d.object_id
WHERE ((d.kind IN ('thread', 'post') AND t.deleted_at IS NULL
        AND (d.kind = 'thread' OR (p.deleted_at IS NULL AND p.hidden_at IS NULL))
        AND (d.kind = 'post' OR t.news_id IS NULL) AND {{readable}})
    OR (d.kind = 'group' AND g.id IS NOT NULL AND {{visible}})
    OR (d.kind = 'news' AND n.id IS NOT NULL AND {{news}})
    OR (d.kind = 'page' AND sp.id IS NOT NULL)
    OR (d.kind = 'user' AND pu.status = 'active'))
{{filters}}
) WHERE 1=1 {{keyset}}
ORDER BY {{order}} LIMIT ? OFFSET ?"""


async def search(conn, match: str, *, readable: tuple[str, list], visible: tuple[str, list], news: tuple[str, list],
                 kind: str | None = None, group_id: int | None = None, author_id: int | None = None,
                 since: str | None = None, until: str | None = None, by_date: bool = False,
                 after: tuple | None = None, limit: int = 20):
    """One page of hits the policy's filters let through (readable: groups whose threads and
    posts the viewer reads; visible: groups they see; news: news items they read), best first
    or newest first. `after` is where the page before ended: (created_at, doc_id) by date, (offset,) by relevance."""
    filters, params = [], []
    if kind:
        filters.append("d.kind = ?")
        params.append(kind)
    if group_id is not None:  # people belong to no single group: a group filter leaves them out
        filters.append("g.id = ?")
        params.append(group_id)
    if author_id is not None:
        filters.append("a.id = ?")
        params.append(author_id)
    if since:
        filters.append(f"{_CREATED} >= ?")
        params.append(since)
    if until:
        filters.append(f"{_CREATED} < ?")
        params.append(until)
    keyset, keyset_params, offset = "", [], 0
    if after and by_date:
        keyset = " AND (created_at < ? OR (created_at = ? AND doc_id < ?))"
        keyset_params = [after[0], after[0], after[1]]
    elif after:
        offset = after[0]
    order = "created_at DESC, doc_id DESC" if by_date else "score, created_at DESC, doc_id DESC"
    sql = _SELECT.format(readable=readable[0], visible=visible[0], news=news[0], order=order, keyset=keyset,
                         filters="".join(f" AND {clause}" for clause in filters))
    return await fetch_all(conn, sql, [match, *readable[1], *visible[1], *news[1], *params, *keyset_params, limit,
                                       offset])
