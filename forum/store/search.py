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

On PostgreSQL (is_postgres) search_fts is a plain table whose tsvector (title A, body B, words
C) is matched with a tsquery: the FTS5 expression that forum/services/search.py builds is
translated here (fts_to_tsquery, the exact subset it writes: quoted words and phrases, a
trailing * for a prefix, AND, OR, NOT, parentheses), and bm25 is stood in for by each phrase's
idf times its ts_rank, with WEIGHTS scaled to the A/B/C weights. The SQLite statements are not
touched: PostgreSQL's are derived from them (_postgres), each change checked to apply once.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
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


# --- PostgreSQL ---------------------------------------------------------------------------

def _postgres(sql: str, changes: list[tuple[str, str]]) -> str:
    """SQLite's statement with these fragments replaced, each of which must occur exactly once
    (a change to the SQLite text that one of them no longer matches fails here, at import)."""
    for old, new in changes:
        if sql.count(old) != 1:
            raise AssertionError(f"PostgreSQL search SQL: {old!r} occurs {sql.count(old)} times")
        sql = sql.replace(old, new)
    return sql


# FTS5's CROSS JOIN (SQLite: read search_fts first) is a plain join; MATCH is the tsvector's @@.
# to_tsquery puts each quoted word through the same parser and 'simple' dictionary as the
# column's to_tsvector, so both sides hold a word the same way.
_PG_SCAN = _postgres(_SCAN, [
    ("FROM search_fts f CROSS JOIN search_docs d", "FROM search_fts f JOIN search_docs d"),
    ("WHERE search_fts MATCH ?", "WHERE f.tsv @@ to_tsquery('simple', ?)"),
])
# max/instr are greatest/strpos; SQLite's `IS` between columns is IS NOT DISTINCT FROM; a CASE
# in WHERE gives booleans
_PG_SHOW = _postgres(_SHOW, [
    ("max(1, instr(lower(ifnull(dv.text, '')), ?) - 300)", "greatest(1, strpos(lower(ifnull(dv.text, '')), ?) - 300)"),
    ("WHEN 'news' THEN n.group_id IS d.group_id", "WHEN 'news' THEN n.group_id IS NOT DISTINCT FROM d.group_id"),
    ("WHEN 'event' THEN e.group_id IS d.group_id", "WHEN 'event' THEN e.group_id IS NOT DISTINCT FROM d.group_id"),
    ("WHEN 'document' THEN doc.group_id IS d.group_id",
     "WHEN 'document' THEN doc.group_id IS NOT DISTINCT FROM d.group_id"),
    ("    ELSE 1 END\nORDER BY", "    ELSE true END\nORDER BY"),
])
# bm25's weights as ts_rank's ({D, C, B, A}, each at most 1): title 1, body 1/4, words 1/12.
# Normalisation 1 divides by 1 + log(length): a mild length penalty, as bm25's is.
PG_WEIGHTS = "{0, %s}" % ", ".join(f"{weight / max(WEIGHTS):.6f}" for weight in reversed(WEIGHTS))
PG_NORMALISATION = 1
# bm25 sums, over the phrases asked for, each one's idf (how rare it is in the whole index:
# ln((N - n + 0.5) / (n + 0.5)), at least 1e-6) times how much of it an entry holds; here that
# part is ts_rank's for the phrase alone. N is PostgreSQL's row estimate once the index is large
# (counting a million rows costs more than the search; an estimate below n counts as n), else
# counted; n is counted through the GIN index, as FTS5 reads each phrase's whole list for bm25.
_PG_ROWS = ("(SELECT CASE WHEN c.reltuples >= 100000 THEN c.reltuples ELSE (SELECT count(*) FROM search_fts) END"
            " FROM pg_class c WHERE c.oid = 'search_fts'::regclass)")
_PG_IDF = ("WITH entries AS MATERIALIZED (SELECT {rows} AS total),"
           " idf AS MATERIALIZED (SELECT q.phrase, greatest(1e-6,"
           " ln((greatest(entries.total, q.hits) - q.hits + 0.5) / (q.hits + 0.5)))"
           " AS idf FROM entries, (SELECT phrase, (SELECT count(*) FROM search_fts WHERE tsv @@ phrase) AS hits"
           " FROM (VALUES {phrases}) AS asked (phrase)) AS q) ")
_PG_RANK = f"(SELECT sum(idf.idf * ts_rank('{PG_WEIGHTS}', f.tsv, idf.phrase, {PG_NORMALISATION})) FROM idf)"

_FTS_TOKENS = re.compile(r'\s*(?:"((?:[^"]|"")*)"|(\*)|(\()|(\))|(AND|OR|NOT)(?![^\s()"*]))')
_COLUMNS = "ABC"  # search_fts's title, body and words in the tsvector


class _Expression:
    """A recursive-descent reader of the FTS5 expressions forum/services/search.py writes, by
    FTS5's precedence (NOT binds closest, then AND, then OR; words side by side are AND)."""

    def __init__(self, text: str):
        self.tokens: list[tuple[str, str]] = []
        position, text = 0, text.rstrip()
        while position < len(text):
            m = _FTS_TOKENS.match(text, position)
            if m is None or m.end() == position:
                raise ValueError(f"not in the FTS5 subset the store translates: {text[position:]!r}")
            position = m.end()
            phrase, star, opening, closing, operator = m.groups()
            if phrase is not None:
                self.tokens.append(("phrase", phrase.replace('""', '"')))
            else:
                self.tokens.append(("*", "") if star else ("(", "") if opening else (")", "") if closing
                                   else (operator, ""))
        self.at = 0
        self.phrases: list[str] = []  # each phrase asked for (not after NOT), as tsquery text

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            raise ValueError(f"expected {kind} in the FTS5 expression, found {self.peek()}")
        self.at += 1
        return self.tokens[self.at - 1][1]

    def parse(self) -> str:
        tree = self.either()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()} in the FTS5 expression")
        return tree

    def either(self) -> str:
        parts = [self.both()]
        while self.peek() == "OR":
            self.take("OR")
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    def both(self) -> str:
        parts = [self.unless()]
        while self.peek() in ("AND", "phrase", "("):
            if self.peek() == "AND":
                self.take("AND")
            parts.append(self.unless())
        return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"

    def unless(self) -> str:
        tree = self.primary()
        while self.peek() == "NOT":
            self.take("NOT")
            asked = len(self.phrases)
            tree = f"({tree} & !{self.primary()})"
            del self.phrases[asked:]  # found in no match: bm25 counts nothing for it either
        return tree

    def primary(self) -> str:
        if self.peek() == "(":
            self.take("(")
            tree = self.either()
            self.take(")")
            return tree
        words = self.take("phrase").split()
        prefix = self.peek() == "*"
        if prefix:
            self.take("*")
        if not words:
            raise ValueError("an empty phrase in the FTS5 expression")
        quoted = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in words]
        if len(words) == 1:
            phrase = quoted[0] + (":*" if prefix else "")
        else:
            # an FTS5 phrase lies within one column; the tsvector's positions run on from title
            # into body, so each column is asked for on its own (its weight)
            phrase = "(" + " | ".join(
                " <-> ".join(f"{word}:{'*' if prefix and n == len(quoted) - 1 else ''}{column}"
                             for n, word in enumerate(quoted)) for column in _COLUMNS) + ")"
        self.phrases.append(phrase)
        return phrase


@lru_cache(maxsize=1024)
def _translated(match: str) -> tuple[str, tuple[str, ...]]:
    expression = _Expression(match)
    return expression.parse(), tuple(dict.fromkeys(expression.phrases))


def fts_to_tsquery(match: str) -> str:
    """The FTS5 MATCH expression forum/services/search.py builds, as to_tsquery('simple', …)
    text: "word" is 'word', "word" * is 'word':*, a phrase "a b" is 'a' <-> 'b' within one
    column, AND/OR/NOT are & | and & !, fully parenthesised. ValueError for anything else."""
    return _translated(match)[0]


def fts_phrases(match: str) -> tuple[str, ...]:
    """Each phrase of the expression that bm25 scores (those not after a NOT), once, as
    tsquery text: relevance on PostgreSQL weighs each by how rare it is, as bm25 does."""
    return _translated(match)[1]


def _scan(columns: str, match: str, readable: tuple[str, list], visible: tuple[str, list], news: tuple[str, list],
          events: tuple[str, list], documents: tuple[str, list], people: tuple[str, list], kind: str | None,
          group_id: int | None,
          author_id: int | None, since: str | None, until: str | None,
          before: int | None, template: str = _SCAN) -> tuple[str, list]:
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
    sql = template.format(columns=columns, readable=readable[0], visible=visible[0], news=news[0], events=events[0],
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
    if is_postgres(conn):
        scan, params = _scan("", fts_to_tsquery(match), readable, visible, news, events, documents, people, kind,
                             group_id, author_id, since, until, before, _PG_SCAN)
        return await fetch_all(conn, _PG_SHOW.format(page=scan, order="d.id DESC"),
                               [near.replace("\x00", ""), *params, limit])
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
    first among equals), from `offset` in that ranking. On PostgreSQL ts_rank stands in for
    bm25 (PG_WEIGHTS), computed for those candidates only, after the scan."""
    if is_postgres(conn):
        phrases = fts_phrases(match)
        scan, params = _scan("", fts_to_tsquery(match), readable, visible, news, events, documents, people, kind,
                             group_id, author_id, since, until, None, _PG_SCAN)
        idf = _PG_IDF.format(rows=_PG_ROWS, phrases=", ".join(["(to_tsquery('simple', ?))"] * len(phrases)))
        page = (f"{idf}SELECT scan.doc_id, -{_PG_RANK} AS score FROM ({scan}) AS scan"
                " JOIN search_fts f ON f.id = scan.doc_id ORDER BY score, scan.doc_id DESC LIMIT ? OFFSET ?")
        return await fetch_all(conn, _PG_SHOW.format(page=page, order="h.score, d.id DESC"),
                               [near.replace("\x00", ""), *phrases, *params, CANDIDATES, limit, offset])
    scan, params = _scan(f", bm25(search_fts, {', '.join(map(str, WEIGHTS))}) AS score", match, readable, visible,
                         news, events, documents, people, kind, group_id, author_id, since, until, None)
    page = f"SELECT doc_id, score FROM ({scan}) AS scan ORDER BY score, doc_id DESC LIMIT ? OFFSET ?"
    return await fetch_all(conn, _SHOW.format(page=page, order="h.score, d.id DESC"),
                           [near, *params, CANDIDATES, limit, offset])
