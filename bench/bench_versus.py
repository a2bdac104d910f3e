"""This checkout against an earlier commit, in the same run: both servers on copies of the same
data set (bench/dataset.py), the same pages loaded by wrk in alternating rounds. Used to show
that a feature did not slow a page down (e.g. notifications and the logged-in thread page).

    python bench/bench_versus.py --against 4fa498b [--seconds 6] [--rounds 5]

Needs git and wrk. The earlier commit is checked out into a temporary worktree and removed
afterwards; servers bind to 127.0.0.1; every load run is bounded in time.
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

from bench.bench_pages import NO_LIMITS, free_port, login, wait_until_up, wrk  # noqa: E402
from bench.dataset import build  # noqa: E402


def start(checkout: Path, data: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, **NO_LIMITS, "FORUM_DATA_DIR": str(data), "FORUM_LOG_LEVEL": "WARNING", "FORUM_HOST": "127.0.0.1",
           "FORUM_PORT": str(port), "PYTHONPATH": str(checkout)}
    return subprocess.Popen([sys.executable, str(checkout / "run.py")], env=env, cwd=checkout,
                            stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", required=True, help="the earlier commit")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="forum-versus-"))
    earlier = work / "earlier"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(earlier), args.against],
                   check=True, capture_output=True)
    servers = []
    try:
        source = build(Path(tempfile.gettempdir()) / "forum-bench-data")  # the one bench_pages.py uses
        sides = {}
        for name, checkout in (("earlier", earlier), ("now", ROOT)):
            data = work / f"data-{name}"
            data.mkdir()
            shutil.copy(source, data / source.name)
            port = free_port()
            servers.append(start(checkout, data, port))
            sides[name] = f"http://127.0.0.1:{port}"
        thread_id = 4321
        for base in sides.values():
            wait_until_up(f"{base}/threads/{thread_id}")
        cookies = {name: login(base)[0] for name, base in sides.items()}
        pages = {"thread page, logged in": lambda name: (f"{sides[name]}/threads/{thread_id}", {"Cookie": cookies[name]}),
                 "thread page, anonymous": lambda name: (f"{sides[name]}/threads/{thread_id}", None),
                 "group page, logged in": lambda name: (f"{sides[name]}/groups/3", {"Cookie": cookies[name]})}
        results = {(page, name): [] for page in pages for name in sides}
        for page, target in pages.items():  # warm-up
            for name in sides:
                url, headers = target(name)
                wrk(url, 2, args.connections, headers)
        for _ in range(args.rounds):
            for page, target in pages.items():
                for name in sides:
                    url, headers = target(name)
                    results[(page, name)].append(wrk(url, args.seconds, args.connections, headers)[0])
        print(f"{args.connections} connections, {args.seconds}s x {args.rounds} alternating rounds, median req/s")
        print(f"{'page':28} {args.against[:12]:>12} {'now':>10} {'change':>8}")
        for page in pages:
            before, now = (statistics.median(results[(page, name)]) for name in ("earlier", "now"))
            print(f"{page:28} {before:12.0f} {now:10.0f} {(now / before - 1) * 100:+7.1f}%")
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
