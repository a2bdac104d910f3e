"""All search SQL: the index, and the queries that search it.

search_docs is narrow (what a hit is: kind, object, group, author) and search_fts holds the
words, already normalised and stemmed by forum/services/search.py. Their shared id is ordered
by date: (minute written << 10) + n, so FTS5's own rowid order is newest first. That makes the
two costly things cheap at any size: sorting by date reads matches newest first and stops at a
page, and ranking by relevance ranks only the newest CANDIDATES readable matches (every match
when there are fewer). The policy's SQL filter is applied to each match inside that scan
(groups, memberships, news and accounts joined live), so what a viewer may not read is never
a result, nor counted towards a page. A PostgreSQL backend puts a tsvector column behind these
same functions.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from forum.store import execute, execute_many, fetch_all, fetch_one, fetch_value, is_postgres

# bm25 weights of (title, body, words): a word in the title counts most; `words` (the forms that
# differ from their stem, there only for a prefix while typing) least.
WEIGHTS = (6.0, 1.5, 0.5)
SLOT_BITS = 10      # ids per minute before they spill into the next minute's
# newest readable matches ranked by relevance: bm25() costs a pass over each searched word's
# whole list (~3 ms for a common word at a million posts) and ~3 µs a candidate; at 1,000
# candidates searches by relevance at a million posts took p95 ~165 ms with 8 searchers on 2
# cores; at 300, ~90 ms (bench/bench_search.py). Ranking in Python instead (with each word's
# count kept between searches) cost less in all but doubled p95: it holds the GIL that the 8
# searchers share, where SQLite's work runs beside it on the readers' threads.
CANDIDATES = 300

_NEWS_TAGS = "(SELECT group_concat(tag, ' ') FROM news_tags WHERE news_id = n.id)"
# (id, title, body, created_at, group_id, author_id) of what belongs in the index
KIND_SOURCES = {
    # a news item's or event's comment thread is found through the item, its posts on their own
    "thread": "SELECT t.id, t.title, '' AS body, t.created_at, t.group_id, t.author_id FROM threads t"
              " WHERE t.deleted_at IS NULL AND t.news_id IS NULL AND t.event_id IS NULL",
    "post": "SELECT p.id, '' AS title, p.body, p.created_at, t.group_id, p.author_id"
            " FROM posts p JOIN threads t ON t.id = p.thread_id"
            " WHERE p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.deleted_at IS NULL",
    "group": "SELECT g.id, g.name AS title, g.description AS body, g.created_at, g.id AS group_id,"
             " NULL AS author_id FROM groups g WHERE 1=1",
    "user": "SELECT u.id, u.display_name AS title, u.bio AS body, u.created_at, NULL AS group_id,"
            " NULL AS author_id FROM users u WHERE 1=1",
    # tags count as title words: they name what an item is about; its date is when it appeared
    "news": f"SELECT n.id, n.title || ' ' || COALESCE({_NEWS_TAGS}, '') AS title, n.summary || ' ' || n.body AS body,"
            " COALESCE(n.published_at, n.publish_at) AS created_at, n.group_id, n.author_id FROM news n WHERE 1=1",
    "page": "SELECT sp.id, sp.title, sp.body, sp.created_at, NULL AS group_id, NULL AS author_id"
            " FROM site_pages sp WHERE 1=1",
    # where it is held counts as title words too; a proposal is found by nobody until approved
    # the words inside the current version count as body (forum/files/extract.py reads them out)
    "document": "SELECT doc.id, doc.title || ' ' || v.filename AS title,"
                " doc.description || ' ' || ifnull(v.text, '') AS body, doc.created_at, doc.group_id,"
                " doc.uploader_id AS author_id FROM documents doc"
                " JOIN document_versions v ON v.document_id = doc.id AND v.version = doc.version WHERE 1=1",
    # (a place shown to attendees only is not: it would be found, and shown in the snippet)
    "event": "SELECT e.id, e.title || CASE WHEN e.place_for_attendees = 1 THEN '' ELSE ' ' || e.location END AS title,"
             " e.description AS body, e.created_at, e.group_id, e.organiser_id AS author_id FROM agenda_events e"
             " WHERE e.status != 'proposed'",
}
_ALIAS = {"thread": "t", "post": "p", "group": "g", "user": "u", "news": "n", "page": "sp", "event": "e", "document": "doc"}


def minute_key(moment: str) -> int:
    """The lowest id of a moment's minute (an ISO time, as the forum writes them; UTC unless
    it says otherwise)."""
    when = datetime.fromisoformat(moment)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp()) // 60 << SLOT_BITS


def assign_ids(bases: Iterable[int], taken: dict[int, int]) -> list[int]:
    """Ids for new entries at these minute keys, given the highest id taken in each minute
    (updated as ids are given): the same choice as put() makes one at a time."""
    ids = []
    for base in bases:
        while True:
            last = taken.get(base)
            candidate = base if last is None else last + 1
            if candidate < base + (1 << SLOT_BITS):
                taken[base] = candidate
                ids.append(candidate)
                break
            base += 1 << SLOT_BITS
    return ids


async def taken_ids(conn, low: int, high: int) -> dict[int, int]:
    """The highest id taken in each minute from the one of `low` to the one of `high`."""
    rows = await fetch_all(conn, f"SELECT (id >> {SLOT_BITS}) << {SLOT_BITS} AS base, MAX(id) AS top"
                                 " FROM search_docs WHERE id >= ? AND id < ? GROUP BY base",
                           (low, high + (1 << SLOT_BITS)))
    return {row["base"]: row["top"] for row in rows}


async def _free_id(conn, base: int) -> int:
    """The next id in base's minute; a full minute spills into the following ones."""
    while True:
        top = await fetch_value(conn, "SELECT MAX(id) FROM search_docs WHERE id >= ? AND id < ?",
                                (base, base + (1 << SLOT_BITS)))
        if top is None or top + 1 < base + (1 << SLOT_BITS):
            return base if top is None else top + 1
        base += 1 << SLOT_BITS


async def put(conn, kind: str, object_id: int, *, created_at: str, group_id: int | None, author_id: int | None,
              title: str, body: str, words: str) -> None:
    """Add or replace one object's entry; one whose date changed (a news item published later
    than planned) moves to its new place in the order."""
    base = minute_key(created_at)
    # the common case, something new (a reply): its entry in one statement when its minute has
    # room, so the posting transaction pays two trips to SQLite for the index, not five
    doc_id = await fetch_value(
        conn, "INSERT INTO search_docs (id, kind, object_id, group_id, author_id)"
              " SELECT next, :kind, :object_id, :group_id, :author_id FROM"
              " (SELECT COALESCE(MAX(id) + 1, :base) AS next FROM search_docs WHERE id >= :base AND id < :end) AS slot"
              " WHERE next < :end"
              " AND NOT EXISTS (SELECT 1 FROM search_docs WHERE kind = :kind AND object_id = :object_id)"
              " RETURNING id",
        {"base": base, "end": base + (1 << SLOT_BITS), "kind": kind, "object_id": object_id, "group_id": group_id,
         "author_id": author_id})
    if doc_id is not None:
        await execute(conn, "INSERT INTO search_fts (rowid, title, body, words) VALUES (?, ?, ?, ?)",
                      (doc_id, title, body, words))
        return
    old = await fetch_one(conn, "SELECT id, group_id, author_id FROM search_docs WHERE kind = ? AND object_id = ?",
                          (kind, object_id))
    if old is not None and old["id"] >> SLOT_BITS == base >> SLOT_BITS:
        if (old["group_id"], old["author_id"]) != (group_id, author_id):
            await execute(conn, "UPDATE search_docs SET group_id = ?, author_id = ? WHERE id = ?",
                          (group_id, author_id, old["id"]))
        await execute(conn, "UPDATE search_fts SET title = ?, body = ?, words = ? WHERE rowid = ?",
                      (title, body, words, old["id"]))
        return
    if old is not None:
        await _drop_ids(conn, [old["id"]])
    doc_id = await _free_id(conn, base)
    await execute(conn, "INSERT INTO search_docs (id, kind, object_id, group_id, author_id) VALUES (?, ?, ?, ?, ?)",
                  (doc_id, kind, object_id, group_id, author_id))
    await execute(conn, "INSERT INTO search_fts (rowid, title, body, words) VALUES (?, ?, ?, ?)",
                  (doc_id, title, body, words))


async def indexed(conn, kind: str, object_ids: list[int]) -> set[int]:
    """Which of these objects have an entry."""
    marks = ", ".join("?" * len(object_ids))
    rows = await fetch_all(conn, f"SELECT object_id FROM search_docs WHERE kind = ? AND object_id IN ({marks})",
                           (kind, *object_ids))
    return {row["object_id"] for row in rows}


async def put_many(conn, rows: list[tuple]) -> None:
    """New entries with their ids chosen already (assign_ids): (id, kind, object_id, group_id,
    author_id, title, body, words). For filling the index in bulk."""
    await execute_many(conn, "INSERT INTO search_docs (id, kind, object_id, group_id, author_id) VALUES (?, ?, ?, ?, ?)",
                       [row[:5] for row in rows])
    await execute_many(conn, "INSERT INTO search_fts (rowid, title, body, words) VALUES (?, ?, ?, ?)",
                       [(row[0], *row[5:]) for row in rows])


async def _drop_ids(conn, ids: list[int]) -> None:
    if ids:
        marks = ", ".join("?" * len(ids))
        await execute(conn, f"DELETE FROM search_fts WHERE rowid IN ({marks})", ids)
        await execute(conn, f"DELETE FROM search_docs WHERE id IN ({marks})", ids)


async def drop(conn, kind: str, object_id: int) -> None:
    doc_id = await fetch_value(conn, "SELECT id FROM search_docs WHERE kind = ? AND object_id = ?", (kind, object_id))
    await _drop_ids(conn, [] if doc_id is None else [doc_id])


async def drop_posts_of_thread(conn, thread_id: int) -> None:
    rows = await fetch_all(conn, "SELECT d.id FROM posts p JOIN search_docs d ON d.kind = 'post' AND d.object_id = p.id"
                                 " WHERE p.thread_id = ?", (thread_id,))
    await _drop_ids(conn, [row["id"] for row in rows])


async def move_posts_of_thread(conn, thread_id: int, group_id: int) -> None:
    """A thread's posts are found through the group it is in now."""
    await execute(conn, "UPDATE search_docs SET group_id = ? WHERE kind = 'post' AND group_id IS NOT ?"
                        " AND object_id IN (SELECT id FROM posts WHERE thread_id = ?)", (group_id, group_id, thread_id))


async def sources(conn, kind: str, after: int, limit: int):
    """What belongs in the index, of one kind, by id after `after`: for filling the index of a
    database whose index was made anew."""
    alias = _ALIAS[kind]
    return await fetch_all(conn, f"{KIND_SOURCES[kind]} AND {alias}.id > ? ORDER BY {alias}.id LIMIT ?",
                           (after, limit))


async def source(conn, kind: str, object_id: int):
    """One object as the index holds it, or None if it does not belong there."""
    return await fetch_one(conn, f"{KIND_SOURCES[kind]} AND {_ALIAS[kind]}.id = ?", (object_id,))


async def posts_as_indexed(conn, post_ids: list[int]):
    """These posts as the index holds them, those that belong there (shown, in a thread that is)."""
    marks = ", ".join("?" * len(post_ids))
    return await fetch_all(conn, f"{KIND_SOURCES['post']} AND p.id IN ({marks})", post_ids)


async def thread_state(conn, thread_id: int):
    """(id, title, news_id, event_id, group_id, deleted_at) of a thread, removed or not."""
    return await fetch_one(conn, "SELECT id, title, news_id, event_id, group_id, deleted_at FROM threads WHERE id = ?",
                           (thread_id,))


async def unindexed_posts_of_thread(conn, thread_id: int):
    """Shown posts of a thread that have no entry (a news item's comments, back with it)."""
    return await fetch_all(conn, f"{KIND_SOURCES['post']} AND p.thread_id = ? AND NOT EXISTS"
                                 " (SELECT 1 FROM search_docs d WHERE d.kind = 'post' AND d.object_id = p.id)"
                                 " ORDER BY p.id", (thread_id,))


async def queue_post(conn, post_id: int) -> None:
    await execute(conn, "INSERT INTO search_queue (post_id) VALUES (?) ON CONFLICT DO NOTHING", (post_id,))


async def queued_posts(conn, limit: int) -> list[int]:
    rows = await fetch_all(conn, "SELECT post_id FROM search_queue ORDER BY post_id LIMIT ?", (limit,))
    return [row["post_id"] for row in rows]


async def unqueue_posts(conn, post_ids: list[int]) -> None:
    marks = ", ".join("?" * len(post_ids))
    await execute(conn, f"DELETE FROM search_queue WHERE post_id IN ({marks})", post_ids)


async def merge(conn, pages: int) -> bool:
    """Up to this many pages of FTS5's incremental merging of index segments; nothing when no
    level holds enough segments to merge. True when something was merged. PostgreSQL's GIN
    index keeps itself: nothing to do there."""
    if is_postgres(conn):
        return False
    before = conn.total_changes
    await execute(conn, "INSERT INTO search_fts (search_fts, rank) VALUES ('merge', ?)", (pages,))
    return conn.total_changes - before > 1  # the command itself counts one change


# The scan: matches newest first, each checked against the viewer's filters (g: the group a
# thread, post or news item is in, or the group itself; n: a news item; pu: a person).
_SCAN = """
SELECT f.rowid AS doc_id{columns}
FROM search_fts f CROSS JOIN search_docs d ON d.id = f.rowid
LEFT JOIN groups g ON g.id = d.group_id
LEFT JOIN news n ON d.kind = 'news' AND n.id = d.object_id
LEFT JOIN agenda_events e ON d.kind = 'event' AND e.id = d.object_id
LEFT JOIN documents doc ON d.kind = 'document' AND doc.id = d.object_id
LEFT JOIN users pu ON d.kind = 'user' AND pu.id = d.object_id
WHERE search_fts MATCH ?
  AND ((d.kind IN ('thread', 'post') AND g.id IS NOT NULL AND {readable})
    OR (d.kind = 'group' AND g.id IS NOT NULL AND {visible})
    OR (d.kind = 'news' AND n.id IS NOT NULL AND {news})
    OR (d.kind = 'event' AND e.id IS NOT NULL AND {events})
    OR (d.kind = 'document' AND doc.id IS NOT NULL AND {documents})
    OR d.kind = 'page'
    OR (d.kind = 'user' AND pu.id IS NOT NULL AND {people}))
  {filters}
ORDER BY f.rowid DESC LIMIT ?"""

# What a page of hits shows, read for those hits only. The live rows are checked once more
# (the index changes with them in one transaction, so this drops nothing unless that broke).
# A document's words (up to 200,000 characters) are cut to the stretch around the first place
# the longest searched stem occurs (the parameter; SQLite's instr, in C): the snippet is made
# from that, not from all of it.
_SHOW = """
SELECT d.id AS doc_id, d.kind, d.object_id,
       CASE d.kind WHEN 'thread' THEN t.created_at WHEN 'post' THEN p.created_at WHEN 'group' THEN g.created_at
            WHEN 'news' THEN COALESCE(n.published_at, n.publish_at) WHEN 'page' THEN sp.created_at
            WHEN 'event' THEN e.created_at WHEN 'document' THEN doc.created_at ELSE pu.created_at END AS created_at,
       CASE d.kind WHEN 'group' THEN g.name WHEN 'user' THEN pu.display_name WHEN 'news' THEN n.title
            WHEN 'page' THEN sp.title WHEN 'event' THEN e.title WHEN 'document' THEN doc.title
            ELSE t.title END AS title,
       CASE d.kind WHEN 'post' THEN p.body WHEN 'group' THEN g.description WHEN 'user' THEN pu.bio
            WHEN 'news' THEN n.summary || ' ' || n.body WHEN 'page' THEN sp.body
            WHEN 'event' THEN CASE WHEN e.place_for_attendees = 1 THEN '' ELSE e.location || ' ' END || e.description
            WHEN 'document' THEN doc.description || ' ' || substr(ifnull(dv.text, ''),
                max(1, instr(lower(ifnull(dv.text, '')), ?) - 300), 3000) ELSE '' END AS text,
       e.starts_at AS event_starts_at,
       t.id AS thread_id, t.news_id, t.event_id, sp.slug, g.id AS group_id, g.name AS group_name, g.kind AS group_kind,
       a.id AS author_id, a.display_name AS author_name
FROM ({page}) h JOIN search_docs d ON d.id = h.doc_id
LEFT JOIN posts p ON d.kind = 'post' AND p.id = d.object_id
LEFT JOIN news n ON d.kind = 'news' AND n.id = d.object_id
LEFT JOIN site_pages sp ON d.kind = 'page' AND sp.id = d.object_id
LEFT JOIN agenda_events e ON d.kind = 'event' AND e.id = d.object_id
LEFT JOIN documents doc ON d.kind = 'document' AND doc.id = d.object_id
LEFT JOIN document_versions dv ON dv.document_id = doc.id AND dv.version = doc.version
LEFT JOIN users pu ON d.kind = 'user' AND pu.id = d.object_id
LEFT JOIN threads t ON t.id = CASE d.kind WHEN 'thread' THEN d.object_id WHEN 'post' THEN p.thread_id END
LEFT JOIN groups g ON g.id = d.group_id
LEFT JOIN users a ON a.id = d.author_id
WHERE CASE d.kind
    WHEN 'thread' THEN t.deleted_at IS NULL AND t.news_id IS NULL AND t.event_id IS NULL AND t.group_id = d.group_id
    WHEN 'post' THEN p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.deleted_at IS NULL
                     AND t.group_id = d.group_id
    WHEN 'news' THEN n.group_id IS d.group_id
    WHEN 'event' THEN e.group_id IS d.group_id
    WHEN 'document' THEN doc.group_id IS d.group_id
    WHEN 'page' THEN sp.id IS NOT NULL
    ELSE 1 END
ORDER BY {order}"""


def _scan(columns: str, match: str, readable: tuple[str, list], visible: tuple[str, list], news: tuple[str, list],
          events: tuple[str, list], documents: tuple[str, list], people: tuple[str, list], kind: str | None,
          group_id: int | None,
          author_id: int | None, since: str | None, until: str | None,
          before: int | None) -> tuple[str, list]:
    filters, params = [], []
    if kind:
        filters.append("d.kind = ?")
        params.append(kind)
    if group_id is not None:  # people and pages belong to no group: a group filter leaves them out
        filters.append("d.group_id = ?")
        params.append(group_id)
    if author_id is not None:
        filters.append("d.author_id = ?")
        params.append(author_id)
    if since:  # dates are ranges of ids
        filters.append("f.rowid >= ?")
        params.append(minute_key(since))
    if until:
        filters.append("f.rowid < ?")
        params.append(minute_key(until))
    if before is not None:
        filters.append("f.rowid < ?")
        params.append(before)
    sql = _SCAN.format(columns=columns, readable=readable[0], visible=visible[0], news=news[0], events=events[0],
                       documents=documents[0], people=people[0],
                       filters="".join(f" AND {clause}" for clause in filters))
    return sql, [match, *readable[1], *visible[1], *news[1], *events[1], *documents[1], *people[1], *params]


async def newest(conn, match: str, *, readable: tuple[str, list], visible: tuple[str, list], news: tuple[str, list],
                 events: tuple[str, list], documents: tuple[str, list], people: tuple[str, list],
                 kind: str | None = None,
                 group_id: int | None = None, author_id: int | None = None,
                 since: str | None = None, until: str | None = None, before: int | None = None, limit: int = 20,
                 near: str = ""):
    """One page of hits the policy's filters let through (readable: groups whose threads and
    posts the viewer reads; visible: groups they see; news: news items they read), newest
    first, older than the id `before` (where the page before ended)."""
    scan, params = _scan("", match, readable, visible, news, events, documents, people, kind, group_id, author_id,
                         since, until, before)
    return await fetch_all(conn, _SHOW.format(page=scan, order="d.id DESC"), [near, *params, limit])


async def ranked(conn, match: str, *, readable: tuple[str, list], visible: tuple[str, list], news: tuple[str, list],
                 events: tuple[str, list], documents: tuple[str, list], people: tuple[str, list],
                 kind: str | None = None,
                 group_id: int | None = None, author_id: int | None = None,
                 since: str | None = None, until: str | None = None, offset: int = 0, limit: int = 20,
                 near: str = ""):
    """One page of the newest CANDIDATES matches the viewer may read, ranked by bm25 (newest
    first among equals), from `offset` in that ranking."""
    scan, params = _scan(f", bm25(search_fts, {', '.join(map(str, WEIGHTS))}) AS score", match, readable, visible,
                         news, events, documents, people, kind, group_id, author_id, since, until, None)
    page = f"SELECT doc_id, score FROM ({scan}) AS scan ORDER BY score, doc_id DESC LIMIT ? OFFSET ?"
    return await fetch_all(conn, _SHOW.format(page=page, order="h.score, d.id DESC"),
                           [near, *params, CANDIDATES, limit, offset])
