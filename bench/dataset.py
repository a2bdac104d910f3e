"""Build a realistic forum data set for benchmarks: 10 groups, 1,000 users, 10,000 threads,
200,000 posts in trees. Written straight into SQLite in bulk (fast); the schema comes from the
forum's own migration, so it is exactly what the server uses."""
from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forum.db import Database  # noqa: E402
from forum.markdown import render_markdown  # noqa: E402
from forum.security import _hash_sync  # noqa: E402

GROUPS, USERS, THREADS, POSTS = 10, 1_000, 10_000, 200_000
BENCH_PASSWORD = "benchmark password 1"

WORDS = ("regio samenwerking gemeente provincie economie proeftuin werkgroep bestuur wethouder "
         "ambtenaar partner investering kennis vaardigheden regiodeal structuurversterking "
         "arbeidsmarkt innovatie netwerk bereikbaarheid wonen energie onderwijs").split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def build(data_dir: Path, seed: int = 7) -> Path:
    db_path = data_dir / "forum.sqlite3"
    if db_path.exists():
        return db_path
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
    with conn:
        conn.executemany(
            "INSERT INTO users (id, email, email_norm, display_name, password_hash, role, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, f"user{i}@example.nl", f"user{i}@example.nl", f"Gebruiker {i}", password_hash,
              "admin" if i == 1 else "member", stamp(i)) for i in range(1, USERS + 1)])
        existing = conn.execute("SELECT COUNT(*) FROM groups").fetchone()[0]
        conn.executemany(
            "INSERT INTO groups (name, name_norm, kind, visibility, description, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(f"Werkgroep {n}", f"werkgroep {n}", "werkgroep", "open", sentence(rng, 8), stamp(n))
             for n in range(1, GROUPS - existing + 1)])
        group_ids = [row[0] for row in conn.execute("SELECT id FROM groups ORDER BY id")][:GROUPS]
        conn.executemany(
            "INSERT OR IGNORE INTO memberships (group_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
            [(g, u, "member", stamp(u)) for g in group_ids for u in rng.sample(range(1, USERS + 1), 300)])
        post_id = 0
        thread_rows, post_rows = [], []
        per_thread = POSTS // THREADS
        clock = 0
        for thread_id in range(1, THREADS + 1):
            group_id = group_ids[thread_id % len(group_ids)]
            author = rng.randint(1, USERS)
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
                poster = author if n == 0 else rng.randint(1, USERS)
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
    conn.execute("ANALYZE")
    conn.close()
    return db_path


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/.data")
    print(build(target))
