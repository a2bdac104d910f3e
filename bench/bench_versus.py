"""This checkout against an earlier commit, in the same run: every server on its own copy of the
same data set (bench/dataset.py, verified or rebuilt first), the same pages loaded by wrk in
alternating rounds. Used to show what a change cost (or saved) each page.

Each side runs twice: with its caches, and with the page and read caches off
(FORUM_PAGE_CACHE=0 FORUM_READ_CACHE=0), because an anonymous page with caches is a cache hit
on both sides and says little about the work behind it. Rendered fragments stay cached on both
sides (earlier commits cannot switch theirs off).

    python bench/bench_versus.py --against 8918bd0 [--seconds 4] [--rounds 4] [--small]

Needs git and wrk. The earlier commit is checked out into a temporary worktree and removed
afterwards; it runs on this checkout's schema (columns and tables it does not know are left
alone). Servers bind to 127.0.0.1; every load run is bounded in time.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pages import GROUP_ID, NO_LIMITS, fetch, free_port, login, stop, wait_until_up, wrk  # noqa: E402
from bench.dataset import DEFAULT, SMALL, bench_thread, build, copy_to  # noqa: E402

NO_CACHES = {"FORUM_PAGE_CACHE": "0", "FORUM_READER_PAGE_CACHE": "0", "FORUM_READ_CACHE": "0"}


def start(checkout: Path, data: Path, port: int, extra: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, **NO_LIMITS, **extra, "FORUM_DATA_DIR": str(data), "FORUM_LOG_LEVEL": "WARNING",
           "FORUM_HOST": "127.0.0.1", "FORUM_PORT": str(port), "PYTHONPATH": str(checkout)}
    return subprocess.Popen([sys.executable, str(checkout / "run.py")], env=env, cwd=checkout,
                            stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", required=True, help="the earlier commit")
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--small", action="store_true", help="500 users, 2,000 threads (40,000 posts)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "forum-bench-data")
    args = parser.parse_args()
    size = SMALL if args.small else DEFAULT
    source = build(args.data, size)  # the one bench_pages.py uses; never written to
    work = Path(tempfile.mkdtemp(prefix="forum-versus-"))
    earlier = work / "earlier"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(earlier), args.against],
                   check=True, capture_output=True)
    servers = []
    try:
        sides: dict[tuple[str, str], str] = {}  # (side, caches) -> base URL
        for name, checkout in (("earlier", earlier), ("now", ROOT)):
            for caches, extra in (("on", {}), ("off", NO_CACHES)):
                data = work / f"data-{name}-{caches}"
                copy_to(source, data)
                port = free_port()
                servers.append(start(checkout, data, port, extra))
                sides[(name, caches)] = f"http://127.0.0.1:{port}"
        thread = f"/threads/{bench_thread(size)}"
        group = f"/groups/{GROUP_ID}"
        for base in sides.values():
            wait_until_up(base + thread)
        cookies = {key: {"Cookie": login(base)[0]} for key, base in sides.items()}
        # (label, caches, path, logged in)
        pages = [("thread page, anonymous", "off", thread, False),
                 ("thread page, logged in", "off", thread, True),
                 ("group page, anonymous", "off", group, False),
                 ("thread page, anonymous", "on", thread, False),
                 ("thread page, logged in", "on", thread, True),
                 ("group page, logged in", "on", group, True)]

        def target(page, name):
            _, caches, path, logged_in = page
            return sides[(name, caches)] + path, cookies[(name, caches)] if logged_in else None

        for page in pages:  # each answers what it should, then warm-up
            for name in ("earlier", "now"):
                url, headers = target(page, name)
                if headers and "Gebruiker 2" not in fetch(url, headers):
                    raise SystemExit(f"{name}: {url} is not the logged-in page")
                wrk(url, 1, args.connections, headers)
        results = {(page, name): [] for page in pages for name in ("earlier", "now")}
        for _ in range(args.rounds):
            for page in pages:
                for name in ("earlier", "now"):
                    url, headers = target(page, name)
                    results[(page, name)].append(wrk(url, args.seconds, args.connections, headers)[0])
        print(f"{args.connections} connections, {args.seconds}s x {args.rounds} alternating rounds, median req/s;"
              f" data set: {size.users:,} users, {size.threads:,} threads")
        print("caches: 'off' is the page and read caches off (fragments cached on both sides)")
        print("change: median of the rounds' paired ratios (each pair measured back to back), with their range")
        print(f"{'page':28} {'caches':>6} {args.against[:12]:>12} {'now':>10} {'change':>8}  {'range':>17}")
        for page in pages:
            before, now = (statistics.median(results[(page, name)]) for name in ("earlier", "now"))
            paired = [(n / b - 1) * 100 for b, n in zip(results[(page, "earlier")], results[(page, "now")])]
            print(f"{page[0]:28} {page[1]:>6} {before:12.0f} {now:10.0f} {statistics.median(paired):+7.1f}%"
                  f"  {min(paired):+7.1f}% … {max(paired):+6.1f}%")
    finally:
        stop(servers)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
