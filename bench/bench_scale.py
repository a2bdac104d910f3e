"""Past one process (issue 13), side by side in one run on this machine:

  (a) SQLite, one process        (b) PostgreSQL, one process
  (c) PostgreSQL, two processes (`--workers 2`, one port) told of each other through Redis

For each: the logged-in thread page (20 posts, wrk, 32 connections, rounds interleaved), the
time from a reply's POST to the last of 1,000 subscribed sockets (spread over the processes by
the kernel in (c)), and catch-up: a client away for 10 seconds while 50 replies a second are
written resumes with its last event id, timed until it holds every missed event.

    python bench/bench_scale.py [--seconds 5] [--rounds 3] [--sockets 1000] [--posts 20]

Needs wrk, redis-server and the machine's PostgreSQL (FORUM_BENCH_POSTGRES, default
postgresql://127.0.0.1/test; each server gets a schema of its own, dropped at the end).
Servers bind to 127.0.0.1 only; every load is bounded in time and count.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_live import open_sockets, percentile, setup_site, wait_all  # noqa: E402
from bench.bench_pages import NO_LIMITS, free_port, stop, wait_until_up, wrk  # noqa: E402

POSTGRES = os.environ.get("FORUM_BENCH_POSTGRES", "postgresql://127.0.0.1/test")


def cpu_seconds(group: int) -> float:
    """CPU time used so far by the processes of one server (its process group: the parent and
    its workers), read from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != group:
                continue
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def new_schema() -> tuple[str, str]:
    import psycopg
    schema = "bench_" + secrets.token_hex(5)
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema, f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    import psycopg
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


class Setup:
    def __init__(self, name: str, root: Path, *, postgres: bool, workers: int, redis_url: str | None):
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.schema = None
        env = {**os.environ, **NO_LIMITS, "FORUM_DATA_DIR": str(root / name), "FORUM_PORT": str(self.port),
               "FORUM_HOST": "127.0.0.1", "FORUM_LOG_LEVEL": "WARNING", "FORUM_BCRYPT_ROUNDS": "4"}
        for key in ("FORUM_DATABASE_URL", "FORUM_REDIS_URL"):
            env.pop(key, None)
        if postgres:
            self.schema, env["FORUM_DATABASE_URL"] = new_schema()
        if redis_url:
            env["FORUM_REDIS_URL"] = redis_url
        self.log = open(root / f"{name}.log", "wb")
        self.process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--workers", str(workers)],
                                        env=env, stdout=self.log, stderr=self.log, start_new_session=True)
        wait_until_up(self.base + "/api/v1/openapi.json")
        if workers > 1:
            time.sleep(2)  # every worker listening, not only the first
        self.thread_id, self.token, self.cookie = setup_site(self.base)
        import urllib.request
        for n in range(19):  # the thread page of the bench: 20 posts
            request = urllib.request.Request(
                f"{self.base}/api/v1/threads/{self.thread_id}/posts", method="POST",
                data=json.dumps({"body": f"Bijdrage {n} aan de meting."}).encode(),
                headers={"Content-Type": "application/json", "Cookie": self.cookie, "X-CSRF-Token": self.token})
            urllib.request.urlopen(request).read()

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            stop([self.process])
        self.log.close()
        if self.schema:
            drop_schema(self.schema)


async def fan_out(setup: Setup, sockets: int, posts: int) -> list[float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session, \
            aiohttp.ClientSession(headers={"Cookie": setup.cookie}) as poster:
        clients = await open_sockets(session, setup.base.replace("http", "ws") + "/api/v1/live", sockets,
                                      json.dumps({"type": "subscribe", "channels": [f"thread:{setup.thread_id}"]}))
        latencies = []
        for n in range(posts):
            marker = f"uitwaaier-{n}-{secrets.token_hex(3)}"
            waiting = asyncio.ensure_future(wait_all(clients, lambda text, m=marker: m in text))
            await asyncio.sleep(0)
            started = time.perf_counter()
            async with poster.post(f"{setup.base}/api/v1/threads/{setup.thread_id}/posts", json={"body": marker},
                                   headers={"X-CSRF-Token": setup.token}) as response:
                assert response.status == 201, await response.text()
            latencies.append((await waiting) - started)
            await asyncio.sleep(0.05)
        for ws in clients:
            await ws.close()
        return latencies


async def catch_up(setup: Setup, away_seconds: float = 10, per_second: int = 50) -> tuple[float, int]:
    """(seconds from resubscribing to holding every missed event, events missed)."""
    channel = f"thread:{setup.thread_id}"
    async with aiohttp.ClientSession() as session, aiohttp.ClientSession(headers={"Cookie": setup.cookie}) as poster:
        ws = await session.ws_connect(setup.base.replace("http", "ws") + "/api/v1/live")
        await ws.send_json({"type": "subscribe", "channels": [channel]})
        last = None
        while last is None:
            frame = json.loads((await ws.receive()).data)
            if frame["type"] == "subscribed":
                last = frame["last_event_id"]
        await ws.close()
        written, ids = 0, []
        deadline = time.monotonic() + away_seconds
        while time.monotonic() < deadline:
            tick = time.monotonic()
            for _ in range(per_second // 10):
                async with poster.post(f"{setup.base}/api/v1/threads/{setup.thread_id}/posts",
                                       json={"body": f"terwijl weg {written}"}, headers={"X-CSRF-Token": setup.token}) as r:
                    assert r.status == 201, await r.text()
                    written += 1
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
        ws = await session.ws_connect(setup.base.replace("http", "ws") + "/api/v1/live")
        started = time.perf_counter()
        await ws.send_json({"type": "subscribe", "channels": [channel], "last_event_id": last})
        created = 0
        while created < written:
            frame = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
            if frame["type"] == "event" and frame["kind"] == "post.created":
                created += 1
                ids.append(frame["id"])
        seconds = time.perf_counter() - started
        await ws.close()
        assert ids == sorted(set(ids)), "catch-up out of order or doubled"
        return seconds, written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(root)], stdout=subprocess.DEVNULL)
    setups: list[Setup] = []
    try:
        # one by one, so those started are stopped if a later one fails to start
        setups.append(Setup("a-sqlite-1", root, postgres=False, workers=1, redis_url=None))
        setups.append(Setup("b-postgres-1", root, postgres=True, workers=1, redis_url=None))
        setups.append(Setup("c-postgres-2", root, postgres=True, workers=2,
                            redis_url=f"redis://127.0.0.1:{redis_port}/0"))
        pages = {setup.name: [] for setup in setups}
        busy = {setup.name: [] for setup in setups}  # the server's CPU, in cores, while wrk ran
        for _ in range(args.rounds):  # interleaved: the machine's noise falls on all alike
            for setup in setups:
                used, started = cpu_seconds(setup.process.pid), time.monotonic()
                pages[setup.name].append(wrk(f"{setup.base}/threads/{setup.thread_id}", args.seconds, 32,
                                             {"Cookie": setup.cookie}))
                busy[setup.name].append((cpu_seconds(setup.process.pid) - used) / (time.monotonic() - started))
        fans = {setup.name: asyncio.run(fan_out(setup, args.sockets, args.posts)) for setup in setups}
        catches = {setup.name: asyncio.run(catch_up(setup)) for setup in setups}
    finally:
        for setup in setups:
            setup.close()
        redis.terminate()
        redis.wait(timeout=10)
    print(f"machine: {os.cpu_count()} cores; {args.rounds} rounds of {args.seconds} s, 32 connections;"
          f" {args.sockets} sockets, {args.posts} replies")
    print(f"{'setup':<16} {'thread page req/s':>18} {'p99 ms':>8} {'server CPU':>11} {'fan-out p50 ms':>15}"
          f" {'p99 ms':>8} {'catch-up ms':>12} {'missed':>7}")
    medians = {}
    for setup in setups:
        rps = statistics.median(r for r, _ in pages[setup.name])
        p99 = statistics.median(p for _, p in pages[setup.name])
        medians[setup.name] = rps
        fan = fans[setup.name]
        seconds, missed = catches[setup.name]
        cores = statistics.median(busy[setup.name])
        print(f"{setup.name:<16} {rps:>18.0f} {p99:>8.1f} {cores * 100:>10.0f}% {percentile(fan, 0.5) * 1000:>15.1f}"
              f" {percentile(fan, 0.99) * 1000:>8.1f} {seconds * 1000:>12.1f} {missed:>7}")
    print(f"(b)/(a) thread page: {medians['b-postgres-1'] / medians['a-sqlite-1']:.2f}x;"
          f" (c)/(b): {medians['c-postgres-2'] / medians['b-postgres-1']:.2f}x")


if __name__ == "__main__":
    main()
