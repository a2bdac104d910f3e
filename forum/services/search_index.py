"""Keeping the search index: how text is normalised for it (accents and case gone, Dutch word
forms met in their Snowball stem: "Fryslân" is "fryslan", "gemeenten" meets "gemeente"), and
the index_* functions the services that write call inside their own transaction, so the index
changes with the content. Merging the index's segments runs from the scheduler. Answering a
search is forum/services/search.py; all search SQL is forum/store/search.py."""
from __future__ import annotations

import re
import time
import unicodedata

import Stemmer

from forum.services import Services
from forum.store import search as store

KINDS = ("thread", "post", "news", "page", "group", "user", "event", "document")
_WORD = re.compile(r"[^\W_]+")


def _stemmer() -> Stemmer.Stemmer:
    stemmer = Stemmer.Stemmer("dutch")
    stemmer.maxCacheSize = 0  # no state kept between calls
    return stemmer


_STEMMER = _stemmer()
stem, _STEM_ALL = _STEMMER.stemWord, _STEMMER.stemWords


def fold(text: str) -> str:
    """Accent- and case-insensitive form: "Fryslân" → "fryslan"."""
    if text.isascii():  # nothing to decompose: the same answer, without a pass per character
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


# Dutch writes some plurals and genitives with an apostrophe ("regio's", "foto's", "Anna's"):
# "regio's" is the word "regio", not "regio" and "s" (which a search would then also require)
_APOSTROPHE_S = re.compile(r"(?<=[^\W_])['\u2019]s\b")


def words(text: str) -> list[str]:
    return _WORD.findall(_APOSTROPHE_S.sub("", fold(text)))


# What marks a word in the `words` column: a letter (so FTS5 keeps it in the token) that
# folding never produces from what people type. Unmarked, "wegen" kept there for prefixes was
# also a whole-word hit for "wegens", whose stem it is (found in review).
WORD_MARK = "\u01c2"  # ǂ


# Each entry's kind, as a token of its own among those words: a search for one kind asks FTS5
# for it too, so FTS5 reads only entries of that kind (filtering on search_docs instead read
# through every matching post to find 300 documents: p95 53 ms at a million posts).
KIND_MARK = WORD_MARK * 2


def kind_token(kind: str) -> str:
    return KIND_MARK + kind


def index_text(title: str, body: str, kind: str | None = None) -> tuple[str, str, str]:
    """What the index holds of a text: (title stems, body stems, the words a prefix must also
    reach, and its kind). A prefix while typing is looked up among the stems and among these
    words: each word whose stem is not itself ("samenwerking", stem "samenwerk"), once, marked.
    A word that is its own stem ("regio") is found among the stems already; writing it again
    doubled every post's index entry and the lists bm25 reads to weigh a word."""
    title_words, body_words = words(title), words(body)
    title_stems, body_stems = _STEM_ALL(title_words), _STEM_ALL(body_words)
    unstemmed = dict.fromkeys(WORD_MARK + word for word, stemmed
                              in zip(title_words + body_words, title_stems + body_stems) if word != stemmed)
    return " ".join(title_stems), " ".join(body_stems), " ".join([*unstemmed, *([kind_token(kind)] if kind else [])])


async def _put(tx, kind: str, row) -> None:
    title, body, unstemmed = index_text(row["title"], row["body"], kind)
    await store.put(tx, kind, row["id"], created_at=row["created_at"], group_id=row["group_id"],
                    author_id=row["author_id"], title=title, body=body, words=unstemmed)


async def _index_source(tx, kind: str, object_id: int) -> None:
    """Index one object as it is now, or drop its entry if it no longer belongs in the index
    (gone, deleted, hidden). Who may find it is decided in the query."""
    row = await store.source(tx, kind, object_id)
    if row is None:
        await store.drop(tx, kind, object_id)
    else:
        await _put(tx, kind, row)


# --- keeping the index: called by the services that write, inside their transaction ------

async def index_thread(tx, thread_id: int) -> None:
    """After a thread is started, renamed, moved or removed (a removed one takes its posts along;
    a moved one's posts are found through their new group). A news item's comment thread is no
    hit of its own (the news item is), but its comments are; it is removed while its news item
    is not published, and its comments come back with it."""
    thread = await store.thread_state(tx, thread_id)
    if thread is None or thread["deleted_at"] is not None:
        await store.drop(tx, "thread", thread_id)
        await store.drop_posts_of_thread(tx, thread_id)
        return
    await store.move_posts_of_thread(tx, thread_id, thread["group_id"])
    if thread["news_id"] is not None or thread["event_id"] is not None:
        await store.drop(tx, "thread", thread_id)
        for post in await store.unindexed_posts_of_thread(tx, thread_id):
            await _put(tx, "post", post)
    else:
        await _index_source(tx, "thread", thread_id)


async def index_post(tx, post_id: int) -> None:
    """After a post is written, edited, deleted or hidden: only shown posts are findable."""
    await _index_source(tx, "post", post_id)


async def index_new_post(svc: Services, tx, post_id: int) -> None:
    """A post just written (a reply, a thread's first post): its entry is written after the
    commit, together with those of the posts written meanwhile (index_queued), so posting does
    not wait for the index: one post's entry cost it ~0.9 ms at a million posts (a quarter of
    its transaction), and each transaction left FTS5 a segment to merge later. Until then a
    search in this process writes what waits before it searches, so nobody misses a post
    committed before their search; the scheduler writes it ~0.1 s after the commit anyway."""
    await store.queue_post(tx, post_id)
    # set inside the transaction; index_queued clears it only right after a commit that found
    # the queue short, before any other write can begin
    svc.search_queued = True


QUEUE_BATCH = 500


async def index_queued(svc: Services, batches: int | None = None) -> int:
    """Write the entries of the posts waiting in the queue (all, or this many batches), as each
    post is now (one removed or hidden meanwhile is not written; one moved is found through its
    new group). Returns how many were taken from the queue."""
    # one at a time: searches that arrive together wait for the first one's batch instead of
    # each taking the writer for an empty queue (30 searches after one post made 30 writes)
    async with svc.search_queue_lock:
        if not svc.search_queued:  # cleared only when a commit found the queue empty
            return 0
        return await _write_queued(svc, batches)


async def _write_queued(svc: Services, batches: int | None) -> int:
    written, done = 0, 0
    while batches is None or done < batches:
        # invisible to caches: no page shows the index (searches are not cached)
        async with svc.db.write(visible=False) as tx:
            post_ids = await store.queued_posts(tx, QUEUE_BATCH)
            if post_ids:
                shown = await store.posts_as_indexed(tx, post_ids)
                for post_id in set(post_ids) - {row["id"] for row in shown}:
                    await store.drop(tx, "post", post_id)
                if shown:
                    await _put_batch(tx, "post", shown)  # new entries in two statements, not two each
                await store.unqueue_posts(tx, post_ids)
        # committed, and no other write can have begun since (nothing awaited after the lock's
        # release): the queue is empty if this batch was its last
        if len(post_ids) < QUEUE_BATCH:
            svc.search_queued = False
            return written + len(post_ids)
        written, done = written + len(post_ids), done + 1
    return written


async def index_group(tx, group_id: int) -> None:
    await _index_source(tx, "group", group_id)


async def index_user(tx, user_id: int) -> None:
    """Only the name and bio: what a profile shows everyone. Who is findable (active accounts)
    is decided in the query, so a suspension needs no change here."""
    await _index_source(tx, "user", user_id)


async def index_news(tx, news_id: int) -> None:
    """After a news item is written, edited, (un)published, moved or deleted. Whether it may be
    found (published, not withdrawn, and by whom) is decided in the query, like everything else."""
    await _index_source(tx, "news", news_id)


async def index_event(tx, event_id: int) -> None:
    """After an event is made, edited, approved, cancelled or deleted (a proposal is in no
    one's results: it has no entry until it is approved)."""
    await _index_source(tx, "event", event_id)


async def index_document(tx, document_id: int) -> None:
    """After a document is uploaded, given a new version, renamed, moved, deleted, or its
    words were read out of the file."""
    await _index_source(tx, "document", document_id)


async def index_page(tx, page_id: int) -> None:
    """After one of the site's pages is written, edited or deleted."""
    await _index_source(tx, "page", page_id)


MERGE_PAGES = 64  # one slice: a few milliseconds of the writer's time, then it is free again


async def merge_index(svc: Services, budget_seconds: float = 0.2) -> None:
    """Each post adds a small segment to the index (automerge is off, so posting does not wait
    for a merge); this folds them together in the background, in slices that each give the
    writer back, until nothing is left to merge or the budget is spent. Called after commits
    and at every tick, so segments never pile up to FTS5's own merge inside a post."""
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        async with svc.db.write(visible=False) as tx:
            merged = await store.merge(tx, MERGE_PAGES)
        if not merged:
            return


async def index_existing(svc: Services, batch: int = 2000) -> int:
    """Everything that belongs in the index, in batches, for a database whose index is new
    (made before search existed, or made anew by a migration). Returns how many entries were
    written; entries already there are written again."""
    written = 0
    for kind in KINDS:
        after = 0
        while True:
            async with svc.db.write() as tx:
                rows = await store.sources(tx, kind, after, batch)
                if rows:
                    await _put_batch(tx, kind, rows)
            written += len(rows)
            if len(rows) < batch:
                break
            after = rows[-1]["id"]
    return written


async def _put_batch(tx, kind: str, rows) -> None:
    there = await store.indexed(tx, kind, [row["id"] for row in rows])
    for row in rows:
        if row["id"] in there:
            await _put(tx, kind, row)
    new = [row for row in rows if row["id"] not in there]
    if not new:
        return
    bases = [store.minute_key(row["created_at"]) for row in new]
    # a full minute spills into the next: room for that past the last one
    ids = store.assign_ids(bases, await store.taken_ids(tx, min(bases), max(bases) + (1 << 20)))
    await store.put_many(tx, [(doc_id, kind, row["id"], row["group_id"], row["author_id"],
                               *index_text(row["title"], row["body"], kind)) for doc_id, row in zip(ids, new)])
