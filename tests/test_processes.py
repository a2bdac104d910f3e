"""Several server processes on one site (issue 13): two real servers on one data directory,
told of each other's writes over a real Redis started for the test. Replies written on either
reach sockets on both, in event-id order, each once; a client resumes on the other process;
caches and sessions follow writes made elsewhere; presence and typing are site-wide; a lost
Redis costs latency, never an event; a killed process loses nothing acknowledged; and a second
process without Redis refuses to start."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from forum import ROOT
from tests.test_crash import free_port, member, wait_up

def start_server(data_dir, port: int, redis_url: str | None, **extra) -> subprocess.Popen:
    env = {**os.environ, "FORUM_DATA_DIR": str(data_dir), "FORUM_PORT": str(port), "FORUM_HOST": "127.0.0.1",
           "FORUM_BCRYPT_ROUNDS": "4", "FORUM_LOG_LEVEL": "WARNING", "FORUM_LIMIT_POST": "off",
           "FORUM_LIMIT_POST_NEW": "off", "FORUM_LIMIT_LOGIN": "off", "FORUM_LIMIT_REGISTER": "off",
           "FORUM_SITE_URL": "http://127.0.0.1:1", **extra}
    env.pop("FORUM_REDIS_URL", None)
    if redis_url:
        env["FORUM_REDIS_URL"] = redis_url
    with open(data_dir / f"server-{port}.log", "ab") as log:  # read when a test fails
        return subprocess.Popen([sys.executable, str(ROOT / "run.py")], env=env, stdout=log, stderr=log)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


class Site:
    """Two processes serving one data directory."""

    def __init__(self, data_dir, redis_url: str | None, database_url: str | None = None, **extra):
        self.data_dir, self.redis_url, self.database_url = data_dir, redis_url, database_url
        self.extra = {**extra, **({"FORUM_DATABASE_URL": database_url} if database_url else {})}
        self.ports = [free_port(), free_port()]
        self.processes: list[subprocess.Popen] = []

    def base(self, which: int) -> str:
        return f"http://127.0.0.1:{self.ports[which]}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        for which in (0, 1):
            self.processes.append(start_server(self.data_dir, self.ports[which], self.redis_url, **self.extra))
        for which in (0, 1):
            await wait_up(session, self.base(which))

    async def restart(self, which: int, session: aiohttp.ClientSession) -> None:
        self.processes[which] = start_server(self.data_dir, self.ports[which], self.redis_url, **self.extra)
        await wait_up(session, self.base(which))

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


def new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def next_frame(ws, kind: str, timeout: float = 10) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket ended: {message.type} {message.data}")
            data = json.loads(message.data)
            if data["type"] == kind:
                return data


async def collect_events(ws, ids: list[int], stop_at: int | None = None) -> None:
    """Event ids as they arrive, until the socket ends or the event with id stop_at came."""
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            return
        data = json.loads(message.data)
        if data["type"] == "event":
            ids.append(data["id"])
            if stop_at is not None and data["id"] >= stop_at:
                return


async def new_thread(session, base: str, headers: dict, title: str) -> int:
    async with session.post(f"{base}/api/v1/groups/2/threads", headers=headers,
                            json={"title": title, "body": "begin"}) as r:
        assert r.status == 201, await r.text()
        return (await r.json())["thread"]["id"]


async def reply(session, base: str, headers: dict, thread_id: int, body: str) -> int | None:
    async with session.post(f"{base}/api/v1/threads/{thread_id}/posts", headers=headers, json={"body": body}) as r:
        if r.status != 201:
            return None
        return (await r.json())["post"]["id"]


def channel_events(data_dir, channel: str, database_url: str | None = None) -> list[int]:
    """The channel's event ids as the database has them (SQLite in the data directory, or PostgreSQL)."""
    if database_url:
        import psycopg
        with psycopg.connect(database_url) as conn:
            return [row[0] for row in conn.execute("SELECT id FROM events WHERE channel = %s ORDER BY id", (channel,))]
    import sqlite3
    with sqlite3.connect(data_dir / "forum.sqlite3") as conn:
        rows = [row[0] for row in conn.execute("SELECT id FROM events WHERE channel = ? ORDER BY id", (channel,))]
    conn.close()
    return rows


async def test_replies_written_on_either_process_reach_sockets_on_both_in_order_once(tmp_path, redis_server, database_url):
    # the timer that reads the commit count is set far out: what arrives in time came over Redis
    site = Site(tmp_path, redis_server.url, database_url, FORUM_BUS_POLL_SECONDS="60")
    async with new_session() as one, new_session() as two, new_session() as reader:
        try:
            await site.start(one)
            one_headers = await member(one, site.base(0), "een@example.nl", "Een")
            two_headers = await member(two, site.base(1), "twee@example.nl", "Twee")
            await member(reader, site.base(0), "lezer@example.nl", "Lezer")
            thread_id = await new_thread(one, site.base(0), one_headers, "Over twee processen")
            channel = f"thread:{thread_id}"
            sockets = [await reader.ws_connect(f"{site.base(which)}/api/v1/live") for which in (0, 1)]
            for ws in sockets:
                await ws.send_json({"type": "subscribe", "channels": [channel]})
                await next_frame(ws, "subscribed")
            received: list[list[int]] = [[], []]
            listeners = [asyncio.ensure_future(collect_events(ws, ids)) for ws, ids in zip(sockets, received)]

            async def write(session, base, headers, count):
                return [await reply(session, base, headers, thread_id, f"reactie {n}") for n in range(count)]

            # many writers at once over both processes: commits interleave
            written = await asyncio.gather(*[write(one, site.base(0), one_headers, 10) for _ in range(3)],
                                           *[write(two, site.base(1), two_headers, 10) for _ in range(3)])
            assert all(post for batch in written for post in batch)
            expected = channel_events(tmp_path, channel, database_url)
            assert len(expected) >= 60
            async with asyncio.timeout(10):
                while any(len(ids) < len(expected) for ids in received):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # and nothing more (no doubles)
            for ids in received:
                assert ids == expected  # every event, once, in id order, on both processes

            # written only on process two: process one hears of it over Redis, not by its own commits
            only_two = await write(two, site.base(1), two_headers, 3)
            assert all(only_two)
            expected = channel_events(tmp_path, channel, database_url)
            async with asyncio.timeout(5):
                while len(received[0]) < len(expected):
                    await asyncio.sleep(0.05)
            assert received[0] == expected

            # one socket leaves; more is written; it resumes on the other process from what it saw
            last_seen = received[0][-1]
            await sockets[0].close()
            await listeners[0]
            missed = await write(two, site.base(1), two_headers, 5) + await write(one, site.base(0), one_headers, 5)
            assert all(missed)
            resumed = await reader.ws_connect(f"{site.base(1)}/api/v1/live")
            await resumed.send_json({"type": "subscribe", "channels": [channel], "last_event_id": last_seen})
            caught_up: list[int] = []
            want = [event for event in channel_events(tmp_path, channel, database_url) if event > last_seen]
            catch_up = asyncio.ensure_future(collect_events(resumed, caught_up, stop_at=want[-1]))
            await asyncio.wait_for(catch_up, 10)
            assert caught_up == want
            await resumed.close()
            await sockets[1].close()
            await listeners[1]
        finally:
            site.stop()


async def test_caches_and_sessions_follow_writes_made_by_the_other_process(tmp_path, redis_server, database_url):
    site = Site(tmp_path, redis_server.url, database_url, FORUM_BUS_POLL_SECONDS="60")
    async with new_session() as writer, new_session() as visitor:
        try:
            await site.start(writer)
            headers = await member(writer, site.base(0), "schrijver@example.nl", "Schrijver")
            thread_id = await new_thread(writer, site.base(0), headers, "Gedeelde cache")
            page = f"{site.base(1)}/threads/{thread_id}"
            for _ in range(2):  # a visitor's page, cached by process two
                async with visitor.get(page) as r:
                    assert r.status == 200 and "nieuw antwoord" not in await r.text()
            await reply(writer, site.base(0), headers, thread_id, "Een nieuw antwoord van proces een")

            async def shows_reply() -> bool:
                async with visitor.get(page) as r:
                    return "nieuw antwoord van proces een" in await r.text()
            await until(shows_reply, "process two kept serving its cached page")

            # a session ended on one process ends on the other (which had it cached)
            token = next(c.value for c in writer.cookie_jar if c.key == "forum_session")
            async with new_session() as thief:
                for _ in range(2):
                    async with thief.get(f"{site.base(1)}/api/v1/me", cookies={"forum_session": token}) as r:
                        assert (await r.json())["user"]["display_name"] == "Schrijver"
                async with writer.post(f"{site.base(0)}/api/v1/logout", headers=headers) as r:
                    assert r.status == 200

                async def session_ended() -> bool:
                    async with thief.get(f"{site.base(1)}/api/v1/me", cookies={"forum_session": token}) as r:
                        return (await r.json()).get("user") is None
                await until(session_ended, "process two still let the ended session in")
        finally:
            site.stop()


async def until(check, failure: str, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(failure)


async def test_presence_and_typing_are_site_wide(tmp_path, redis_server, database_url):
    site = Site(tmp_path, redis_server.url, database_url, FORUM_BUS_POLL_SECONDS="60")
    async with new_session() as one, new_session() as two:
        try:
            await site.start(one)
            headers = await member(one, site.base(0), "een@example.nl", "Een")
            await member(two, site.base(1), "twee@example.nl", "Twee")
            thread_id = await new_thread(one, site.base(0), headers, "Wie leest mee?")
            channel = f"thread:{thread_id}"
            first = await one.ws_connect(f"{site.base(0)}/api/v1/live")
            await first.send_json({"type": "subscribe", "channels": [channel]})
            await next_frame(first, "subscribed")
            second = await two.ws_connect(f"{site.base(1)}/api/v1/live")
            await second.send_json({"type": "subscribe", "channels": [channel]})
            await next_frame(second, "subscribed")
            for ws in (first, second):  # each process counts the reader on the other one
                async with asyncio.timeout(5):
                    while (await next_frame(ws, "presence"))["readers"] != 2:
                        pass
            await second.send_json({"type": "typing", "thread_id": thread_id})
            typing = await next_frame(first, "typing")
            assert typing["user"]["display_name"] == "Twee" and typing["channel"] == channel
            await second.close()  # gone from process two: process one counts one reader again
            async with asyncio.timeout(5):
                while (await next_frame(first, "presence"))["readers"] != 1:
                    pass
            await first.close()
        finally:
            site.stop()


async def test_a_lost_redis_costs_latency_not_events(tmp_path, redis_server, database_url):
    site = Site(tmp_path, redis_server.url, database_url, FORUM_BUS_POLL_SECONDS="0.5")
    async with new_session() as writer, new_session() as reader:
        try:
            await site.start(writer)
            headers = await member(writer, site.base(0), "schrijver@example.nl", "Schrijver")
            await member(reader, site.base(1), "lezer@example.nl", "Lezer")
            thread_id = await new_thread(writer, site.base(0), headers, "Zonder Redis")
            channel = f"thread:{thread_id}"
            ws = await reader.ws_connect(f"{site.base(1)}/api/v1/live")
            await ws.send_json({"type": "subscribe", "channels": [channel]})
            await next_frame(ws, "subscribed")
            received: list[int] = []
            listener = asyncio.ensure_future(collect_events(ws, received))
            redis_server.stop()
            for n in range(5):  # written on process one while Redis is down
                assert await reply(writer, site.base(0), headers, thread_id, f"zonder redis {n}")
            expected = channel_events(tmp_path, channel, database_url)
            async with asyncio.timeout(5):  # found by the timer (0.5 s here)
                while len(received) < len(expected):
                    await asyncio.sleep(0.05)
            assert received == expected
            redis_server.start()  # back: wake-ups resume; the timer alone would also do
            for n in range(5):
                assert await reply(writer, site.base(0), headers, thread_id, f"met redis {n}")
            expected = channel_events(tmp_path, channel, database_url)
            async with asyncio.timeout(5):
                while len(received) < len(expected):
                    await asyncio.sleep(0.05)
            assert received == expected
            await ws.close()
            await listener
        finally:
            site.stop()


async def test_a_killed_process_loses_nothing_and_its_clients_resume_on_the_other(tmp_path, redis_server, database_url):
    site = Site(tmp_path, redis_server.url, database_url)
    async with new_session() as writer, new_session() as reader:
        try:
            await site.start(writer)
            headers = await member(writer, site.base(1), "schrijver@example.nl", "Schrijver")
            await member(reader, site.base(0), "lezer@example.nl", "Lezer")
            thread_id = await new_thread(writer, site.base(1), headers, "Onder vuur")
            channel = f"thread:{thread_id}"
            ws = await reader.ws_connect(f"{site.base(0)}/api/v1/live")
            await ws.send_json({"type": "subscribe", "channels": [channel]})
            await next_frame(ws, "subscribed")
            received: list[int] = []
            listener = asyncio.ensure_future(collect_events(ws, received))
            acknowledged: list[int] = []

            load_done = asyncio.Event()

            async def write(which: int, count: int) -> None:
                for n in range(count):  # until half a second after the kill: however fast the machine
                    if load_done.is_set():
                        return
                    try:
                        post = await reply(writer, site.base(which), headers, thread_id, f"onder vuur {n}")
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        continue  # that process is gone: not acknowledged
                    if post:
                        acknowledged.append(post)

            writers = [asyncio.ensure_future(write(which, 2000)) for which in (0, 1, 0, 1)]
            await asyncio.sleep(0.4)
            site.processes[0].send_signal(signal.SIGKILL)  # process one dies under the load, socket and all
            site.processes[0].wait(timeout=10)
            await asyncio.sleep(0.5)
            load_done.set()
            await asyncio.wait_for(asyncio.gather(*writers), 30)
            await asyncio.wait_for(listener, 10)  # its socket ended with it
            resumed = await reader.ws_connect(f"{site.base(1)}/api/v1/live")  # the client goes to the other
            await resumed.send_json({"type": "subscribe", "channels": [channel],
                                     "last_event_id": received[-1] if received else 0})
            expected = channel_events(tmp_path, channel, database_url)
            catch_up: list[int] = []
            assert not received or expected[-1] > received[-1], "the kill came after the load"
            await asyncio.wait_for(collect_events(resumed, catch_up, stop_at=expected[-1]), 10)
            await resumed.close()
        finally:
            site.stop()
    assert len(acknowledged) > 20, "the load was too light to mean anything"
    if database_url:
        import psycopg
        with psycopg.connect(database_url) as conn:
            stored = {row[0] for row in conn.execute("SELECT id FROM posts WHERE thread_id = %s", (thread_id,))}
    else:
        import sqlite3
        with sqlite3.connect(tmp_path / "forum.sqlite3") as conn:
            stored = {row[0] for row in conn.execute("SELECT id FROM posts WHERE thread_id = ?", (thread_id,))}
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    assert set(acknowledged) <= stored
    assert received + catch_up == expected  # before and after the kill: each event once, in order


def wait_exit(process: subprocess.Popen, seconds: float = 20) -> int:
    try:
        return process.wait(timeout=seconds)
    finally:
        stop(process)


async def test_several_processes_without_redis_refuse_to_start(tmp_path, redis_server):
    port, other = free_port(), free_port()
    first = start_server(tmp_path, port, None)
    try:
        async with new_session() as session:
            await wait_up(session, f"http://127.0.0.1:{port}")
        second = start_server(tmp_path, other, None)
        assert wait_exit(second) == 2
        with_redis = start_server(tmp_path, other, redis_server.url)  # nor beside one that has none
        assert wait_exit(with_redis) == 2
        log = (tmp_path / f"server-{other}.log").read_text()
        assert "FORUM_REDIS_URL" in log and "Traceback" not in log
    finally:
        stop(first)
    workers = subprocess.run([sys.executable, str(ROOT / "run.py"), "--workers", "2"], capture_output=True,
                             text=True, timeout=30, env={**os.environ, "FORUM_DATA_DIR": str(tmp_path)})
    assert workers.returncode == 2 and "FORUM_REDIS_URL" in workers.stderr


def start_workers(data_dir, port: int, redis_url: str) -> subprocess.Popen:
    """`run.py --workers 2` on one port, its output in data_dir/workers.log."""
    env = {**os.environ, "FORUM_DATA_DIR": str(data_dir), "FORUM_PORT": str(port), "FORUM_HOST": "127.0.0.1",
           "FORUM_REDIS_URL": redis_url, "FORUM_LOG_LEVEL": "WARNING"}
    with open(data_dir / "workers.log", "ab") as log:
        return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--workers", "2"], env=env, stdout=log, stderr=log)


def children_of(parent: subprocess.Popen) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()]


async def test_workers_share_one_port_and_stop_together(tmp_path, redis_server):
    port = free_port()
    parent = start_workers(tmp_path, port, redis_server.url)
    children: list[int] = []
    try:
        async with new_session() as session:
            await wait_up(session, f"http://127.0.0.1:{port}")
        children = children_of(parent)
        assert len(children) == 2

        def serving() -> int:
            return (tmp_path / "workers.log").read_text().count(f"Running on http://127.0.0.1:{port}")
        deadline = time.monotonic() + 20
        while serving() < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert serving() == 2  # both listen on the one port
        killed = children[0]
        os.kill(killed, signal.SIGKILL)  # one dies: the parent starts it again, the other serves meanwhile
        async with session_after_kill() as session:
            async with session.get(f"http://127.0.0.1:{port}/") as r:
                assert r.status == 200
        while serving() < 3 and time.monotonic() < deadline + 20:
            await asyncio.sleep(0.1)
        assert serving() == 3
        children = children_of(parent)
        assert len(children) == 2 and killed not in children
        assert "starting it again" in (tmp_path / "workers.log").read_text()
        os.kill(children[1], signal.SIGKILL)  # and a stop while a worker is being started again
        await asyncio.sleep(0.5)
        children = children_of(parent)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 0  # stopped as asked, whatever the new worker was doing
        for pid in children:  # and both stopped with it
            assert not os.path.exists(f"/proc/{pid}") or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    finally:
        stop(parent)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def session_after_kill() -> aiohttp.ClientSession:
    # a fresh connection: one kept alive to the killed worker would be reset
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


async def test_workers_that_cannot_start_stop_the_command_instead_of_starting_forever(tmp_path, redis_server):
    with socket.socket() as taken:  # the port is someone else's (no SO_REUSEPORT): every worker fails
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        parent = start_workers(tmp_path, port, redis_server.url)
        try:
            code = parent.wait(timeout=60)
        finally:
            stop(parent)
    log = (tmp_path / "workers.log").read_text()
    assert f"failed to start 3 times (last exit code {code})" in log and code not in (0, 15)


async def test_rate_limits_are_counted_once_for_all_processes(tmp_path, redis_server, database_url):
    site = Site(tmp_path, redis_server.url, database_url, FORUM_LIMIT_REGISTER="3/3600")
    async with new_session() as session:
        try:
            await site.start(session)
            statuses = []
            for n in range(5):  # alternately on each process, all from one address
                async with session.post(f"{site.base(n % 2)}/api/v1/register", json={
                        "accept_terms": True, "email": f"nieuw{n}@example.nl", "password": "een lang wachtwoord",
                        "display_name": f"Nieuw {n}"}) as r:
                    statuses.append((r.status, r.headers.get("Retry-After")))
            assert [status for status, _ in statuses] == [201, 201, 201, 429, 429]
            assert 3500 < int(statuses[3][1]) <= 3600
        finally:
            site.stop()


async def test_the_shared_limiter_counts_refunds_and_falls_back_to_this_process(redis_server):
    from forum.limits import RedisRateLimiter, TooManyRequests
    # counting is what is tried here, not the short wait: a busy CI machine once took longer than
    # REDIS_SECONDS for the first connection and script load, and this process rightly counted alone
    limiter = RedisRateLimiter({"LOGIN": (2, 60), "POST": None}, redis_server.url, "forum:test", "geheim",
                               timeout=10)
    try:
        await limiter.hit("LOGIN", "a@example.nl|1.2.3.4")
        await limiter.hit("LOGIN", "a@example.nl|1.2.3.4")
        with pytest.raises(TooManyRequests) as refused:
            await limiter.hit("LOGIN", "a@example.nl|1.2.3.4")
        assert 0 < refused.value.retry_after <= 60
        await limiter.refund("LOGIN", "a@example.nl|1.2.3.4")  # one taken back: one more may try
        await limiter.hit("LOGIN", "a@example.nl|1.2.3.4")
        with pytest.raises(TooManyRequests):
            await limiter.hit("LOGIN", "a@example.nl|1.2.3.4", cost=1)
        for _ in range(10):
            await limiter.hit("POST", 1)  # off
        import redis
        keys = redis.Redis.from_url(redis_server.url).keys("forum:test:*")
        assert keys and not any(b"example" in key or b"1.2.3.4" in key for key in keys)  # no address in Redis
        import hashlib
        plain = hashlib.sha256(b"a@example.nl|1.2.3.4").hexdigest()[:32].encode()
        assert not any(plain in key for key in keys)  # nor one found again by hashing a guess
        redis_server.stop()  # Redis gone: this process counts alone, still limited
        await limiter.hit("LOGIN", "b@example.nl|1.2.3.4")
        await limiter.hit("LOGIN", "b@example.nl|1.2.3.4")
        with pytest.raises(TooManyRequests):
            await limiter.hit("LOGIN", "b@example.nl|1.2.3.4")
    finally:
        await limiter.close()


async def test_a_redis_that_hangs_costs_one_short_wait_not_one_per_request():
    # a count is often taken inside a write transaction, under the site's one write lock: a
    # Redis that accepts and never answers must not hold every write for the timeout
    from forum.limits import REDIS_SECONDS, RedisRateLimiter, TooManyRequests
    accepted = []
    silent = await asyncio.start_server(lambda reader, writer: accepted.append(writer), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    limiter = RedisRateLimiter({"POST": (3, 60)}, f"redis://127.0.0.1:{port}/0", "forum:test", "geheim")
    try:
        started = time.monotonic()
        await limiter.hit("POST", 1)
        first = time.monotonic() - started
        assert REDIS_SECONDS * 0.8 <= first < REDIS_SECONDS * 4
        started = time.monotonic()
        await limiter.hit("POST", 1)
        await limiter.hit("POST", 1)
        with pytest.raises(TooManyRequests):  # still limited, counted by this process
            await limiter.hit("POST", 1)
        await limiter.refund("POST", 1)
        await limiter.hit("POST", 1)
        assert time.monotonic() - started < REDIS_SECONDS / 2
    finally:
        await limiter.close()
        for writer in accepted:
            writer.close()
        silent.close()
        await silent.wait_closed()


async def test_a_writer_reads_their_own_write_on_the_other_process_at_once(tmp_path, redis_server, database_url):
    # no wake-up can help here: Redis is gone and the timer set to a minute; the cookie the
    # writing process set makes the other one read the commit count before it answers
    site = Site(tmp_path, redis_server.url, database_url, FORUM_BUS_POLL_SECONDS="60")
    async with new_session() as writer:
        try:
            await site.start(writer)
            headers = await member(writer, site.base(0), "schrijver@example.nl", "Schrijver")
            thread_id = await new_thread(writer, site.base(0), headers, "Eigen woorden")
            redis_server.stop()
            for which in (1, 1, 0):  # both processes have the thread cached
                async with writer.get(f"{site.base(which)}/threads/{thread_id}") as r:
                    assert r.status == 200
            for n in range(3):
                assert await reply(writer, site.base(0), headers, thread_id, f"mijn eigen antwoord {n}")
                async with writer.get(f"{site.base(1)}/threads/{thread_id}") as r:  # no waiting, no retry
                    assert f"mijn eigen antwoord {n}" in await r.text()
                async with writer.get(f"{site.base(1)}/api/v1/threads/{thread_id}") as r:
                    assert f"mijn eigen antwoord {n}" in await r.text()
        finally:
            site.stop()


def test_processes_started_together_share_one_secret_key(tmp_path):
    # each waits for the same moment after starting Python, so all make the key at once
    code = ("import sys, time; from forum.config import from_env; start = float(sys.argv[2])\n"
            "while time.time() < start: pass\n"
            "print(from_env({'FORUM_DATA_DIR': sys.argv[1]}).with_secret().secret_key)")
    for attempt in range(10):
        data_dir = tmp_path / f"site{attempt}"
        start = str(time.time() + 1.0)
        processes = [subprocess.Popen([sys.executable, "-c", code, str(data_dir), start], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(6)]
        results = [process.communicate(timeout=30) for process in processes]
        assert all(process.returncode == 0 for process in processes), [err for _, err in results]
        keys = {out.strip() for out, _ in results}
        assert len(keys) == 1 and len(keys.pop()) == 64
        assert [path.name for path in data_dir.iterdir()] == ["secret_key"]  # no partial file left


async def test_a_second_stop_signal_does_not_hang_the_shutdown(tmp_path, redis_server):
    port = free_port()
    process = start_server(tmp_path, port, redis_server.url)
    try:
        async with new_session() as session:
            await wait_up(session, f"http://127.0.0.1:{port}")
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/api/v1/live")  # something to close
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # as a process group signalled twice, or Ctrl+C again
        assert process.wait(timeout=15) == 0
        await ws.close()
    finally:
        stop(process)


async def test_a_made_up_commit_count_on_redis_does_not_stop_delivery(tmp_path, redis_server):
    import redis

    from forum.live.bus import site_prefix
    site = Site(tmp_path, redis_server.url, None, FORUM_BUS_POLL_SECONDS="60")
    async with new_session() as writer, new_session() as reader:
        try:
            await site.start(writer)
            headers = await member(writer, site.base(0), "schrijver@example.nl", "Schrijver")
            await member(reader, site.base(1), "lezer@example.nl", "Lezer")
            thread_id = await new_thread(writer, site.base(0), headers, "Vergiftigd")
            ws = await reader.ws_connect(f"{site.base(1)}/api/v1/live")
            await ws.send_json({"type": "subscribe", "channels": [f"thread:{thread_id}"]})
            await next_frame(ws, "subscribed")
            prefix = site_prefix((tmp_path / "secret_key").read_text().strip())
            with redis.Redis.from_url(redis_server.url) as client:  # whoever can reach Redis
                client.publish(f"{prefix}:commits", json.dumps({"p": "elders", "n": 10 ** 15}))
                client.publish(f"{prefix}:typing", json.dumps({"p": "elders", "c": f"thread:{thread_id}",
                                                               "f": '{"type":"event","kind":"post.created"}'}))
            await asyncio.sleep(0.3)
            post = await reply(writer, site.base(0), headers, thread_id, "komt toch aan")
            event = await next_frame(ws, "event", timeout=5)  # over Redis, not by the minute's timer
            assert event["data"]["post"]["id"] == post  # and the made-up frame was not passed on
            await ws.close()
        finally:
            site.stop()


async def test_workers_end_with_their_parent_even_when_it_is_killed(tmp_path, redis_server):
    port = free_port()
    parent = start_workers(tmp_path, port, redis_server.url)
    children: list[int] = []
    try:
        async with new_session() as session:
            await wait_up(session, f"http://127.0.0.1:{port}")
        children = children_of(parent)
        assert len(children) == 2
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)

        def alive(pid: int) -> bool:
            try:
                return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
            except FileNotFoundError:
                return False
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not any(alive(pid) for pid in children)  # no orphan keeps the port
    finally:
        stop(parent)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
