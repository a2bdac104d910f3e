"""Search benchmark, in process: the shared data set (bench/dataset.py) at a chosen size, its
search index built as the server builds it at start, then searches by 8 concurrent searchers
through the real service (policy filter included), each searcher a visitor. Prints the time to
index, the database size without and with the index, and p50/p95/p99 for a two-word query and
for a word in nearly every post, beside one plain indexed query on the same connection (the
floor for one trip to SQLite).

    python bench/bench_search.py [--threads N] [--posts-per-thread N] [--searches N]

Not a test: nothing here asserts on time."""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset import BENCH_PASSWORD, DEFAULT, SMALL, build, copy_to  # noqa: E402
from forum.config import Config  # noqa: E402
from forum.limits import ALL_OFF  # noqa: E402
from forum.db import Database  # noqa: E402
from forum.mail import Mailer  # noqa: E402
from forum.policy import VISITOR, Actor  # noqa: E402
from forum.services import Services, discussions, search, search_index  # noqa: E402


def size_of(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{suffix}") for suffix in ("", "-wal") if os.path.exists(f"{path}{suffix}"))


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(.5):7.2f} ms  p95 {pick(.95):7.2f} ms  p99 {pick(.99):7.2f} ms  (n={len(samples)})"


async def run(svc: Services, searches: int, make_call) -> list[float]:
    samples: list[float] = []

    async def searcher(n: int):
        for i in range(n):
            start = time.perf_counter()
            await make_call(i)
            samples.append(time.perf_counter() - start)

    await asyncio.gather(*(searcher(searches // 8) for _ in range(8)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=SMALL.posts,
                        help="size of the data set (issue 10 measures at 1,000,000; a news item per 100 posts)")
    parser.add_argument("--searches", type=int, default=800)
    parser.add_argument("--writes", type=int, default=800, help="replies posted with and without the index")
    parser.add_argument("--data", default=None, help="where the data set is kept between runs")
    parser.add_argument("--no-size", action="store_true", help="skip measuring the index's size (two copies)")
    parser.add_argument("--documents", type=int, default=0, help="documents in libraries (issue 11 measures 10,000)")
    args = parser.parse_args()
    size = SMALL if args.posts == SMALL.posts else DEFAULT.with_posts(args.posts)
    size = replace(size, documents=args.documents)
    suffix = f"-{args.documents}-documents" if args.documents else ""
    source = build(Path(args.data or f"bench/.data-{args.posts}{suffix}"), size)  # before the loop: build() runs its own
    asyncio.run(measure(args, size, source))


def compacted_size(source: Path, target: Path, drop_index: bool) -> int:
    """The size of a compacted copy of the database, with or without the search tables (both
    compacted alike, so the difference is the index and not free pages)."""
    copy = copy_to(source, target)
    conn = sqlite3.connect(copy)
    if drop_index:
        conn.executescript("DROP TABLE search_fts; DROP TABLE search_docs;")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = size_of(copy)
    shutil.rmtree(target)
    return size


async def open_services(db_path: Path, data_dir: Path) -> Services:
    config = Config(data_dir=data_dir, secret_key="bench", limits=dict(ALL_OFF))  # posting limits off, both runs alike
    db = Database(db_path)
    await db.open()
    return Services(db=db, config=config, mailer=Mailer(config, db, now=lambda: ""))


async def post_replies(svc: Services, count: int, indexed: bool) -> tuple[list[float], float]:
    """Replies by one member in turn across threads, through the real service, then the writing
    of their queued index entries (which the server's scheduler does after the commits): (each
    reply's time, the time to write their entries). Without the index the service's
    index_new_post is swapped for a no-op (the only difference)."""
    original = search_index.index_new_post
    if not indexed:
        async def skip(svc, tx, post_id):
            return None
        search_index.index_new_post = skip
    try:
        async with svc.db.read() as conn:
            rows = await conn.execute_fetchall(
                "SELECT t.id, t.group_id, m.user_id FROM threads t JOIN memberships m ON m.group_id = t.group_id"
                " WHERE t.news_id IS NULL AND t.locked = 0 AND m.role IN ('member', 'moderator', 'owner')"
                " GROUP BY t.id ORDER BY t.id LIMIT ?", (count,))
        samples = []
        for n, (thread_id, group_id, user_id) in enumerate(rows):
            actor = Actor(user_id=user_id, role="member", display_name=f"Gebruiker {user_id}",
                          memberships={group_id: "member"}, email_verified=True, created_at="2025-01-01T00:00:00Z")
            start = time.perf_counter()
            await discussions.reply(svc, actor, thread_id, body=f"regio samenwerking bericht {n} {'x' * 40}")
            samples.append(time.perf_counter() - start)
        start = time.perf_counter()
        written = await search_index.index_queued(svc)
        assert written == (len(rows) if indexed else 0), written
        return samples, time.perf_counter() - start
    finally:
        search_index.index_new_post = original


async def measure(args, size, source: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        print(f"{size.posts:,} posts, {size.news:,} news items, {size.documents:,} documents, {size.users:,} users")
        if not args.no_size:
            with_index = compacted_size(source, tmp_path / "full", drop_index=False)
            without = compacted_size(source, tmp_path / "bare", drop_index=True)
            print(f"database {without / 1e6:.1f} MB without the search index, {with_index / 1e6:.1f} MB with it")
        svc = await open_services(copy_to(source, tmp_path / "run"), tmp_path / "run")
        db = svc.db

        async def floor(_):
            async with db.read() as conn:
                await conn.execute_fetchall("SELECT id FROM threads WHERE id = ?", (1,))

        queries = {"two words (regio samenwerking)": "regio samenwerking",
                   "a common word (gemeente, 1 in 10 posts)": "gemeente",
                   "a prefix while typing (investe)": "investe"}
        if size.documents:  # the words inside documents, asked for as such
            queries["two words among documents (type=document)"] = ("regio samenwerking", "document")
        print("8 concurrent searchers, as a visitor (the policy filter in every query)")
        print(f"{'one indexed query (floor)':44s}", percentiles(await run(svc, args.searches, floor)))
        for label, q in queries.items():
            q, kind = q if isinstance(q, tuple) else (q, None)
            for sort in ("relevance", "date"):
                async def call(i, q=q, sort=sort, kind=kind):
                    await search.search(svc, VISITOR, {"q": q, "sort": sort, **({"type": kind} if kind else {})})
                print(f"{label + ', ' + sort:44s}", percentiles(await run(svc, args.searches, call)))
        # posting: alternate batches so drift on a noisy machine hits both alike; all the work
        # counted, the index entries written after the commits included (mean per reply)
        timings, later = {True: [], False: []}, {True: 0.0, False: 0.0}
        # not counted: the first checkpoint of the copy's WAL into its 2.5 GB file stalls one write ~0.8 s
        await post_replies(svc, 100, False)
        for batch in range(4):
            for indexed in (batch % 2 == 0, batch % 2 == 1):
                samples, writing = await post_replies(svc, args.writes // 4, indexed)
                timings[indexed] += samples
                later[indexed] += writing
        queued = later[True] / len(timings[True])  # writing the entries, per reply
        on, off = [(sum(timings[indexed]) + later[indexed]) / len(timings[indexed]) for indexed in (True, False)]
        median_on, median_off = statistics.median(timings[True]) + queued, statistics.median(timings[False])
        print(f"posting a reply through the service, with all its work (writing the queued entries"
              f" {queued * 1000:.2f} ms a reply): median {median_on * 1000:.2f} ms with the index,"
              f" {median_off * 1000:.2f} ms without ({median_on / median_off:.2f}x);"
              f" mean {on * 1000:.2f} ms and {off * 1000:.2f} ms ({on / off:.2f}x)")
        await db.close()
        await post_over_http(copy_to(source, tmp_path / "http"), tmp_path / "http", args.writes)


HTTP_BATCHES = 16  # a reply costs ~8 ms with an fsync: short alternating batches, so drift hits both alike


async def post_over_http(db_path: Path, data_dir: Path, count: int) -> None:
    """Posting as a member meets it: POST /api/v1/threads/ID/posts to the real app on a real
    socket (session, CSRF, JSON, the reply, its fan-out job, the commit, the live event), with
    and without the index write, in alternating batches."""
    from aiohttp import ClientSession, CookieJar, web
    from forum.app import create_app
    config = Config(data_dir=data_dir, secret_key="bench", limits=dict(ALL_OFF))
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    original = search_index.index_new_post
    try:
        async with ClientSession(f"http://127.0.0.1:{port}", cookie_jar=CookieJar(unsafe=True)) as client:
            async with client.post("/api/v1/login", json={"email": "user2@example.nl",
                                                          "password": BENCH_PASSWORD}) as response:
                token = (await response.json())["csrf_token"]
            db = Database(db_path)
            await db.open()
            async with db.read() as conn:
                rows = await conn.execute_fetchall(
                    "SELECT t.id FROM threads t JOIN memberships m ON m.group_id = t.group_id AND m.user_id = 2"
                    " WHERE t.news_id IS NULL AND t.locked = 0 AND t.deleted_at IS NULL ORDER BY t.id LIMIT 50")
            await db.close()
            threads = [row[0] for row in rows]
            assert threads, "user 2 is a member of no group with threads"

            async def skip(svc, tx, post_id):
                return None
            timings = {True: [], False: []}
            for batch in range(HTTP_BATCHES):
                indexed = batch % 4 in (0, 3)  # ABBA: whatever comes every other batch hits both alike
                search_index.index_new_post = original if indexed else skip
                batch_timings = []
                for n in range(count // HTTP_BATCHES):
                    start = time.perf_counter()
                    async with client.post(f"/api/v1/threads/{threads[n % len(threads)]}/posts",
                                           json={"body": f"regio samenwerking bericht {batch} {n} {'x' * 40}"},
                                           headers={"X-CSRF-Token": token}) as response:
                        assert response.status == 201, await response.text()
                    batch_timings.append(time.perf_counter() - start)
                timings[indexed] += batch_timings
                if os.environ.get("BENCH_VERBOSE"):
                    print(f"  batch {batch} indexed={indexed}: median {statistics.median(batch_timings) * 1000:.2f} ms")
        on, off = statistics.median(timings[True]), statistics.median(timings[False])
        mean_on, mean_off = statistics.mean(timings[True]), statistics.mean(timings[False])
        print(f"posting a reply over HTTP, median: {on * 1000:.2f} ms with the index, {off * 1000:.2f} ms without"
              f" ({on / off:.2f}x); mean {mean_on * 1000:.2f} ms and {mean_off * 1000:.2f} ms ({mean_on / mean_off:.2f}x)")
    finally:
        search_index.index_new_post = original
        await runner.cleanup()


if __name__ == "__main__":
    main()
