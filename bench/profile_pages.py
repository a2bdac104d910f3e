"""Where a logged-in reader's thread page (20 posts) spends its time: the real app (create_app)
in this process on a copy of the bench data set (bench/dataset.py, the one bench_pages.py uses),
a member logged in, and N loads of the page profiled with pyinstrument three times: with every
cache off (bench_pages.py's UNCACHED: what making the page costs), with the caches on but the
reader's page cache off (FORUM_READER_PAGE_CACHE=0: the page as commit 46dc51b found it, made
from cached reads and fragments), and with every cache on (a reload answered from the reader's
kept page).

    python bench/profile_pages.py [--small] [--loads 600] [--connections 4] [--html DIR]

The loads come from a child process (so the profile holds the server's work, not the client's)
over a few keep-alive connections. The profile is of the event loop's thread, where everything but
SQLite itself runs: SQLite works in aiosqlite's threads, whose CPU time is counted apart (by
wrapping each call handed to them) and printed beside the profile. Each sample is put in the
group of the innermost frame that a group claims (a Jinja filter that formats a date counts as
i18n, an escape inside a template as escape), so the groups add up to the busy time.
The profiler slows every Python call, pure-Python code most: the shares are what to read, not
the requests per second. Binds 127.0.0.1 only; every load is bounded in time.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:
    from pyinstrument import Profiler
except ImportError:  # a bench extra, not a dependency of the forum
    raise SystemExit("pyinstrument is needed: pip install -e '.[test]' (or pip install pyinstrument)")
import aiohttp  # noqa: E402
import aiosqlite  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.bench_pages import NO_LIMITS, UNCACHED, free_port  # noqa: E402
from bench.dataset import BENCH_PASSWORD, DEFAULT, SMALL, bench_thread, build, copy_to  # noqa: E402
from forum import config as config_module  # noqa: E402
from forum.app import create_app  # noqa: E402
from forum.web.access_log import RedactingAccessLogger  # noqa: E402

# (group, test on the file path, test on the function name): the first that claims a frame,
# looking from the innermost frame outwards, gets the sample. Standard-library frames that no
# group claims (re, json, datetime...) count for the caller that a group does claim.
GROUPS: list[tuple[str, str | None, str | None]] = [
    ("idle (waiting for the client or SQLite)", "selectors.py", None),
    ("idle (waiting for the client or SQLite)", None, "select"),
    ("escape (markupsafe)", "markupsafe", None),
    ("i18n (Babel, gettext, dates)", "babel", None),
    ("i18n (Babel, gettext, dates)", "forum/i18n.py", None),
    ("i18n (Babel, gettext, dates)", "gettext.py", None),
    ("Jinja rendering (templates)", ".html", None),
    ("Jinja rendering (templates)", "jinja2", None),
    ("Jinja rendering (templates)", "aiohttp_jinja2", None),
    ("template helpers (forum/web/templating.py)", "forum/web/templating.py", None),
    ("SQL (aiosqlite calls, rows, store)", "aiosqlite", None),
    ("SQL (aiosqlite calls, rows, store)", "forum/store/", None),
    ("SQL (aiosqlite calls, rows, store)", "forum/db.py", None),
    ("policy (forum/policy.py)", "forum/policy.py", None),
    ("session (cookie, lookup, CSRF)", "forum/web/cookies.py", None),
    ("session (cookie, lookup, CSRF)", "forum/web/csrf.py", None),
    ("session (cookie, lookup, CSRF)", "forum/security.py", None),
    ("session (cookie, lookup, CSRF)", "forum/web/middleware.py", "session_middleware"),
    ("session (cookie, lookup, CSRF)", "forum/web/middleware.py", "csrf_middleware"),
    ("session (cookie, lookup, CSRF)", "forum/services/accounts.py", None),
    ("page and fragment caches", "forum/web/page_cache.py", None),
    ("page and fragment caches", "forum/web/fragment_cache.py", None),
    ("page and fragment caches", "forum/cache.py", None),
    ("other middleware", "forum/web/middleware.py", None),
    ("other middleware", "forum/web/freshness.py", None),
    ("other middleware", "forum/web/proxies.py", None),
    ("other middleware", "forum/web/traffic.py", None),
    ("other middleware", "forum/web/access_log.py", None),
    ("page handler and services", "forum/", None),
    ("aiohttp (HTTP parsing, routing, writing)", "aiohttp", None),
    ("asyncio (event loop, tasks)", "asyncio", None),
    ("asyncio (event loop, tasks)", "uvloop", None),
    ("logging", "logging", None),
]
IDLE = GROUPS[0][0]
OTHER = "other"


def classify(stack: list[str]) -> str:
    """The group of one sample's call stack (outermost first, pyinstrument's identifiers:
    function NUL file NUL line)."""
    for identifier in reversed(stack):
        function, file_path = (identifier.split("\x00") + ["", ""])[:2]
        file_path = file_path.replace(os.sep, "/")
        for group, in_path, name in GROUPS:
            if (in_path is None or in_path in file_path) and (name is None or name == function):
                return group
    return OTHER


def where(identifier: str) -> str:
    function, file_path, line = (identifier.split("\x00") + ["", "", ""])[:3]
    line = line.split("\x01")[0]  # pyinstrument appends the class and the last line after \x01
    path = Path(file_path)
    short = "/".join(path.parts[-2:]) if len(path.parts) > 1 else file_path
    return f"{function} ({short}:{line})"


class SqliteClock:
    """Counts the calls handed to aiosqlite's threads and the CPU time they take there: that
    work is not on the event loop's thread, so the profile shows only the wait for it."""

    def __init__(self):
        self.calls = 0
        self.cpu = 0.0
        self.original = aiosqlite.Connection._execute

    def install(self) -> None:
        clock, original = self, self.original

        async def timed_execute(connection, fn, *args, **kwargs):
            @functools.wraps(fn)
            def run(*inner_args, **inner_kwargs):
                started = time.thread_time()
                try:
                    return fn(*inner_args, **inner_kwargs)
                finally:
                    clock.cpu += time.thread_time() - started  # one thread at a time per call

            clock.calls += 1
            return await original(connection, run, *args, **kwargs)

        aiosqlite.Connection._execute = timed_execute

    def reset(self) -> None:
        self.calls, self.cpu = 0, 0.0


# The load: N GETs over a few keep-alive connections, started when the parent says "go" (so
# starting Python is not profiled); any answer but 200 fails the run.
CLIENT = r"""
import http.client, sys, threading, time
host, port, path, cookie, loads, connections = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
sys.stdin.readline()
left, lock, failures = [loads], threading.Lock(), []
def work():
    conn = http.client.HTTPConnection(host, port, timeout=30)
    while True:
        with lock:
            if left[0] <= 0:
                return
            left[0] -= 1
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)
started = time.monotonic()
threads = [threading.Thread(target=work) for _ in range(connections)]
for t in threads: t.start()
for t in threads: t.join()
print(time.monotonic() - started, len(failures), flush=True)
"""


async def serve(data_dir: Path, extra_env: dict[str, str]) -> tuple[web.AppRunner, str]:
    port = free_port()
    env = {**NO_LIMITS, **extra_env, "FORUM_DATA_DIR": str(data_dir), "FORUM_HOST": "127.0.0.1",
           "FORUM_PORT": str(port), "FORUM_LOG_LEVEL": "WARNING"}
    app = create_app(config_module.from_env(env), announce_setup=False)
    # as forum/cli.py's web.run_app sets it up, less the signal handlers
    runner = web.AppRunner(app, access_log_class=RedactingAccessLogger, handle_signals=False, shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def login(base: str, path: str) -> str:
    """A fresh session's cookie for a member (user 2, as bench_pages.py logs in), checked on the page."""
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{base}/api/v1/login", json={"email": "user2@example.nl",
                                                              "password": BENCH_PASSWORD}) as response:
            if response.status != 200:
                raise SystemExit(f"login failed: HTTP {response.status} {await response.text()}")
            morsel = response.cookies
            cookie = "; ".join(f"{name}={value.value}" for name, value in morsel.items())
        async with client.get(base + path, headers={"Cookie": cookie}) as response:
            if response.status != 200 or "Gebruiker 2" not in await response.text():
                raise SystemExit(f"{path} is not the logged-in page (HTTP {response.status})")
    return cookie


async def load(base: str, path: str, cookie: str, loads: int, connections: int,
               profiler: Profiler | None = None) -> float:
    """Seconds the client took for `loads` GETs; the profiler (if any) runs only meanwhile."""
    host, port = base.removeprefix("http://").split(":")
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, host, port, path, cookie, str(loads), str(connections),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        if profiler:
            profiler.start()
        client.stdin.write(b"go\n")
        await client.stdin.drain()
        line = await asyncio.wait_for(client.stdout.readline(), timeout=max(120, loads))
        if profiler:
            profiler.stop()
    finally:
        if client.returncode is None:
            client.kill()
        await client.wait()
    if not line:
        raise SystemExit("the load's client failed")
    seconds, failures = line.split()
    if int(failures):
        raise SystemExit(f"{failures} of {loads} loads did not answer 200")
    return float(seconds)


def summary(label: str, profiler: Profiler, sqlite: SqliteClock, loads: int, seconds: float, top: int) -> dict:
    session = profiler.last_session
    groups: dict[str, float] = collections.Counter()
    selves: dict[str, float] = collections.Counter()
    for stack, duration in session.frame_records:
        stack = [frame for frame in stack if frame.split("\x00")[0] not in ("[await]", "[self]")]
        group = classify(stack)
        groups[group] += duration
        if group != IDLE and stack:
            selves[where(stack[-1])] += duration
    total = sum(groups.values())
    busy = total - groups.get(IDLE, 0.0)
    print(f"\n== {label}: {loads} loads in {seconds:.2f} s with the profiler on ({loads / seconds:.0f}/s),"
          f" event loop busy {busy / total:.0%} of the time")
    print(f"   per page: {busy / loads * 1000:.2f} ms on the event loop's thread, and {sqlite.calls / loads:.1f}"
          f" calls to SQLite taking {sqlite.cpu / loads * 1000:.2f} ms CPU in aiosqlite's threads")
    print(f"   where the event loop's busy time goes ({busy * 1000:.0f} ms in all):")
    for group, duration in sorted(groups.items(), key=lambda item: -item[1]):
        if group != IDLE:
            print(f"   {duration / busy:6.1%}  {group}")
    print(f"   top {top} functions by self time:")
    for name, duration in sorted(selves.items(), key=lambda item: -item[1])[:top]:
        print(f"   {duration / busy:6.1%}  {name}")
    return {"label": label, "loads": loads, "busy_ms_per_page": busy / loads * 1000,
            "sqlite_calls_per_page": sqlite.calls / loads, "sqlite_cpu_ms_per_page": sqlite.cpu / loads * 1000,
            "groups": {group: duration / busy for group, duration in groups.items() if group != IDLE}}


# (name, what, environment, loads as a multiple of --loads: a kept page costs a tenth of a made
# one, and its profile needs as many samples)
MODES = [("uncached", "every cache off (bench_pages.py's UNCACHED)", UNCACHED, 1),
         ("no-reader-cache", "caches on but the reader's page cache"
                             " (FORUM_READER_PAGE_CACHE=0: before 46dc51b)", {"FORUM_READER_PAGE_CACHE": "0"}, 1),
         ("cached", "every cache on (the defaults)", {}, 5)]


async def profile(source: Path, work: Path, path: str, args) -> list[dict]:
    sqlite = SqliteClock()
    sqlite.install()
    results = []
    for name, label, extra, loads in MODES:
        loads *= args.loads
        copy_to(source, work / name)
        runner, base = await serve(work / name, extra)
        try:
            cookie = await login(base, path)
            await load(base, path, cookie, args.warmup, args.connections)  # templates compiled, caches filled
            sqlite.reset()
            profiler = Profiler(interval=args.interval, async_mode="disabled")
            seconds = await load(base, path, cookie, loads, args.connections, profiler)
            results.append(summary(f"logged-in thread page, {label}", profiler, sqlite, loads, seconds,
                                   args.top))
            if args.html:
                args.html.mkdir(parents=True, exist_ok=True)
                (args.html / f"profile-{name}.html").write_text(profiler.output_html())
        finally:
            await runner.cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=600,
                        help="page loads profiled with caches off (five times as many with all on)")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--connections", type=int, default=4, help="the client's keep-alive connections")
    parser.add_argument("--interval", type=float, default=0.0005, help="pyinstrument's sampling interval (s)")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--small", action="store_true", help="500 users, 2,000 threads (40,000 posts)")
    parser.add_argument("--data", type=Path, default=None, help="where the data set is (built if absent)")
    parser.add_argument("--html", type=Path, default=None, help="also write pyinstrument's HTML views here")
    parser.add_argument("--json", type=Path, default=None, help="also write the shares as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    size = SMALL if args.small else DEFAULT
    source = build(args.data or Path(tempfile.gettempdir()) / f"forum-bench-data-{size.posts}", size)
    work = Path(tempfile.mkdtemp(prefix="forum-profile-"))
    path = f"/threads/{bench_thread(size)}"
    print(f"profiling GET {path} (20 posts) logged in as a member; data set: {size.users:,} users,"
          f" {size.threads:,} threads, {size.posts:,} posts; {args.loads} loads over {args.connections} connections,"
          f" sampled every {args.interval * 1000:g} ms")
    try:
        results = asyncio.run(profile(source, work, path, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nIn short: shares of the event loop's busy time, and what a page costs (with the profiler on)")
    names = [name for name, *_ in MODES]
    print(f"{'':44}" + "".join(f"{name:>17}" for name in names))
    for group in sorted({g for result in results for g in result["groups"]}, key=lambda g: -results[0]["groups"].get(g, 0)):
        print(f"{group:44}" + "".join(f"{result['groups'].get(group, 0):17.1%}" for result in results))
    for key, what in (("busy_ms_per_page", "ms per page on the event loop"),
                      ("sqlite_calls_per_page", "calls to SQLite per page"),
                      ("sqlite_cpu_ms_per_page", "ms CPU per page in SQLite's threads")):
        print(f"{what:44}" + "".join(f"{result[key]:17.2f}" for result in results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
