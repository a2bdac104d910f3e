"""The benchmarks' data set, at a chosen size: by default 10 groups, 1,000 users, 10,000 threads
of 20 posts (200,000 posts in trees) and 2,000 news items; `--posts 1000000` gives 50,000
threads and 10,000 news items. Around them what a living site has: each user follows a few
threads and groups, has read state in some threads and a handful of notifications (some
unread); with --documents, libraries of reports whose words are indexed. Written straight into SQLite in bulk (fast); the schema comes from the forum's own
migrations, so it is exactly what the server uses, and so is the search index: each entry's
text comes from the service's own index_text() over the rows the store's KIND_SOURCES select,
its id from the store's assign_ids(), as forum/services/search.py writes them one at a time.

Texts are words drawn from a Zipf-distributed vocabulary of 30,000 made-up words with some
Dutch ones among them (so two-word searches meet as often as real words do), and two words at
fixed rates: "gemeente" in every tenth post, "provincie" in every seventh.

build() reuses a data set only when every table holds exactly what the parameters ask (and the
schema is current); otherwise it is rebuilt from scratch. Servers are run on copies
(copy_to), so a bench's writes never grow the source across runs.

    python bench/dataset.py [DIR] [--posts N | --small]
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import random
import shutil
import sqlite3
import sys
import time
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forum.db import Database, latest_version  # noqa: E402
from forum.markdown import render_markdown  # noqa: E402
from forum.services.upkeep import RENDER_VERSION  # noqa: E402
from forum.security import _hash_sync  # noqa: E402
from forum.services.search_index import KINDS, index_text  # noqa: E402
from forum.store.search import KIND_SOURCES, assign_ids, minute_key  # noqa: E402

BENCH_PASSWORD = "benchmark password 1"
SCHEMA_GROUPS = 6  # schema.sql seeds six groups; the data set adds the rest
COMMON_WORD, COMMON_EVERY = "gemeente", 10       # a very common word: in every tenth post
SECOND_WORD, SECOND_EVERY = "provincie", 7
# real words at these ranks of the vocabulary (rank 0 is the most frequent)
DUTCH = {"regio": 60, "samenwerking": 150, "investering": 400, "wethouder": 700, "arbeidsmarkt": 1200,
         "energie": 90, "onderwijs": 250, "bereikbaarheid": 2000, "innovatie": 500, "netwerk": 300,
         "kennis": 120, "vaardigheden": 900, "structuurversterking": 3000, "bestuur": 200, "wonen": 80}
TAGS = ("energie", "wonen", "onderwijs", "zorg", "economie", "mobiliteit", "kust", "landbouw", "cultuur", "jeugd")
SPAN = timedelta(days=365)  # posts are spread over a year, whatever their number
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Size:
    groups: int = 10
    users: int = 1_000
    threads: int = 10_000
    posts_per_thread: int = 20
    news: int = 2_000
    members_per_group: int = 300
    thread_follows: int = 5      # per user
    group_follows: int = 2       # per user, among the groups they belong to (or any)
    reads: int = 20              # threads per user with read state
    notifications: int = 10      # per user, on distinct threads; every other one read
    documents: int = 0           # in groups' libraries (and the site's), each with the words of a report

    @property
    def posts(self) -> int:
        return self.threads * self.posts_per_thread

    def with_posts(self, posts: int) -> Size:
        """The same site with this many posts (in threads of posts_per_thread) and a news item
        for every hundred posts."""
        return replace(self, threads=posts // self.posts_per_thread, news=posts // 100)

    def expected(self) -> dict[str, int]:
        """Row counts a complete data set of this size has (groups: users' groups, not the
        site's own two for news comments)."""
        return {"users": self.users, "groups": self.groups, "threads": self.threads + self.news,
                "posts": self.posts, "news": self.news,
                "memberships": self.groups * self.members_per_group,
                "thread_subscriptions": self.users * self.thread_follows,
                "group_subscriptions": self.users * self.group_follows,
                "thread_reads": self.users * self.reads,
                "notifications": self.users * self.notifications,
                "documents": self.documents,
                # every thread but the news items' comment threads, every post, group, user, news item
                "search_docs": self.threads + self.posts + self.groups + 2 + self.users + self.news + self.documents}


DEFAULT = Size()
SMALL = Size(users=500, threads=2_000, news=400)
LARGE = DEFAULT.with_posts(1_000_000)

_COUNTS = {table: f"SELECT COUNT(*) FROM {table}" for table in DEFAULT.expected()}
_COUNTS["groups"] = "SELECT COUNT(*) FROM groups WHERE kind != 'site'"


def bench_thread(size: Size) -> int:
    """The thread the benches load (every thread has the same number of posts): one in an open
    group, as is the next one (the background writer's)."""
    thread_id = min(4321, size.threads // 2)
    while {thread_id % size.groups, (thread_id + 1) % size.groups} & {size.groups - 1}:  # the closed group's
        thread_id -= 1
    return thread_id


def counts(db_path: Path) -> dict[str, int] | None:
    """Row counts of the tables Size.expected names, or None if the file is not a current data set."""
    if not db_path.exists():
        return None
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] != latest_version():
            return None
        return {table: conn.execute(sql).fetchone()[0] for table, sql in _COUNTS.items()}
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def index_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the database's pages that belong to the search index (its tables, their indexes
    and FTS5's own tables)."""
    return conn.execute("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE 'search\\_%' ESCAPE '\\'"
                        " OR name LIKE 'sqlite_autoindex_search\\_%' ESCAPE '\\'").fetchone()[0]


# --- texts ------------------------------------------------------------------------------

_ONSETS = "b d f g h j k l m n p r s t v w z br dr gr kl kr pl pr sch sl sp st tr".split()
_VOWELS = "a e i o u aa ee oo uu ie oe ui ei ij au ou eu".split()
_CODAS = ["", "", "n", "r", "l", "k", "t", "s", "m", "nd", "rt", "ng", "st", "ld"]


def vocabulary(seed: int, size: int = 30_000) -> tuple[list[str], list[float]]:
    """(words, cumulative Zipf weights): made-up words, with DUTCH at their ranks; none of them
    is (or stems like) the words placed at fixed rates."""
    rng = random.Random(seed)
    reserved = {COMMON_WORD, SECOND_WORD, "gemeent", "provincie", *DUTCH}
    made, seen = [], set(reserved)
    while len(made) < size - len(DUTCH):
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                       for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))
        if len(word) > 2 and word not in seen and not word.startswith(("gemeent", "provinci")):
            seen.add(word)
            made.append(word)
    for word, rank in sorted(DUTCH.items(), key=lambda item: item[1]):
        made.insert(rank, word)
    return made, list(itertools.accumulate(1 / (rank + 10) for rank in range(len(made))))


def _sentence(rng: random.Random, vocab, weights, n: int, extra: list[str]) -> str:
    chosen = rng.choices(vocab, cum_weights=weights, k=n)
    for word in extra:
        chosen.insert(rng.randrange(len(chosen) + 1), word)
    return " ".join(chosen).capitalize() + "."


def _post_text(rng, vocab, weights, post_id: int) -> tuple[str, str]:
    """(Markdown, its HTML): two plain paragraphs, which render as <p>…</p> each (checked
    against the renderer at the start of every build)."""
    extra = [word for word, every in ((COMMON_WORD, COMMON_EVERY), (SECOND_WORD, SECOND_EVERY))
             if post_id % every == 0]
    first = _sentence(rng, vocab, weights, rng.randint(8, 20), extra[:1])
    second = _sentence(rng, vocab, weights, rng.randint(10, 30), extra[1:])
    return f"{first}\n\n{second}", f"<p>{first}</p>\n<p>{second}</p>\n"


def _stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_VOCAB: tuple[list[str], list[float]] | None = None


def _threads_chunk(job: tuple) -> tuple[list, list]:
    """(thread rows, post rows) for threads first..last: run in worker processes, each chunk
    from its own seed, so the data set is the same whatever the number of workers."""
    global _VOCAB
    seed, first, last, size, group_ids = job
    if _VOCAB is None:
        _VOCAB = vocabulary(seed)
    vocab, weights = _VOCAB
    rng = random.Random(seed * 1_000_003 + first)
    per = size.posts_per_thread
    step = SPAN.total_seconds() / size.posts
    thread_rows, post_rows = [], []
    for thread_id in range(first, last + 1):
        author = rng.randint(1, size.users)
        ids_in_thread: list[tuple[int, int]] = []
        post_id = (thread_id - 1) * per
        poster = author
        for n in range(per):
            post_id += 1
            if n == 0 or rng.random() < 0.3:
                parent, depth = None, 0
            else:
                parent, depth = rng.choice(ids_in_thread)
                depth += 1
            body, html = _post_text(rng, vocab, weights, post_id)
            poster = author if n == 0 else rng.randint(1, size.users)
            post_rows.append((post_id, thread_id, parent, depth, poster, body, html,
                              _stamp((post_id - 1) * step + rng.random() * step)))
            ids_in_thread.append((post_id, depth))
        title = _sentence(rng, vocab, weights, rng.randint(3, 8), [])[:-1][:80]
        thread_rows.append((thread_id, group_ids[thread_id % len(group_ids)], author, title,
                            post_rows[-per][7], post_rows[-1][7], poster, per - 1))
    return thread_rows, post_rows


def _index_chunk(job: tuple) -> list[tuple]:
    kind, rows = job
    return [(kind, row[0], row[4], row[5], row[3], *index_text(row[1], row[2], kind)) for row in rows]


# --- building -----------------------------------------------------------------------------

def build(data_dir: Path, size: Size = DEFAULT, seed: int = 7, workers: int | None = None) -> Path:
    """The data set's database file in data_dir: reused if its counts match size, else rebuilt."""
    assert size.groups >= SCHEMA_GROUPS and size.members_per_group <= size.users
    db_path = data_dir / "forum.sqlite3"
    found = counts(db_path)
    if found == size.expected():
        return db_path
    if found is not None or db_path.exists():
        print(f"data set in {data_dir} does not match the parameters ({found}); rebuilding", file=sys.stderr)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    async def migrate():
        db = Database(db_path)
        await db.open()
        await db.close()
    asyncio.run(migrate())

    sample = _post_text(random.Random(seed), *vocabulary(seed, 200), 10)
    if render_markdown(sample[0]) != sample[1]:
        raise SystemExit(f"the renderer no longer writes plain paragraphs as the data set does: {sample}")
    rng = random.Random(seed)
    password_hash = _hash_sync(BENCH_PASSWORD, 4)
    users = range(1, size.users + 1)
    # the workers are forked before any connection is open: none is shared across a fork
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        conn = sqlite3.connect(db_path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # bulk load only; the server runs with FULL
        conn.execute("PRAGMA cache_size=-262144")
        with conn:
            # user 1 is the site's admin (written as a role: no account becomes admin by being
            # first); every address is confirmed, as members of closed groups need
            conn.executemany(
                "INSERT INTO users (id, email, email_norm, display_name, handle, password_hash, role, created_at,"
                " email_verified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(i, f"user{i}@example.nl", f"user{i}@example.nl", f"Gebruiker {i}", f"gebruiker-{i}",
                  password_hash, "admin" if i == 1 else "member", _stamp(i), _stamp(i + 60)) for i in users])
            extra = size.groups - SCHEMA_GROUPS  # the last one is closed: members only, as real sites have
            conn.executemany(
                "INSERT INTO groups (name, name_norm, kind, visibility, description, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(f"Werkgroep {n}", f"werkgroep {n}", "werkgroep", "closed" if n == extra else "open",
                  f"Werkgroep {n} over regio en samenwerking", _stamp(n)) for n in range(1, extra + 1)])
            group_ids = [row[0] for row in conn.execute("SELECT id FROM groups WHERE kind != 'site' ORDER BY id")]
            member_of: dict[int, list[int]] = {u: [] for u in users}
            membership_rows = []
            for g in group_ids:
                for u in rng.sample(users, size.members_per_group):
                    member_of[u].append(g)
                    membership_rows.append((g, u, "member", _stamp(u)))
            conn.executemany("INSERT INTO memberships (group_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
                             membership_rows)
            chunk = 500
            jobs = [(seed, first, min(first + chunk - 1, size.threads), size, group_ids)
                    for first in range(1, size.threads + 1, chunk)]
            for thread_rows, post_rows in pool.imap(_threads_chunk, jobs):
                conn.executemany(
                    "INSERT INTO threads (id, group_id, author_id, title, created_at, last_activity_at,"
                    " last_poster_id, reply_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", thread_rows)
                conn.executemany(
                    "INSERT INTO posts (id, thread_id, parent_id, depth, author_id, body, body_html, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", post_rows)
            _tree_places(conn)
            _news(conn, rng, size, seed, group_ids)
            _documents(conn, rng, size, seed, group_ids)
            _follows_reads_notifications(conn, rng, size, group_ids, member_of)
        loaded = time.monotonic()
        with conn:
            _index(conn, pool, db_path)
            conn.execute("INSERT INTO site_settings (key, value) VALUES ('search_indexed', '1')"
                         " ON CONFLICT (key) DO UPDATE SET value = '1'")
            _rendered_now(conn)
        with conn:  # one merged index, as a site that has run a while has (its scheduler merges)
            conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    found = counts(db_path)
    if found != size.expected():
        raise SystemExit(f"data set build is wrong: {found} != {size.expected()}")
    print(f"data set of {size.posts:,} posts built in {time.monotonic() - started:.0f} s"
          f" (the search index {time.monotonic() - loaded:.0f} s of it)", file=sys.stderr)
    return db_path


def _news(conn, rng: random.Random, size: Size, seed: int, group_ids: list[int]) -> None:
    """News items over the same year, each with its comment thread (removed while the item is not
    shown): 60% public site news, 20% for members, 20% a group's; 5% still scheduled (for the
    month after the data set's last post) and 3% withdrawn."""
    vocab, weights = vocabulary(seed)
    site = dict(conn.execute("SELECT visibility, id FROM groups WHERE kind = 'site'").fetchall())
    step = SPAN.total_seconds() / max(1, size.news)
    news_rows, thread_rows, tag_rows = [], [], []
    for n in range(1, size.news + 1):
        news_id, thread_id = n, size.threads + n
        roll = rng.random()
        visibility = "public" if roll < 0.6 else "members" if roll < 0.8 else "group"
        group_id = rng.choice(group_ids) if visibility == "group" else None
        state = rng.random()
        publish_at = _stamp(n * step + (SPAN.total_seconds() + rng.random() * 30 * 86_400 if state < 0.05 else 0))
        published_at = None if state < 0.05 else publish_at
        unpublished_at = publish_at if 0.05 <= state < 0.08 else None
        title = _sentence(rng, vocab, weights, rng.randint(4, 9), [])[:-1][:120]
        summary = _sentence(rng, vocab, weights, rng.randint(12, 25), [])
        paragraphs = [_sentence(rng, vocab, weights, rng.randint(15, 40), []) for _ in range(rng.randint(3, 6))]
        body = "\n\n".join(paragraphs)
        html = "".join(f"<p>{p}</p>\n" for p in paragraphs)
        author = rng.randint(1, size.users)
        news_rows.append((news_id, group_id, thread_id, author, title, summary, body, html,
                          rng.choice(("news", "news", "interview", "report", "blog")), visibility,
                          publish_at, published_at, unpublished_at, publish_at))
        home = group_id or site["members" if visibility == "members" else "public"]
        shown = published_at is not None and unpublished_at is None
        thread_rows.append((thread_id, home, author, title, publish_at, publish_at, None if shown else publish_at,
                            news_id))
        tag_rows += [(news_id, tag) for tag in rng.sample(TAGS, rng.randint(0, 3))]
    conn.executemany("INSERT INTO threads (id, group_id, author_id, title, created_at, last_activity_at, deleted_at,"
                     " news_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", thread_rows)
    conn.executemany("INSERT INTO news (id, group_id, thread_id, author_id, title, summary, body, body_html, kind,"
                     " visibility, publish_at, published_at, unpublished_at, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", news_rows)
    conn.executemany("INSERT INTO news_tags (news_id, tag) VALUES (?, ?)", tag_rows)


def _documents(conn, rng: random.Random, size: Size, seed: int, group_ids: list[int]) -> None:
    """Documents as libraries hold them: 90% in a group's, 10% the site's (public), each a
    report of 300 to 3,000 words already read out of its file (the files themselves are not
    written: search reads the words, not the file)."""
    vocab, weights = vocabulary(seed + 1)
    step = SPAN.total_seconds() / max(1, size.documents)
    documents, versions = [], []
    for n in range(1, size.documents + 1):
        group_id = rng.choice(group_ids) if rng.random() < 0.9 else None
        moment = _stamp(n * step)
        title = _sentence(rng, vocab, weights, rng.randint(3, 8), [])[:-1][:120]
        words = " ".join(_sentence(rng, vocab, weights, rng.randint(10, 30), ["gemeente"] if n % 10 == 0 else [])
                         for _ in range(rng.randint(15, 150)))
        uploader = rng.randint(1, size.users)
        documents.append((n, group_id, "group" if group_id else "public", title, uploader, moment, moment))
        versions.append((n, f"{n:064x}", f"rapport-{n}.pdf", "application/pdf", 1000 + len(words), uploader, moment,
                         words))
    conn.executemany("INSERT INTO documents (id, group_id, visibility, title, uploader_id, version, created_at,"
                     " updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)", documents)
    conn.executemany("INSERT INTO document_versions (document_id, version, blob, filename, content_type, size,"
                     " uploader_id, created_at, text, text_state) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, 'done')", versions)


def _index(conn, pool, db_path: Path) -> None:
    """The search index as forum/services/search.py writes it, in bulk: every kind's rows from
    the store's own source query, their text through the service's index_text(), their ids by
    the store's assign_ids()."""
    taken: dict[int, int] = {}
    # the pool reads the sources from its own thread: a connection of its own
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
    for kind in KINDS:
        cursor = source.execute(f"SELECT id, title, body, created_at, group_id, author_id FROM ({KIND_SOURCES[kind]})"
                              " ORDER BY id")
        jobs = iter(lambda: (kind, cursor.fetchmany(2000)), (kind, []))
        for entries in pool.imap(_index_chunk, jobs):
            ids = assign_ids([minute_key(entry[4]) for entry in entries], taken)
            conn.executemany("INSERT INTO search_docs (id, kind, object_id, group_id, author_id) VALUES (?, ?, ?, ?, ?)",
                             [(doc_id, *entry[:4]) for doc_id, entry in zip(ids, entries)])
            conn.executemany("INSERT INTO search_fts (rowid, title, body, words) VALUES (?, ?, ?, ?)",
                             [(doc_id, *entry[5:]) for doc_id, entry in zip(ids, entries)])
    source.close()


def _follows_reads_notifications(conn, rng, size: Size, group_ids, member_of) -> None:
    """Each user follows a few threads and groups, has read some threads (to some post in them)
    and has notifications about posts in distinct threads, every other one still unread and none
    waiting to be mailed (the mailer would otherwise start sending during a measurement)."""
    threads = range(1, size.threads + 1)
    per = size.posts_per_thread
    first_post = lambda thread_id: (thread_id - 1) * per + 1  # noqa: E731  posts were numbered thread by thread
    group_of = lambda thread_id: group_ids[thread_id % len(group_ids)]  # noqa: E731
    end = SPAN.total_seconds()
    thread_subs, group_subs, reads, notes = [], [], [], []
    for user in range(1, size.users + 1):
        followed = rng.sample(threads, size.thread_follows)
        thread_subs += [(t, user, rng.choice(("watching", "watching", "normal", "muted"))) for t in followed]
        mine = member_of[user] if len(member_of[user]) >= size.group_follows else group_ids
        group_subs += [(g, user, rng.choice(("watching", "new_threads", "normal")))
                       for g in rng.sample(mine, size.group_follows)]
        reads += [(user, t, first_post(t) + rng.randrange(per)) for t in rng.sample(threads, size.reads)]
        for n, t in enumerate(rng.sample(threads, size.notifications)):
            post = first_post(t) + rng.randrange(1, per)
            when = _stamp(end - rng.randint(0, 86_400 * 30))
            notes.append((user, "watched_post" if n % 3 else "reply", rng.randint(1, size.users), group_of(t), t, post,
                          rng.randint(1, 3), when, when, when if n % 2 else None))
    conn.executemany("INSERT INTO thread_subscriptions (thread_id, user_id, level) VALUES (?, ?, ?)", thread_subs)
    conn.executemany("INSERT INTO group_subscriptions (group_id, user_id, level) VALUES (?, ?, ?)", group_subs)
    conn.executemany("INSERT INTO thread_reads (user_id, thread_id, last_read_post_id) VALUES (?, ?, ?)", reads)
    conn.executemany(
        "INSERT INTO notifications (user_id, kind, actor_id, group_id, thread_id, post_id, count, created_at,"
        " updated_at, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", notes)


def _tree_places(conn) -> None:
    """Each post's place in its thread's tree, as forum/store/threads.py tree_place gives it."""
    conn.execute("""
CREATE TEMP TABLE post_places AS
WITH RECURSIVE place(id, path) AS (
    SELECT id, printf('%08x', id) FROM posts WHERE parent_id IS NULL
    UNION ALL
    SELECT p.id, substr(place.path, 1, 128) || printf('%08x', p.id) FROM posts p JOIN place ON p.parent_id = place.id
) SELECT id, path FROM place""")
    conn.execute("CREATE INDEX temp.post_places_id ON post_places(id)")
    conn.execute("UPDATE posts SET tree_path = (SELECT path FROM post_places WHERE post_places.id = posts.id)")
    conn.execute("DROP TABLE post_places")


def _rendered_now(conn) -> None:
    """The posts are written as today's renderer writes them (build checks a sample), so the
    server need not render them all again at start (upkeep.rerender_stored_posts: ~40 s for
    200,000 posts at every bench server's start, before this was recorded)."""
    conn.execute("INSERT INTO site_settings (key, value) VALUES ('posts_rendered_with', ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (RENDER_VERSION,))


def copy_to(db_path: Path, data_dir: Path) -> Path:
    """A server's own copy of the data set, so its writes never reach the source."""
    data_dir.mkdir(parents=True, exist_ok=True)
    copy = Path(shutil.copy(db_path, data_dir / db_path.name))
    with closing(sqlite3.connect(copy)) as conn, conn:  # a data set built before this was recorded
        _rendered_now(conn)
    return copy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Build (or verify) the benchmarks' data set.")
    parser.add_argument("dir", nargs="?", default="bench/.data")
    parser.add_argument("--posts", type=int, help="this many posts (a news item for every hundred)")
    parser.add_argument("--small", action="store_true", help="500 users, 2,000 threads (40,000 posts)")
    parser.add_argument("--documents", type=int, default=0, help="documents with the words of a report each")
    args = parser.parse_args()
    chosen = SMALL if args.small else DEFAULT.with_posts(args.posts) if args.posts else DEFAULT
    chosen = replace(chosen, documents=args.documents)
    print(build(Path(args.dir), chosen))
