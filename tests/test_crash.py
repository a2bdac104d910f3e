"""Crash safety: replies are written against a running server, which is killed with SIGKILL
and restarted ten times. Every reply the server acknowledged is there afterwards, nothing is
half applied (each post has its event and the thread's count agrees), and SQLite's integrity
check passes."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import aiohttp

from forum import ROOT
from tests.conftest import PASSWORD

KILLS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(data_dir, port: int) -> subprocess.Popen:
    env = {**os.environ, "FORUM_DATA_DIR": str(data_dir), "FORUM_PORT": str(port), "FORUM_HOST": "127.0.0.1",
           "FORUM_BCRYPT_ROUNDS": "4", "FORUM_LOG_LEVEL": "ERROR", "FORUM_LIMIT_POST": "off",
           "FORUM_LIMIT_POST_NEW": "off", "FORUM_LIMIT_LOGIN": "off"}
    return subprocess.Popen([sys.executable, str(ROOT / "run.py")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def wait_up(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/api/v1/openapi.json") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("server did not come back")


async def test_acknowledged_writes_survive_ten_sigkills(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(tmp_path, port)
    acknowledged: list[int] = []
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await wait_up(session, base)
            async with session.post(f"{base}/api/v1/register", json={
                    "email": "schrijver@example.nl", "password": PASSWORD, "display_name": "Schrijver"}) as r:
                assert r.status == 201
            async with session.post(f"{base}/api/v1/login", json={"email": "schrijver@example.nl",
                                                                  "password": PASSWORD}) as r:
                headers = {"X-CSRF-Token": (await r.json())["csrf_token"]}
            async with session.post(f"{base}/api/v1/groups/2/join", headers=headers) as r:
                assert r.status == 200
            async with session.post(f"{base}/api/v1/groups/2/threads", headers=headers,
                                    json={"title": "Onder vuur", "body": "start"}) as r:
                thread_id = (await r.json())["thread"]["id"]

            async def write_until_killed():
                n = 0
                while True:
                    n += 1
                    try:
                        async with session.post(f"{base}/api/v1/threads/{thread_id}/posts", headers=headers,
                                                json={"body": f"reactie {n}"}) as r:
                            if r.status == 201:
                                acknowledged.append((await r.json())["post"]["id"])
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        return  # the server is gone mid-request: that write was never acknowledged

            for kill in range(KILLS):
                writers = [asyncio.ensure_future(write_until_killed()) for _ in range(3)]
                await asyncio.sleep(0.3 + 0.07 * kill)
                server.send_signal(signal.SIGKILL)
                server.wait(timeout=10)
                await asyncio.wait_for(asyncio.gather(*writers), 10)
                server = start(tmp_path, port)
                await wait_up(session, base)
            async with session.get(f"{base}/api/v1/threads/{thread_id}") as r:
                thread = await r.json()
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    assert len(acknowledged) > 20, "the load was too light to mean anything"
    stored = {post["id"] for post in thread["posts"]}
    assert set(acknowledged) <= stored  # every acknowledged write is there
    with sqlite3.connect(tmp_path / "forum.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        posts = conn.execute("SELECT COUNT(*) FROM posts WHERE thread_id = ?", (thread_id,)).fetchone()[0]
        reply_count = conn.execute("SELECT reply_count FROM threads WHERE id = ?", (thread_id,)).fetchone()[0]
        assert reply_count == posts - 1  # the count moved with every post, never apart from it
        events = {row[0] for row in conn.execute(
            "SELECT json_extract(payload, '$.post.id') FROM events WHERE kind = 'post.created'")}
        assert stored - {min(stored)} <= events  # each reply's event came with it
