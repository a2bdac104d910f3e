"""Live delivery: N websocket clients on loopback watch one thread; replies are posted through
the API, and we measure the time from the POST to the last client receiving the event, beside
a plain aiohttp server (bench/baseline_ws.py) broadcasting a frame of the same size to N
clients, in the same run. Also: server memory per idle subscribed socket, and the thread
page's speed with 1,000 sockets open.

    python bench/bench_live.py [--clients 1000 10000] [--posts 20] [--rounds 3] [--idle 5000]

The clients run in a process of their own (`bench_live.py client JOB`), apart from the servers
and from this driver: the servers' memory and CPU figures are their own. They are small
hand-written websocket clients (a protocol object each, no task per socket), the same for both
servers, so that the client side costs as little as it can and the same for both. Each client
process raises its open-file limit to the hard limit (10,000 sockets need over 10,000 fds, on
each side); the servers are started with it raised too.

Servers bind to 127.0.0.1; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import resource
import shutil
import statistics
import struct
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
WAVE = 500            # sockets opened at once, so the listen backlog is not flooded
OPEN_SECONDS = 120    # to open all sockets of one run
POST_SECONDS = 10     # for one reply to reach every socket


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def raise_fd_limit() -> int:
    """The soft open-file limit raised to the hard one; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- the client process -----------------------------------------------------------------

def masked_text(text: str) -> bytes:
    payload, mask = text.encode(), os.urandom(4)
    size = len(payload)
    head = struct.pack("!BB", 0x81, 0x80 | size) if size < 126 else struct.pack("!BBH", 0x81, 0x80 | 126, size)
    key = (mask * (size // 4 + 1))[:size]
    return head + mask + (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(size, "little")


class Run:
    """What all sockets of one client process share: the marker they wait for, and how many
    have yet to see it."""

    def __init__(self, host: str, port: int, path: str, subscribe: str | None):
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self.subscribe = masked_text(subscribe) if subscribe else None
        self.marker = b"\x00"  # nothing matches until a post starts
        self.waiting = 0       # sockets not yet ready, or not yet reached by the marker
        self.done: asyncio.Future | None = None
        self.size: int | None = None  # the payload size of the frame that carried the marker


class Peer(asyncio.Protocol):
    __slots__ = ("run", "transport", "state", "tail", "got")

    def __init__(self, run: Run):
        self.run = run
        self.state = 0  # 0: handshake sent, 1: subscribing, 2: ready
        self.tail = b""
        self.got = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        run = self.run
        if self.state == 0:
            self.tail += data
            if b"\r\n\r\n" not in self.tail:
                return
            if not self.tail.startswith(b"HTTP/1.1 101"):
                raise SystemExit(f"handshake refused: {self.tail[:200]!r}")
            data, self.tail = self.tail.split(b"\r\n\r\n", 1)[1], b""
            if run.subscribe is None:
                self._ready()
            else:
                self.state = 1
                self.transport.write(run.subscribe)
        if self.state == 1:
            self.tail += data
            if b'"type":"subscribed"' in self.tail:
                self.tail = b""
                self._ready()
            return
        if self.got:
            return
        seen = self.tail + data
        at = seen.find(run.marker)
        if at < 0:
            self.tail = seen[-len(run.marker):]
            return
        self.got, self.tail = True, b""
        if run.size is None:
            start = seen.rfind(b"\x81", 0, at)
            if 0 <= start and seen[start + 1] <= 127:
                size = seen[start + 1]
                run.size = struct.unpack("!H", seen[start + 2:start + 4])[0] if size == 126 else size
        run.waiting -= 1
        if run.waiting == 0 and run.done is not None and not run.done.done():
            run.done.set_result(time.perf_counter())

    def _ready(self) -> None:
        self.state = 2
        self.run.waiting -= 1
        if self.run.waiting == 0 and self.run.done is not None and not self.run.done.done():
            self.run.done.set_result(time.perf_counter())


async def open_peers(run: Run, host: str, port: int, count: int) -> list[Peer]:
    loop = asyncio.get_running_loop()
    peers: list[Peer] = []
    deadline = loop.time() + OPEN_SECONDS
    for start in range(0, count, WAVE):
        wave = min(WAVE, count - start)
        run.waiting, run.done = wave, loop.create_future()
        made = await asyncio.gather(*[loop.create_connection(lambda: Peer(run), host, port) for _ in range(wave)])
        peers += [peer for _, peer in made]
        await asyncio.wait_for(run.done, max(1.0, deadline - loop.time()))
    return peers


async def keep_alive(peers: list[Peer]) -> None:
    """An unasked pong now and then (RFC 6455 5.5.3), in place of answering the forum's pings:
    it lets go of sockets that say nothing for a heartbeat or two."""
    pong = b"\x8a\x80" + os.urandom(4)
    while True:
        await asyncio.sleep(10)
        for peer in peers:
            peer.transport.write(pong)


async def client_job(job: dict) -> dict:
    """Open the sockets, then either hold them until told (memory), or post and time."""
    loop = asyncio.get_running_loop()
    run = Run(job["host"], job["port"], job["path"], job.get("subscribe"))
    peers = await open_peers(run, job["host"], job["port"], job["count"])
    latencies: list[float] = []
    alive = loop.create_task(keep_alive(peers))
    if job.get("hold"):
        print(json.dumps({"ready": len(peers)}), flush=True)
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), 600)
    else:
        async with aiohttp.ClientSession(headers=job.get("headers", {})) as session:
            for n in range(job["posts"]):
                marker = f"meting-{job['count']}-{n}-{os.getpid()}-"
                run.marker, run.waiting, run.done = marker.encode(), len(peers), loop.create_future()
                for peer in peers:
                    peer.got, peer.tail = False, b""
                started = time.perf_counter()
                if job["mode"] == "forum":
                    async with session.post(job["post_url"], json={"body": marker}) as response:
                        assert response.status == 201, await response.text()
                else:
                    body = marker + "x" * max(0, job["size"] - len(marker))
                    async with session.post(job["post_url"], data=body) as response:
                        assert response.status == 201
                latencies.append(await asyncio.wait_for(run.done, POST_SECONDS) - started)
                await asyncio.sleep(0.05)
    alive.cancel()
    for peer in peers:
        peer.transport.close()
    await asyncio.sleep(0.5)
    return {"latencies": latencies, "size": run.size}


def client_main(job_text: str) -> None:
    job = json.loads(job_text)
    if raise_fd_limit() < job["count"] + 100:
        raise SystemExit(f"the open-file limit is below {job['count'] + 100}: raise it (ulimit -Hn)")
    print(json.dumps(asyncio.run(client_job(job))), flush=True)


def run_client(job: dict) -> dict:
    done = subprocess.run([sys.executable, __file__, "client", json.dumps(job)], capture_output=True, text=True,
                          timeout=OPEN_SECONDS + job.get("posts", 0) * (POST_SECONDS + 1) + 60)
    if done.returncode:
        raise SystemExit(f"client process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def idle_memory(job: dict, pid: int) -> float:
    """Server RSS growth per open, idle socket, the sockets held by a client process. Measured
    first, on a fresh server: memory freed by earlier runs would otherwise be reused and hide
    the cost."""
    time.sleep(0.5)
    before = rss_kb(pid)
    client = subprocess.Popen([sys.executable, __file__, "client", json.dumps({**job, "hold": True})],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = client.stdout.readline()
        if not line:
            raise SystemExit("the client process could not open its sockets")
        time.sleep(2.0)  # presence frames sent, buffers settled
        after = rss_kb(pid)
        client.stdin.write("\n")
        client.stdin.flush()
        client.wait(timeout=60)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    return (after - before) / job["count"]


# --- the driver -------------------------------------------------------------------------

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
        sockets = []
        for start in range(0, count, 200):
            batch = await asyncio.gather(*[session.ws_connect(base.replace("http", "ws") + "/api/v1/live")
                                           for _ in range(min(200, count - start))])
            for ws in batch:
                await ws.send_json({"type": "subscribe", "channels": [f"thread:{thread_id}"]})
                while json.loads((await ws.receive(timeout=10)).data)["type"] != "subscribed":
                    pass
            sockets += batch
        result = await asyncio.to_thread(wrk, f"{base}/threads/{thread_id}", seconds, 32)
        for ws in sockets:
            await ws.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--posts", type=int, default=20, help="replies per round")
    parser.add_argument("--rounds", type=int, default=3, help="forum and plain runs, interleaved")
    parser.add_argument("--idle", type=int, default=5000, help="sockets for the memory figure")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--no-page", action="store_true", help="skip the thread page under wrk")
    args = parser.parse_args()
    limit = raise_fd_limit()
    if limit < max(*args.clients, args.idle) + 200:
        raise SystemExit(f"the open-file limit ({limit}) is too low for {max(*args.clients, args.idle):,} sockets: "
                         "raise it (ulimit -Hn) or ask for fewer clients")
    data = Path(tempfile.mkdtemp(prefix="forum-live-bench-"))
    forum_port, plain_port = free_port(), free_port()
    forum = subprocess.Popen([sys.executable, str(ROOT / "run.py")], stdout=subprocess.DEVNULL, env={
        **os.environ, **NO_LIMITS, "FORUM_DATA_DIR": str(data), "FORUM_PORT": str(forum_port), "FORUM_LOG_LEVEL": "WARNING",
        "FORUM_BCRYPT_ROUNDS": "4", "FORUM_HOST": "127.0.0.1"})
    plain = subprocess.Popen([sys.executable, str(ROOT / "bench" / "baseline_ws.py"), str(plain_port)],
                             stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{forum_port}"
        wait_until_up(f"{base}/")
        wait_until_up(f"http://127.0.0.1:{plain_port}/")
        time.sleep(1)
        thread_id, token, cookie = setup_site(base)
        print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the start; Python {platform.python_version()},"
              f" aiohttp {aiohttp.__version__}; clients in their own process")
        subscribe = json.dumps({"type": "subscribe", "channels": [f"thread:{thread_id}"]})
        forum_job = {"mode": "forum", "host": "127.0.0.1", "port": forum_port, "path": "/api/v1/live",
                     "subscribe": subscribe, "post_url": f"{base}/api/v1/threads/{thread_id}/posts",
                     "headers": {"Cookie": cookie, "X-CSRF-Token": token}}
        plain_job = {"mode": "plain", "host": "127.0.0.1", "port": plain_port, "path": "/ws",
                     "post_url": f"http://127.0.0.1:{plain_port}/broadcast"}
        forum_idle = idle_memory({**forum_job, "count": args.idle}, forum.pid)
        plain_idle = idle_memory({**plain_job, "count": args.idle}, plain.pid)
        print(f"memory per idle connection (server RSS growth / {args.idle:,}, fresh servers): "
              f"forum {forum_idle:.1f} KB (subscribed), plain aiohttp {plain_idle:.1f} KB")
        print(f"{'clients':>8} {'forum p50':>10} {'forum p99':>10} {'plain p50':>10} {'plain p99':>10} {'p50 ratio':>10}")
        for count in args.clients:
            forum_lat, plain_lat = [], []
            for _ in range(args.rounds):  # interleaved, so a noisy moment hits both sides
                got = run_client({**forum_job, "count": count, "posts": args.posts})
                forum_lat += got["latencies"]
                plain_lat += run_client({**plain_job, "count": count, "posts": args.posts,
                                         "size": got["size"] or 600})["latencies"]
            f50, f99 = statistics.median(forum_lat) * 1000, percentile(forum_lat, 0.99) * 1000
            p50, p99 = statistics.median(plain_lat) * 1000, percentile(plain_lat, 0.99) * 1000
            print(f"{count:8d} {f50:8.1f}ms {f99:8.1f}ms {p50:8.1f}ms {p99:8.1f}ms {f50 / p50:9.2f}x", flush=True)
        if not args.no_page:
            quiet = wrk(f"{base}/threads/{thread_id}", args.seconds, 32)
            loaded = asyncio.run(thread_page_with_sockets(base, thread_id, 1000, args.seconds))
            print(f"thread page: {quiet[0]:.0f} req/s alone, {loaded[0]:.0f} req/s with 1,000 sockets open"
                  f" ({loaded[0] / quiet[0]:.2f}x), p99 {quiet[1]:.1f} / {loaded[1]:.1f} ms")
    finally:
        stop([forum, plain])
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "client":
        client_main(sys.argv[2])
    else:
        main()
