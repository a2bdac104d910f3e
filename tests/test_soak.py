"""Concurrency under load: 50 writers posting, readers loading pages and 500 open websockets
against a running server for 30 s (FORUM_SOAK_SECONDS to change). No 5xx, no "database is
locked" (nor any traceback) in the server's log, every write accepted and stored, every page
served, all 500 sockets subscribed and fed live until the end (or told to resume, 4000), and the
server stops cleanly; p50/p99 are printed (pytest -s shows them)."""
from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time

import aiohttp

from forum import ROOT
from forum.live.socket import CLOSE_RESUME
from tests.conftest import PASSWORD
from tests.test_crash import free_port, wait_up

SECONDS = float(os.environ.get("FORUM_SOAK_SECONDS", "30"))
WRITERS, READERS, SOCKETS = 50, 10, 500


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * (len(ordered) - 1)))] * 1000


async def test_fifty_writers_readers_and_500_sockets(tmp_path, database_url):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = {**os.environ, "FORUM_DATA_DIR": str(tmp_path), "FORUM_PORT": str(port), "FORUM_HOST": "127.0.0.1",
           "FORUM_BCRYPT_ROUNDS": "4", "FORUM_LOG_LEVEL": "WARNING", "FORUM_LIMIT_POST": "off",
           "FORUM_LIMIT_POST_NEW": "off", "FORUM_LIMIT_REGISTER": "off", "FORUM_LIMIT_LOGIN_ADDRESS": "off"}
    if database_url:  # the suite's run on PostgreSQL
        env["FORUM_DATABASE_URL"] = database_url
    with log.open("w") as sink:
        server = subprocess.Popen([sys.executable, str(ROOT / "run.py")], env=env, stdout=sink, stderr=sink)
    statuses: list[int] = []
    write_times, read_times, acknowledged = [], [], []
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as probe:
            await wait_up(probe, base)
        writers = []
        for n in range(WRITERS):
            session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            email = f"w{n}@example.nl"
            async with session.post(f"{base}/api/v1/register", json={"accept_terms": True, "email": email, "password": PASSWORD,
                                                                     "display_name": f"Schrijver {n}"}) as r:
                assert r.status == 201
            async with session.post(f"{base}/api/v1/login", json={"email": email, "password": PASSWORD}) as r:
                token = (await r.json())["csrf_token"]
            async with session.post(f"{base}/api/v1/groups/2/join", headers={"X-CSRF-Token": token}) as r:
                assert r.status == 200
            writers.append((session, token))
        session, token = writers[0]
        async with session.post(f"{base}/api/v1/groups/2/threads", headers={"X-CSRF-Token": token},
                                json={"title": "Belasting", "body": "start"}) as r:
            thread_id = (await r.json())["thread"]["id"]
        sockets_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        sockets = []
        for start_at in range(0, SOCKETS, 100):
            batch = await asyncio.gather(*[sockets_session.ws_connect(f"{base}/api/v1/live")
                                           for _ in range(min(100, SOCKETS - start_at))])
            for ws in batch:
                await ws.send_json({"type": "subscribe", "channels": [f"thread:{thread_id}"]})
            sockets += batch
        for ws in sockets:  # every socket is really listening before the load starts
            while (message := await ws.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT:
                if message.json()["type"] == "subscribed":
                    break
            assert message.type == aiohttp.WSMsgType.TEXT, message
        started = time.monotonic()
        deadline = started + SECONDS
        live_events = [0] * len(sockets)  # post.created frames each socket received
        endings: dict[int, int | None] = {}  # socket → close code, for those that closed early

        async def drain(index, ws):
            while time.monotonic() < deadline:
                try:
                    message = await ws.receive(timeout=1)
                except asyncio.TimeoutError:
                    continue
                if message.type != aiohttp.WSMsgType.TEXT:
                    endings[index] = ws.close_code  # told to resume under load: the client would reconnect
                    return
                if '"post.created"' in message.data:
                    live_events[index] += 1

        async def write(session, token, n):
            while time.monotonic() < deadline:
                started = time.perf_counter()
                async with session.post(f"{base}/api/v1/threads/{thread_id}/posts", headers={"X-CSRF-Token": token},
                                        json={"body": f"bericht van {n}"}) as r:
                    statuses.append(r.status)
                    if r.status == 201:
                        acknowledged.append((await r.json())["post"]["id"])
                write_times.append(time.perf_counter() - started)
                await asyncio.sleep(0.1)

        async def read(session):
            while time.monotonic() < deadline:
                for path in (f"/threads/{thread_id}", "/groups/2", f"/api/v1/threads/{thread_id}"):
                    started = time.perf_counter()
                    async with session.get(f"{base}{path}") as r:
                        statuses.append(r.status)
                        await r.read()
                    read_times.append(time.perf_counter() - started)

        async with aiohttp.ClientSession() as readers_session:
            await asyncio.gather(*[drain(i, ws) for i, ws in enumerate(sockets)],
                                 *[write(s, t, n) for n, (s, t) in enumerate(writers)],
                                 *[read(readers_session) for _ in range(READERS)])
        lasted = time.monotonic() - started
        for ws in sockets:
            await ws.close()
        await sockets_session.close()
        stored, after = set(), ""
        while after is not None:  # the thread's posts, a part at a time
            async with writers[0][0].get(f"{base}/api/v1/threads/{thread_id}?limit=100&after={after}") as r:
                part = await r.json()
            stored |= {post["id"] for post in part["posts"]}
            after = part["next"]
        for session, _ in writers:
            await session.close()
    finally:
        server.send_signal(signal.SIGTERM)
        stopped = server.wait(timeout=30)
    print(f"\n{len(write_times)} writes: p50 {statistics.median(write_times) * 1000:.1f} ms, "
          f"p99 {p99(write_times):.1f} ms; {len(read_times)} reads: p50 {statistics.median(read_times) * 1000:.1f} ms, "
          f"p99 {p99(read_times):.1f} ms; {SOCKETS - len(endings)} of {SOCKETS} sockets open to the end")
    assert lasted >= SECONDS and len(acknowledged) > WRITERS
    assert not [s for s in statuses if s >= 500]
    assert set(statuses) == {200, 201}  # every write accepted, every page served: nothing refused
    assert len(acknowledged) == len(write_times) and set(acknowledged) <= stored
    assert all(code == CLOSE_RESUME for code in endings.values()), endings
    # the sockets that stayed to the end heard the posts live, each of them
    stayed = [n for i, n in enumerate(live_events) if i not in endings]
    assert stayed and all(stayed), (len(stayed), stayed.count(0))
    assert stopped == 0
    text = log.read_text()
    assert "database is locked" not in text and "Traceback" not in text, text[-2000:]
