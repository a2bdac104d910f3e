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
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset import SMALL, build, copy_to  # noqa: E402
from forum.config import Config  # noqa: E402
from forum.db import Database  # noqa: E402
from forum.mail import Mailer  # noqa: E402
from forum.policy import VISITOR  # noqa: E402
from forum.services import Services, search, upkeep  # noqa: E402


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
    parser.add_argument("--threads", type=int, default=SMALL.threads)
    parser.add_argument("--posts-per-thread", type=int, default=SMALL.posts_per_thread)
    parser.add_argument("--searches", type=int, default=800)
    parser.add_argument("--data", default="bench/.data-search")
    args = parser.parse_args()
    size = replace(SMALL, threads=args.threads, posts_per_thread=args.posts_per_thread)
    source = build(Path(args.data), size)  # before the loop starts: build() runs its own
    asyncio.run(measure(args, size, source))


async def measure(args, size, source: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = copy_to(source, Path(tmp))
        config = Config(data_dir=Path(tmp), secret_key="bench")
        db = Database(db_path)
        await db.open()  # applies migration 7 (empty index)
        svc = Services(db=db, config=config, mailer=Mailer(config, db, now=lambda: ""))
        async with db.write() as tx:
            await tx.execute("DELETE FROM site_settings WHERE key = 'search_indexed'")
        await db.close()
        without = size_of(db_path)
        await db.open()
        start = time.perf_counter()
        written = await upkeep.index_for_search(svc)
        took = time.perf_counter() - start
        await db.close()
        with_index = size_of(db_path)
        await db.open()
        print(f"{size.threads * size.posts_per_thread:,} posts; indexed {written:,} entries in {took:.1f} s")
        print(f"database {without / 1e6:.1f} MB without the index, {with_index / 1e6:.1f} MB with it")

        async def floor(_):
            async with db.read() as conn:
                await conn.execute_fetchall("SELECT id FROM threads WHERE id = ?", (1,))

        queries = {"two words (regio samenwerking)": "regio samenwerking",
                   "a common word (gemeente)": "gemeente",
                   "a prefix while typing (investe)": "investe"}
        print(f"{'one indexed query (floor)':34s}", percentiles(await run(svc, args.searches, floor)))
        for label, q in queries.items():
            for sort in ("relevance", "date"):
                async def call(i, q=q, sort=sort):
                    await search.search(svc, VISITOR, {"q": q, "sort": sort})
                print(f"{label + ', ' + sort:34s}", percentiles(await run(svc, args.searches, call)))
        await db.close()


if __name__ == "__main__":
    main()
