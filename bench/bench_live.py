"""Live delivery: N websocket clients on loopback watch one thread; replies are posted through
the API, and we measure the time from the POST to the last client receiving the event, beside
a plain aiohttp server broadcasting a message of the same size to N clients, in the same run.
Also: server memory per idle connection, and the thread page's speed with 1,000 sockets open.

    python bench/bench_live.py [--clients 1000 5000] [--posts 20] [--rounds 3]

Servers bind to 127.0.0.1; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pages import NO_LIMITS, free_port, stop, wait_until_up, wrk  # noqa: E402

PASSWORD = "benchmark password 1"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def open_sockets(session: aiohttp.ClientSession, url: str, count: int, subscribe: str | None):
    sockets = []
    for start in range(0, count, 200):  # in waves, so the listen backlog is not flooded
        batch = await asyncio.gather(*[session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5))
                                       for _ in range(min(200, count - start))])
        if subscribe:
            for ws in batch:
                await ws.send_str(subscribe)
            for ws in batch:
                while json.loads((await ws.receive()).data)["type"] != "subscribed":
                    pass
        sockets += batch
    return sockets


async def wait_all(sockets, predicate, timeout: float = 10.0) -> float:
    """Seconds until every socket has received a frame that satisfies predicate."""
    async def one(ws):
        while True:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"socket closed: {message}")
            if predicate(message.data):
                return time.perf_counter()
    done = await asyncio.wait_for(asyncio.gather(*[one(ws) for ws in sockets]), timeout)
    return max(done)


async def measure_forum(base: str, thread_id: int, token: str, cookie: str, count: int, posts: int):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session, aiohttp.ClientSession(headers={"Cookie": cookie}) as poster:
        sockets = await open_sockets(session, base.replace("http", "ws") + "/api/v1/live", count,
                                     json.dumps({"type": "subscribe", "channels": [f"thread:{thread_id}"]}))
        latencies, size = [], 0
        for n in range(posts):
            marker = f"meting-{count}-{n}"
            waiting = asyncio.ensure_future(wait_all(sockets, lambda text, m=marker: m in text))
            await asyncio.sleep(0)
            started = time.perf_counter()
            async with poster.post(f"{base}/api/v1/threads/{thread_id}/posts", json={"body": marker},
                                   headers={"X-CSRF-Token": token}) as response:
                assert response.status == 201, await response.text()
                size = len(await response.read())
            latencies.append((await waiting) - started)
            await asyncio.sleep(0.05)
        for ws in sockets:
            await ws.close()
        return latencies, size


async def measure_baseline(base: str, count: int, posts: int, size: int):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = await open_sockets(session, base.replace("http", "ws") + "/ws", count, None)
        latencies = []
        for n in range(posts):
            marker = f"meting-{n}-"
            body = marker + "x" * max(0, size - len(marker))
            waiting = asyncio.ensure_future(wait_all(sockets, lambda text, m=marker: text.startswith(m)))
            await asyncio.sleep(0)
            started = time.perf_counter()
            async with session.post(f"{base}/broadcast", data=body) as response:
                assert response.status == 201
            latencies.append((await waiting) - started)
            await asyncio.sleep(0.05)
        for ws in sockets:
            await ws.close()
        return latencies


async def idle_memory(base: str, pid: int, count: int, thread_id: int) -> float:
    """Server RSS growth per open, subscribed, idle socket. Measured first, on a fresh server:
    memory freed by earlier runs would otherwise be reused and hide the cost."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.sleep(0.5)
        before = rss_kb(pid)
        sockets = await open_sockets(session, base.replace("http", "ws") + "/api/v1/live", count,
                                     json.dumps({"type": "subscribe", "channels": [f"thread:{thread_id}"]}))
        await asyncio.sleep(2.0)  # presence frames sent, buffers settled
        after = rss_kb(pid)
        for ws in sockets:
            await ws.close()
    return (after - before) / count


def setup_site(base: str) -> tuple[int, str, str]:
    import urllib.request
    def call(path, body, headers=None):
        request = urllib.request.Request(base + path, method="POST", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json", **(headers or {})})
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read()), response.headers.get("Set-Cookie", "")
    call("/api/v1/register", {"accept_terms": True, "email": "bench@example.nl", "password": PASSWORD, "display_name": "Bench"})
    body, cookie = call("/api/v1/login", {"email": "bench@example.nl", "password": PASSWORD})
    cookie = cookie.split(";", 1)[0]
    headers = {"Cookie": cookie, "X-CSRF-Token": body["csrf_token"]}
    call("/api/v1/groups/2/join", {}, headers)
    created, _ = call("/api/v1/groups/2/threads", {"title": "Meting", "body": "Start"}, headers)
    return created["thread"]["id"], body["csrf_token"], cookie


async def thread_page_with_sockets(base: str, thread_id: int, count: int, seconds: int) -> tuple[float, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = await open_sockets(session, base.replace("http", "ws") + "/api/v1/live", count,
                                     json.dumps({"type": "subscribe", "channels": [f"thread:{thread_id}"]}))
        result = await asyncio.to_thread(wrk, f"{base}/threads/{thread_id}", seconds, 32)
        for ws in sockets:
            await ws.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--posts", type=int, default=20, help="replies per round")
    parser.add_argument("--rounds", type=int, default=3, help="forum and plain runs, interleaved")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="forum-live-bench-"))
    forum_port, base_port = free_port(), free_port()
    forum = subprocess.Popen([sys.executable, str(ROOT / "run.py")], stdout=subprocess.DEVNULL, env={
        **os.environ, **NO_LIMITS, "FORUM_DATA_DIR": str(data), "FORUM_PORT": str(forum_port), "FORUM_LOG_LEVEL": "WARNING",
        "FORUM_BCRYPT_ROUNDS": "4"})
    plain = subprocess.Popen([sys.executable, str(ROOT / "bench" / "baseline_ws.py"), str(base_port)],
                             stdout=subprocess.DEVNULL)
    try:
        base, plain_base = f"http://127.0.0.1:{forum_port}", f"http://127.0.0.1:{base_port}"
        wait_until_up(f"{base}/")
        time.sleep(1)
        thread_id, token, cookie = setup_site(base)
        idle = max(args.clients)
        per_connection = asyncio.run(idle_memory(base, forum.pid, idle, thread_id))
        print(f"memory per idle subscribed connection: {per_connection:.1f} KB (server RSS growth / {idle:,})")
        print(f"{'clients':>8} {'forum p50':>10} {'forum p99':>10} {'plain p50':>10} {'plain p99':>10} {'p50 ratio':>10}")
        for count in args.clients:
            forum_lat, plain_lat = [], []
            for _ in range(args.rounds):  # interleaved, so a noisy moment hits both sides
                latencies, size = asyncio.run(measure_forum(base, thread_id, token, cookie, count, args.posts))
                forum_lat += latencies
                plain_lat += asyncio.run(measure_baseline(plain_base, count, args.posts, size))
            f50, f99 = statistics.median(forum_lat) * 1000, percentile(forum_lat, 0.99) * 1000
            p50, p99 = statistics.median(plain_lat) * 1000, percentile(plain_lat, 0.99) * 1000
            print(f"{count:8d} {f50:8.1f}ms {f99:8.1f}ms {p50:8.1f}ms {p99:8.1f}ms {f50 / p50:9.2f}x")
        quiet = wrk(f"{base}/threads/{thread_id}", args.seconds, 32)
        loaded = asyncio.run(thread_page_with_sockets(base, thread_id, 1000, args.seconds))
        print(f"thread page: {quiet[0]:.0f} req/s alone, {loaded[0]:.0f} req/s with 1,000 sockets open"
              f" ({loaded[0] / quiet[0]:.2f}x), p99 {quiet[1]:.1f} / {loaded[1]:.1f} ms")
    finally:
        stop([forum, plain])
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
