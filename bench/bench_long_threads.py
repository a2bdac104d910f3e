"""A thread of 10,000 replies against a thread of 20 posts, on the same site and in the same run:
its pages and its API answer (issue 14: within 1.5x), and what a reply to it costs.

The long thread is added to a copy of the bench data set (bench/dataset.py, --small by default)
the way people write one: 60% of the replies answer the discussion itself, the rest a reply
picked at random among the earlier ones (so early posts gather long strands), each with words
taken from the data set's posts. Two servers run: one with every cache off (each request does
all its work: the figure that matters) and one as configured by default (a reply voids what
was kept, so the first page after it is rendered again).

    python bench/bench_long_threads.py [--seconds 4] [--rounds 3] [--replies 10000] [--full]

Needs wrk (Debian: apt-get install wrk). Servers bind to 127.0.0.1; every load run is bounded.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pages import NO_LIMITS, UNCACHED, fetch, free_port, login, stop, wait_until_up, wrk  # noqa: E402
from bench.dataset import DEFAULT, SMALL, bench_thread, build, copy_to  # noqa: E402
from forum.store.threads import tree_place  # noqa: E402


def add_long_thread(db_path: Path, short_thread: int, replies: int, seed: int = 14) -> int:
    """A thread in the short thread's group with `replies` replies to its opening post's
    discussion; returns its id."""
    rng = random.Random(seed)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        group_id, = conn.execute("SELECT group_id FROM threads WHERE id = ?", (short_thread,)).fetchone()
        thread_id = conn.execute("SELECT max(id) FROM threads").fetchone()[0] + 1
        post_id = conn.execute("SELECT max(id) FROM posts").fetchone()[0]
        users = [row[0] for row in conn.execute("SELECT user_id FROM memberships WHERE group_id = ?", (group_id,))]
        words = conn.execute("SELECT body, body_html FROM posts ORDER BY random() LIMIT 500").fetchall()
        stamp = "2026-12-01T09:00:00.000000Z"
        conn.execute("INSERT INTO threads (id, group_id, author_id, title, created_at, last_activity_at,"
                     " last_poster_id, reply_count) VALUES (?, ?, ?, 'Conferentiedag: alle vragen', ?, ?, ?, ?)",
                     (thread_id, group_id, users[0], stamp, stamp, users[0], replies))
        written: list[tuple[int, int, str]] = []  # (id, depth, place)
        rows = []
        for n in range(replies + 1):
            post_id += 1
            parent = None if n == 0 or rng.random() < 0.6 else rng.choice(written)
            place = tree_place(post_id, parent[2] if parent else None)
            body, html = rng.choice(words)
            rows.append((post_id, thread_id, parent[0] if parent else None, parent[1] + 1 if parent else 0,
                         rng.choice(users), body, html, stamp, place))
            written.append((post_id, parent[1] + 1 if parent else 0, place))
        conn.executemany("INSERT INTO posts (id, thread_id, parent_id, depth, author_id, body, body_html, created_at,"
                         " tree_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return thread_id


def post_reply(base: str, thread_id: int, cookie: str, token: str) -> float:
    started = time.perf_counter()
    request = urllib.request.Request(f"{base}/api/v1/threads/{thread_id}/posts", method="POST",
                                     data=json.dumps({"body": "Nog een vraag over de planning."}).encode(),
                                     headers={"Content-Type": "application/json", "Cookie": cookie,
                                              "X-CSRF-Token": token})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def timed_get(url: str, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    fetch(url, headers)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replies", type=int, default=10_000)
    parser.add_argument("--writes", type=int, default=40, help="replies timed per thread")
    parser.add_argument("--full", action="store_true", help="the full data set (200,000 posts), not --small's")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    size = DEFAULT if args.full else SMALL
    source = build(Path(tempfile.gettempdir()) / f"forum-bench-data-{size.posts}", size)
    work = Path(tempfile.mkdtemp(prefix="forum-bench-long-"))
    short = bench_thread(size)
    ports = {name: free_port() for name in ("uncached", "cached")}
    env = {**os.environ, **NO_LIMITS, "FORUM_LOG_LEVEL": "WARNING", "FORUM_HOST": "127.0.0.1"}
    servers = []
    try:
        long = None
        for name, extra in (("uncached", UNCACHED), ("cached", {})):
            db = copy_to(source, work / name)
            long = add_long_thread(db, short, args.replies)
            servers.append(subprocess.Popen([sys.executable, str(ROOT / "run.py")], stdout=subprocess.DEVNULL, env={
                **env, **extra, "FORUM_DATA_DIR": str(work / name), "FORUM_PORT": str(ports[name])}))
        uncached, cached = (f"http://127.0.0.1:{ports[name]}" for name in ("uncached", "cached"))
        for base in (uncached, cached):
            wait_until_up(f"{base}/threads/{short}")
        reader = {"Cookie": login(uncached)[0]}
        pages = fetch(f"{uncached}/threads/{long}")
        count = int(pages.split("Pagina 1 van ", 1)[1].split("<", 1)[0])
        chrono = fetch(f"{uncached}/threads/{long}?view=chronological")
        chrono_count = int(chrono.split("Pagina 1 van ", 1)[1].split("<", 1)[0])
        pairs = [  # (label, the 20-post thread's url, the long thread's url, headers)
            ("thread page, visitor", f"/threads/{short}", f"/threads/{long}", None),
            ("thread page, logged in", f"/threads/{short}", f"/threads/{long}", reader),
            ("last page of the tree, visitor", f"/threads/{short}", f"/threads/{long}?page={count}", None),
            ("time order, last page, visitor", f"/threads/{short}?view=chronological",
             f"/threads/{long}?view=chronological&page={chrono_count}", None),
            ("API, first part", f"/api/v1/threads/{short}", f"/api/v1/threads/{long}", None),
        ]
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for label, short_url, long_url, headers in pairs:  # each answers, then warm-up
            for url in (short_url, long_url):
                fetch(uncached + url, headers)
                wrk(uncached + url, 1, args.connections, headers)
        for _ in range(args.rounds):  # interleaved, so the machine's noise hits both alike
            for label, short_url, long_url, headers in pairs:
                for which, url in (("short", short_url), ("long", long_url)):
                    runs.setdefault((label, which), []).append(wrk(uncached + url, args.seconds, args.connections,
                                                                   headers))
        median = {key: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v)) for key, v in runs.items()}
        posts_long = args.replies + 1
        print(f"{args.connections} connections, {args.seconds}s x {args.rounds} interleaved rounds, medians, every cache"
              f" off;\nthe long thread: {posts_long:,} posts ({count} pages of the tree, {chrono_count} in time order);"
              f" data set: {size.threads * size.posts_per_thread:,} posts")
        print(f"\n{'page':34} {'20 posts':>9} {'p99':>6} {f'{posts_long:,} posts':>13} {'p99':>6} {'cost':>6}")
        for label, *_ in pairs:
            (s_rps, s_p99), (l_rps, l_p99) = median[(label, "short")], median[(label, "long")]
            print(f"{label:34} {s_rps:9.0f} {s_p99:6.1f} {l_rps:13.0f} {l_p99:6.1f} {s_rps / l_rps:5.2f}x")

        # what a reply costs, and the first page after it, on the server as configured
        cookie, token = login(cached, "user1@example.nl")  # the admin may post anywhere
        headers = {"Cookie": cookie}
        for thread in (short, long):
            fetch(f"{cached}/threads/{thread}", headers)
        timings: dict[str, list[float]] = {}
        for _ in range(args.writes):
            for which, thread in (("short", short), ("long", long)):
                timings.setdefault(f"reply {which}", []).append(post_reply(cached, thread, cookie, token))
                timings.setdefault(f"page {which}", []).append(timed_get(f"{cached}/threads/{thread}", headers))
        print(f"\nA reply and the first page after it (which renders again), {args.writes} of each, one at a time,"
              f" medians:\n{'':34} {'20 posts':>9} {f'{posts_long:,} posts':>13} {'cost':>6}")
        for what in ("reply", "page"):
            s_ms, l_ms = (statistics.median(timings[f"{what} {which}"]) for which in ("short", "long"))
            print(f"{what + ' (ms)':34} {s_ms:9.2f} {l_ms:13.2f} {l_ms / s_ms:5.2f}x")
    finally:
        stop(servers)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
