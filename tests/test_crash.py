"""Crash safety: replies that mention a reader are written against a running server, which is
killed with SIGKILL and restarted ten times while it fans them out and mails the reader at once.
Every reply the server acknowledged is there afterwards, nothing is half applied (each post has
its event and the thread's count agrees), SQLite's integrity check passes, every reply has its
notification, and each notification is in exactly one mail, which went out."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter

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
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session, \
                aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as reader_session:
            await wait_up(session, base)
            reader_headers = await member(reader_session, base, "lezer@example.nl", "Lezer")
            async with reader_session.put(f"{base}/api/v1/me/settings", headers=reader_headers,
                                          json={"email_notifications": "immediately"}) as r:
                assert r.status == 200  # each mention is mailed as soon as it is fanned out
            headers = await member(session, base, "schrijver@example.nl", "Schrijver")
            async with session.post(f"{base}/api/v1/groups/2/threads", headers=headers,
                                    json={"title": "Onder vuur", "body": "start"}) as r:
                thread_id = (await r.json())["thread"]["id"]

            async def write_until_killed():
                n = 0
                while True:
                    n += 1
                    try:
                        async with session.post(f"{base}/api/v1/threads/{thread_id}/posts", headers=headers,
                                                json={"body": f"reactie {n} voor @lezer"}) as r:
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
            stored, after = set(), ""
            while after is not None:  # the thread's posts, a part at a time
                async with session.get(f"{base}/api/v1/threads/{thread_id}?limit=100&after={after}") as r:
                    part = await r.json()
                stored |= {post["id"] for post in part["posts"]}
                after = part["next"]
            await until_idle(tmp_path / "forum.sqlite3")  # the last server finishes what the others left
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    assert len(acknowledged) > 20, "the load was too light to mean anything"
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
        assert_each_notification_mailed_once(conn, tmp_path, thread_id, stored - {min(stored)})


def assert_each_notification_mailed_once(conn, data_dir, thread_id: int, replies: set[int]) -> None:
    """Each reply's mention of the reader is one notification; its mail was made in the
    transaction that marked it mailed, so however the kills fell it is in exactly one mail
    (the mail's link to the post ties the two), and that mail went out (at least once)."""
    reader = conn.execute("SELECT id FROM users WHERE email_norm = 'lezer@example.nl'").fetchone()[0]
    notes = conn.execute("SELECT post_id, mailed_at FROM notifications WHERE user_id = ? AND kind = 'mention'",
                         (reader,)).fetchall()
    told = [post_id for post_id, _ in notes]
    assert sorted(told) == sorted(replies)  # none lost with a crash, none made twice by a repeated job
    assert all(mailed_at for _, mailed_at in notes)
    mails = conn.execute("SELECT id, body_text, status FROM outbox WHERE to_addr = 'lezer@example.nl'"
                         " AND body_text LIKE '%#post-%'").fetchall()
    assert len(mails) > 1, "the mail was not made while the server was being killed"
    in_mails = Counter(int(post_id) for _, body, _ in mails
                       for post_id in re.findall(rf"/threads/{thread_id}\?post=\d+#post-(\d+)", body))
    assert set(in_mails) == replies and max(in_mails.values()) == 1, in_mails.most_common(3)
    for mail_id, _, status in mails:  # no SMTP server here: sent means kept as a file
        assert status == "stored" and (data_dir / "outbox" / f"{mail_id:06d}.eml").exists()


async def member(session: aiohttp.ClientSession, base: str, email: str, name: str) -> dict:
    """Register, log in and join the open group 2; returns the CSRF header."""
    async with session.post(f"{base}/api/v1/register", json={
            "accept_terms": True, "email": email, "password": PASSWORD, "display_name": name}) as r:
        assert r.status == 201
    async with session.post(f"{base}/api/v1/login", json={"email": email, "password": PASSWORD}) as r:
        headers = {"X-CSRF-Token": (await r.json())["csrf_token"]}
    async with session.post(f"{base}/api/v1/groups/2/join", headers=headers) as r:
        assert r.status == 200
    return headers


async def until_idle(db_path, seconds: float = 60) -> None:
    """Poll the database until no fan-out job, due notification mail or queued mail is left."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with sqlite3.connect(db_path) as conn:
            left = conn.execute(
                "SELECT (SELECT COUNT(*) FROM jobs) + (SELECT COUNT(*) FROM notifications WHERE mail_due_at IS NOT NULL)"
                " + (SELECT COUNT(*) FROM outbox WHERE status = 'queued')").fetchone()[0]
        conn.close()
        if left == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{left} jobs and mails still waiting")
