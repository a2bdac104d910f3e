"""The benchmarks' data set: by default 10 groups, 1,000 users, 10,000 threads of 20 posts
(200,000 posts in trees), and around them what a living site has: each user follows a few
threads and groups, has read state in some threads and a handful of notifications (some
unread). Written straight into SQLite in bulk (fast); the schema comes from the forum's own
migration, so it is exactly what the server uses.

build() reuses a data set only when every table holds exactly what the parameters ask (and the
schema is current); otherwise it is rebuilt from scratch. Servers are run on copies
(copy_to), so a bench's writes never grow the source across runs."""
from __future__ import annotations

import asyncio
import random
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forum.db import Database, latest_version  # noqa: E402
from forum.markdown import render_markdown  # noqa: E402
from forum.security import _hash_sync  # noqa: E402

BENCH_PASSWORD = "benchmark password 1"
SCHEMA_GROUPS = 6  # schema.sql seeds six groups; the data set adds the rest

WORDS = ("regio samenwerking gemeente provincie economie proeftuin werkgroep bestuur wethouder "
         "ambtenaar partner investering kennis vaardigheden regiodeal structuurversterking "
         "arbeidsmarkt innovatie netwerk bereikbaarheid wonen energie onderwijs").split()


@dataclass(frozen=True)
class Size:
    groups: int = 10
    users: int = 1_000
    threads: int = 10_000
    posts_per_thread: int = 20
    members_per_group: int = 300
    thread_follows: int = 5      # per user
    group_follows: int = 2       # per user, among the groups they belong to (or any)
    reads: int = 20              # threads per user with read state
    notifications: int = 10      # per user, on distinct threads; every other one read

    def expected(self) -> dict[str, int]:
        """Row counts a complete data set of this size has."""
        return {"users": self.users, "groups": self.groups, "threads": self.threads,
                "posts": self.threads * self.posts_per_thread,
                "memberships": self.groups * self.members_per_group,
                "thread_subscriptions": self.users * self.thread_follows,
                "group_subscriptions": self.users * self.group_follows,
                "thread_reads": self.users * self.reads,
                "notifications": self.users * self.notifications}


DEFAULT = Size()
SMALL = Size(users=500, threads=2_000)


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
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in Size().expected()}
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def build(data_dir: Path, size: Size = DEFAULT, seed: int = 7) -> Path:
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

    async def migrate():
        db = Database(db_path)
        await db.open()
        await db.close()
    asyncio.run(migrate())

    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    stamp = lambda seconds: (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    bodies = []
    for _ in range(200):
        text = f"{sentence(rng, 12)}\n\n{sentence(rng, 20)} **{rng.choice(WORDS)}** [link](https://example.nl/{rng.randint(1, 99)})"
        bodies.append((text, render_markdown(text)))

    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # bulk load only; the server runs with FULL
    password_hash = _hash_sync(BENCH_PASSWORD, 4)
    users = range(1, size.users + 1)
    with conn:
        # user 1 is the site's admin (written as a role: no account becomes admin by being
        # first); every address is confirmed, as members of closed groups need
        conn.executemany(
            "INSERT INTO users (id, email, email_norm, display_name, handle, password_hash, role, created_at,"
            " email_verified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, f"user{i}@example.nl", f"user{i}@example.nl", f"Gebruiker {i}", f"gebruiker-{i}", password_hash,
              "admin" if i == 1 else "member", stamp(i), stamp(i + 60)) for i in users])
        extra = size.groups - SCHEMA_GROUPS  # the last one is closed: members only, as real sites have
        conn.executemany(
            "INSERT INTO groups (name, name_norm, kind, visibility, description, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(f"Werkgroep {n}", f"werkgroep {n}", "werkgroep", "closed" if n == extra else "open", sentence(rng, 8),
              stamp(n)) for n in range(1, extra + 1)])
        group_ids = [row[0] for row in conn.execute("SELECT id FROM groups ORDER BY id")]
        member_of: dict[int, list[int]] = {u: [] for u in users}
        membership_rows = []
        for g in group_ids:
            for u in rng.sample(users, size.members_per_group):
                member_of[u].append(g)
                membership_rows.append((g, u, "member", stamp(u)))
        conn.executemany("INSERT INTO memberships (group_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
                         membership_rows)
        post_id = 0
        thread_rows, post_rows = [], []
        per_thread = size.posts_per_thread
        clock = 0
        for thread_id in range(1, size.threads + 1):
            group_id = group_ids[thread_id % len(group_ids)]
            author = rng.randint(1, size.users)
            ids_in_thread: list[tuple[int, int]] = []
            first_clock = clock
            for n in range(per_thread):
                post_id += 1
                clock += rng.randint(1, 30)
                if n == 0:
                    parent, depth = None, 0
                elif rng.random() < 0.3 or not ids_in_thread:
                    parent, depth = None, 0
                else:
                    parent, depth = rng.choice(ids_in_thread)
                    depth += 1
                body, html = rng.choice(bodies)
                poster = author if n == 0 else rng.randint(1, size.users)
                post_rows.append((post_id, thread_id, parent, depth, poster, body, html, stamp(clock)))
                ids_in_thread.append((post_id, depth))
            thread_rows.append((thread_id, group_id, author, sentence(rng, 6)[:80], stamp(first_clock), stamp(clock),
                                poster, per_thread - 1))
        conn.executemany(
            "INSERT INTO threads (id, group_id, author_id, title, created_at, last_activity_at, last_poster_id,"
            " reply_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", thread_rows)
        conn.executemany(
            "INSERT INTO posts (id, thread_id, parent_id, depth, author_id, body, body_html, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", post_rows)
        _follows_reads_notifications(conn, rng, size, group_ids, member_of, stamp, clock)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    found = counts(db_path)
    if found != size.expected():
        raise SystemExit(f"data set build is wrong: {found} != {size.expected()}")
    return db_path


def _follows_reads_notifications(conn, rng, size: Size, group_ids, member_of, stamp, clock) -> None:
    """Each user follows a few threads and groups, has read some threads (to some post in them)
    and has notifications about posts in distinct threads, every other one still unread and none
    waiting to be mailed (the mailer would otherwise start sending during a measurement)."""
    threads = range(1, size.threads + 1)
    per = size.posts_per_thread
    first_post = lambda thread_id: (thread_id - 1) * per + 1  # noqa: E731  posts were numbered thread by thread
    group_of = lambda thread_id: group_ids[thread_id % len(group_ids)]  # noqa: E731
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
            when = stamp(clock - rng.randint(0, 86_400 * 30))
            notes.append((user, "watched_post" if n % 3 else "reply", rng.randint(1, size.users), group_of(t), t, post,
                          rng.randint(1, 3), when, when, when if n % 2 else None))
    conn.executemany("INSERT INTO thread_subscriptions (thread_id, user_id, level) VALUES (?, ?, ?)", thread_subs)
    conn.executemany("INSERT INTO group_subscriptions (group_id, user_id, level) VALUES (?, ?, ?)", group_subs)
    conn.executemany("INSERT INTO thread_reads (user_id, thread_id, last_read_post_id) VALUES (?, ?, ?)", reads)
    conn.executemany(
        "INSERT INTO notifications (user_id, kind, actor_id, group_id, thread_id, post_id, count, created_at,"
        " updated_at, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", notes)


def copy_to(db_path: Path, data_dir: Path) -> Path:
    """A server's own copy of the data set, so its writes never reach the source."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(db_path, data_dir / db_path.name))


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/.data")
    print(build(target, SMALL if "--small" in sys.argv else DEFAULT))
