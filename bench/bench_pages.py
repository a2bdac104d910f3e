"""Page speed: the anonymous thread page (20 posts), a group's thread list and the logged-in
thread page, each beside a plain aiohttp + aiosqlite + Jinja2 page measured in the same run.

Visitors' pages and hot reads are cached until the next write (forum/web/page_cache.py,
Services.cached_read), so each page is measured three ways: with the caches, with the caches
while a reply is posted every 0.2 s (each post voids them), and by a second server with both
caches off (FORUM_PAGE_CACHE=0 FORUM_READ_CACHE=0).

    python bench/bench_pages.py [--seconds 10] [--connections 32] [--rounds 3]

Needs wrk (Debian: apt-get install wrk). Servers bind to 127.0.0.1 only; every load run is
bounded in time. Prints requests/s and p99 latency per target (medians over rounds) and the
ratio to the baseline.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dataset import BENCH_PASSWORD, build  # noqa: E402


# Benchmarks measure speed, not abuse: the write limits would turn their load into 429s.
NO_LIMITS = {f"FORUM_LIMIT_{name}": "off" for name in ("POST", "POST_NEW", "MENTION", "LOGIN", "LOGIN_ADDRESS",
                                                      "REGISTER", "REPORT")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str] | None = None) -> tuple[float, float]:
    """(requests/s, p99 ms) for one bounded load run."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if "Non-2xx" in output:
        raise SystemExit(f"errors while loading {url}:\n{output}")
    return rps, p99


def login(base: str, email: str = "user2@example.nl") -> tuple[str, str]:
    """(cookie header value, CSRF token) of a fresh session."""
    request = urllib.request.Request(f"{base}/api/v1/login", method="POST",
                                     data=json.dumps({"email": email, "password": BENCH_PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        cookie = response.headers["Set-Cookie"]
        token = json.loads(response.read())["csrf_token"]
    return cookie.split(";", 1)[0], token


class Writer(threading.Thread):
    """Posts a reply every `interval` seconds to another thread of the same site until stopped."""

    def __init__(self, base: str, thread_id: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.base, self.thread_id, self.interval = base, thread_id, interval
        self.cookie, self.token = login(base, "user1@example.nl")  # the admin may post anywhere
        self.stopped = threading.Event()
        self.posted = 0

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            request = urllib.request.Request(
                f"{self.base}/api/v1/threads/{self.thread_id}/posts", method="POST",
                data=json.dumps({"body": f"reactie {self.posted}"}).encode(),
                headers={"Content-Type": "application/json", "Cookie": self.cookie, "X-CSRF-Token": self.token})
            urllib.request.urlopen(request, timeout=5).read()
            self.posted += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "forum-bench-data")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    db_path = build(args.data)
    forum_port, uncached_port, base_port = free_port(), free_port(), free_port()
    env = {**os.environ, **NO_LIMITS, "FORUM_DATA_DIR": str(args.data), "FORUM_LOG_LEVEL": "WARNING",
           "FORUM_HOST": "127.0.0.1", "FORUM_PORT": str(forum_port)}
    servers = [
        subprocess.Popen([sys.executable, str(ROOT / "run.py")], env=env, stdout=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, str(ROOT / "run.py")], stdout=subprocess.DEVNULL,
                         env={**env, "FORUM_PORT": str(uncached_port), "FORUM_PAGE_CACHE": "0",
                              "FORUM_READ_CACHE": "0"}),
        subprocess.Popen([sys.executable, str(ROOT / "bench" / "baseline.py"), str(db_path), str(base_port)],
                         stdout=subprocess.DEVNULL),
    ]
    try:
        forum = f"http://127.0.0.1:{forum_port}"
        uncached = f"http://127.0.0.1:{uncached_port}"
        baseline = f"http://127.0.0.1:{base_port}"
        thread_id = 4321  # every generated thread has 20 posts
        for url in (forum, uncached, baseline):
            wait_until_up(f"{url}/threads/{thread_id}")
        cookie, _ = login(forum)
        uncached_cookie, _ = login(uncached)
        group_id = 3
        targets = {
            "baseline: aiosqlite + Jinja2 page": (f"{baseline}/threads/{thread_id}", None, False),
            "thread page, anonymous": (f"{forum}/threads/{thread_id}", None, False),
            "  ... while 5 replies/s are posted": (f"{forum}/threads/{thread_id}", None, True),
            "  ... caches off": (f"{uncached}/threads/{thread_id}", None, False),
            "group thread list, anonymous": (f"{forum}/groups/{group_id}", None, False),
            "  ... while 5 replies/s are posted ": (f"{forum}/groups/{group_id}", None, True),
            "  ... caches off ": (f"{uncached}/groups/{group_id}", None, False),
            "thread page, logged in": (f"{forum}/threads/{thread_id}", {"Cookie": cookie}, False),
            "  ... while 5 replies/s are posted  ": (f"{forum}/threads/{thread_id}", {"Cookie": cookie}, True),
            "  ... caches off  ": (f"{uncached}/threads/{thread_id}", {"Cookie": uncached_cookie}, False),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
        for name, (url, headers, _) in targets.items():  # warm-up
            wrk(url, 2, args.connections, headers)
        for _ in range(args.rounds):  # interleaved rounds, so machine noise hits every target alike
            for name, (url, headers, with_writes) in targets.items():
                writer = Writer(forum, thread_id + 1) if with_writes else None
                if writer:
                    writer.start()
                try:
                    results[name].append(wrk(url, args.seconds, args.connections, headers))
                finally:
                    if writer:
                        writer.stopped.set()
                        writer.join(timeout=10)
        base_rps = statistics.median(r for r, _ in results["baseline: aiosqlite + Jinja2 page"])
        print(f"{args.connections} connections, {args.seconds}s x {args.rounds} rounds, medians")
        print(f"{'target':40} {'req/s':>8} {'p99 ms':>8} {'vs baseline':>12}")
        for name, runs in results.items():
            rps = statistics.median(r for r, _ in runs)
            p99 = statistics.median(p for _, p in runs)
            print(f"{name:40} {rps:8.0f} {p99:8.1f} {rps / base_rps:11.2f}x")
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
