"""PostgreSQL as the store (issue 13), on the machine's PostgreSQL (FORUM_TEST_POSTGRES, by
default postgresql://127.0.0.1/test; each test in a schema of its own). Ids from a sequence are
handed out in one order and may commit in another; the forum's writes take one advisory lock
each, so event ids commit in id order and a reader that reads "after the last id I saw" never
skips one that commits later. Proved by racing writers in four separate database objects (as
four processes would be) against readers doing exactly what the hubs do."""
from __future__ import annotations

import asyncio
import json
import os
import random

import psycopg
import pytest

from forum import postgres
from forum.postgres import PostgresDatabase
from forum.store import fetch_all, insert_row
from tests.conftest import postgres_schema

URL = os.environ.get("FORUM_TEST_POSTGRES", "postgresql://127.0.0.1/test")


@pytest.fixture
def schema_url():
    with postgres_schema(URL, "race_") as url:
        yield url


async def race(url: str, *, writers: int = 4, writes: int = 60) -> tuple[list[int], list[list[int]]]:
    """Writers in separate database objects append events, each transaction pausing at random
    after its insert (so commits interleave as badly as they can); two readers meanwhile read
    'events after the last id I saw', as the hubs do. Returns every committed id and what each
    reader saw."""
    databases = [PostgresDatabase(url, pool_size=3) for _ in range(writers + 1)]
    for database in databases:
        await database.open()
    done = asyncio.Event()
    seen: list[list[int]] = [[], []]

    async def write(database: PostgresDatabase) -> None:
        for n in range(writes):
            async with database.write() as tx:
                await insert_row(tx, "INSERT INTO events (channel, kind, payload, created_at)"
                                     " VALUES ('thread:1', 'post.created', '{}', 'now') RETURNING id")
                await asyncio.sleep(random.random() * 0.004)  # the commit comes a moment later

    async def read(ids: list[int]) -> None:
        reader = databases[-1]
        while True:
            finished = done.is_set()
            async with reader.read() as conn:
                rows = await fetch_all(conn, "SELECT id FROM events WHERE id > ? ORDER BY id",
                                       (ids[-1] if ids else 0,))
            ids.extend(row["id"] for row in rows)
            if finished:
                return
            await asyncio.sleep(0)

    readers = [asyncio.create_task(read(ids)) for ids in seen]
    await asyncio.gather(*(write(database) for database in databases[:writers]))
    done.set()
    await asyncio.gather(*readers)
    async with databases[-1].read() as conn:
        committed = [row["id"] for row in await fetch_all(conn, "SELECT id FROM events ORDER BY id")]
    for database in databases:
        await database.close()
    return committed, seen


async def test_racing_writers_never_let_a_reader_skip_an_event(schema_url):
    committed, seen = await race(schema_url)
    assert len(committed) == 4 * 60
    for ids in seen:
        assert ids == committed  # every event, once, in order


async def test_without_the_write_lock_readers_do_skip_events(schema_url, monkeypatch):
    """The lock is what makes it hold: taken away, the same race loses events for a reader
    (which is why it is there)."""
    async def no_lock(raw) -> None:
        pass
    monkeypatch.setattr(postgres, "take_write_lock", no_lock)
    committed, seen = await race(schema_url)
    assert len(committed) == 4 * 60
    assert any(ids != committed for ids in seen)


# Two server processes on one PostgreSQL database, told of each other over Redis: the same
# proofs as on one SQLite file (tests/test_processes.py), here always on PostgreSQL.
from tests import test_processes  # noqa: E402


async def test_two_processes_deliver_every_event_once_in_order(tmp_path, redis_server, schema_url):
    await test_processes.test_replies_written_on_either_process_reach_sockets_on_both_in_order_once(
        tmp_path, redis_server, schema_url)


async def test_a_killed_process_loses_nothing(tmp_path, redis_server, schema_url):
    await test_processes.test_a_killed_process_loses_nothing_and_its_clients_resume_on_the_other(
        tmp_path, redis_server, schema_url)


async def test_caches_sessions_and_own_writes_across_processes(tmp_path, redis_server, schema_url):
    await test_processes.test_caches_and_sessions_follow_writes_made_by_the_other_process(
        tmp_path, redis_server, schema_url)


class Outage:
    """A TCP forwarder between the forum and PostgreSQL that the test can take down (every
    connection cut, new ones refused) and bring back: PostgreSQL gone, as the forum sees it."""

    def __init__(self, target_port: int = 5432):
        from tests.test_crash import free_port
        self.port = free_port()
        self.target_port = target_port
        self.server: asyncio.AbstractServer | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port, reuse_address=True)

    async def down(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def _link(self, reader, writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.links.update({writer, upstream_writer})

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def test_postgresql_gone_for_ten_seconds_answers_503_then_recovers(schema_url, aiohttp_client, config, clock):
    import time
    from dataclasses import replace

    from forum.app import create_app
    outage = Outage()
    await outage.up()
    url = schema_url.replace("127.0.0.1/", f"127.0.0.1:{outage.port}/", 1)
    client = await aiohttp_client(create_app(replace(config, database_url=url), clock=clock))
    register = {"accept_terms": True, "password": "een lang wachtwoord", "display_name": "Nieuw"}
    assert (await client.post("/api/v1/register", json={**register, "email": "a@example.nl"})).status == 201
    await outage.down()
    deadline = time.monotonic() + 10
    answers = []
    while time.monotonic() < deadline:
        started = time.monotonic()
        response = await client.post("/api/v1/register", json={**register, "email": f"b{len(answers)}@example.nl"})
        answers.append((response.status, response.headers.get("Retry-After"), time.monotonic() - started,
                        (await response.json())["error"]["code"] if response.status >= 400 else None))
        page = await client.get("/groups")
        assert page.status in (200, 503)  # a page from the cache, or 503: never a 500
        await asyncio.sleep(0.5)
    await outage.up()
    assert answers and all(status == 503 and retry == "5" and code == "unavailable" for status, retry, _, code in answers)
    assert max(seconds for _, _, seconds, _ in answers) < 6.5  # no hang past the pool's wait
    recovered = None
    for attempt in range(40):  # back: the pool makes new connections
        recovered = await client.post("/api/v1/register", json={**register, "email": "c@example.nl"})
        if recovered.status != 503:
            break
        await asyncio.sleep(0.25)
    assert recovered.status == 201
    await outage.down()


async def test_a_sqlite_site_moves_to_postgresql_with_one_command(tmp_path, schema_url, aiohttp_client, config, clock):
    """A site with people, groups, threads, replies, news, a document, the audit log and the
    event log, moved by `forum migrate-to-postgres URL`: afterwards it runs on PostgreSQL with
    the same rows and ids, logs in with the same passwords, and hands out new ids after the
    old ones; moving it again into the same database is refused, changing nothing."""
    import sqlite3
    import subprocess
    import sys
    from dataclasses import replace

    from forum import ROOT
    from forum.app import create_app
    from tests.conftest import ApiUser, PASSWORD, open_group

    sqlite_config = replace(config, database_url=None, data_dir=tmp_path / "site")
    client = await aiohttp_client(create_app(sqlite_config, clock=clock))
    from forum.keys import services_key
    from forum.services import accounts
    svc = client.server.app[services_key]
    await accounts.create_admin(svc, email="beheer@example.nl", password=PASSWORD)
    admin = ApiUser(client, "beheer@example.nl")
    await admin.login()
    group = await open_group(admin)
    thread = await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Verhuizen", "body": "eerste"}, expect=201)
    thread_id = thread["thread"]["id"]
    for n in range(5):
        await admin.post(f"/api/v1/threads/{thread_id}/posts", {"body": f"antwoord {n}"}, expect=201)
    await admin.post("/api/v1/news", {"title": "Nieuws", "body": "tekst", "visibility": "public"}, expect=201)
    await client.close()

    db_path = sqlite_config.db_path
    with sqlite3.connect(db_path) as source:
        tables = [row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                                   " AND name NOT LIKE 'search_fts%' AND name != 'sqlite_sequence'")]
        counts = {table: source.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables}
        newest_event = source.execute("SELECT MAX(id) FROM events").fetchone()[0]
        newest_post = source.execute("SELECT MAX(id) FROM posts").fetchone()[0]
    source.close()

    env = {**os.environ, "FORUM_DATA_DIR": str(sqlite_config.data_dir)}
    moved = subprocess.run([sys.executable, str(ROOT / "run.py"), "migrate-to-postgres", schema_url],
                           capture_output=True, text=True, timeout=120, env=env)
    assert moved.returncode == 0, moved.stderr
    assert "checked" in moved.stdout
    with psycopg.connect(schema_url) as target:
        for table, count in counts.items():
            assert target.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == count, table
        assert target.execute("SELECT MAX(id) FROM events").fetchone()[0] == newest_event

    client = await aiohttp_client(create_app(replace(sqlite_config, database_url=schema_url), clock=clock))
    admin = ApiUser(client, "beheer@example.nl")
    await admin.login()  # the same password
    shown = await admin.get(f"/api/v1/threads/{thread_id}")
    assert [post["body_html"].strip() for post in shown["posts"]][1:] == [f"<p>antwoord {n}</p>" for n in range(5)]
    created = await admin.post(f"/api/v1/threads/{thread_id}/posts", {"body": "na de verhuizing"}, expect=201)
    assert created["post"]["id"] > newest_post
    found = await admin.get("/api/v1/search?q=verhuizen")
    assert "Verhuizen" in json.dumps(found["results"])  # the index came along
    await client.close()

    again = subprocess.run([sys.executable, str(ROOT / "run.py"), "migrate-to-postgres", schema_url],
                           capture_output=True, text=True, timeout=120, env=env)
    assert again.returncode == 1 and "already holds a forum" in again.stderr and "Traceback" not in again.stderr


async def test_on_postgresql_a_second_process_without_redis_refuses_but_another_site_runs(tmp_path, schema_url):
    with postgres_schema(URL, "race_") as other_url:
        await _two_sites(tmp_path, schema_url, other_url)


async def _two_sites(tmp_path, schema_url: str, other_url: str) -> None:
    from tests.test_crash import free_port, wait_up
    from tests.test_processes import new_session, start_server, stop, wait_exit
    first_port, second_port, other_port = free_port(), free_port(), free_port()
    for name in "abc":
        (tmp_path / name).mkdir()
    first = start_server(tmp_path / "a", first_port, None, FORUM_DATABASE_URL=schema_url)
    other = None
    try:
        async with new_session() as session:
            await wait_up(session, f"http://127.0.0.1:{first_port}")
            second = start_server(tmp_path / "b", second_port, None, FORUM_DATABASE_URL=schema_url)
            assert wait_exit(second) == 2  # the same site, without Redis: refused
            assert "FORUM_REDIS_URL" in (tmp_path / "b" / f"server-{second_port}.log").read_text()
            other = start_server(tmp_path / "c", other_port, None, FORUM_DATABASE_URL=other_url)
            await wait_up(session, f"http://127.0.0.1:{other_port}")  # another site in the same database runs
    finally:
        stop(first)
        if other is not None:
            stop(other)


async def test_a_postgresql_schema_of_version_21_upgrades_with_every_posts_place(schema_url):
    """forum/postgres_schema.py UPGRADES[22] means what SQLite's migration 22 means."""
    import psycopg

    from forum.postgres import PostgresDatabase
    from forum.postgres_schema import VERSION
    from forum.store.threads import tree_place
    database = PostgresDatabase(schema_url)
    await database.open()  # today's schema; taken back to version 21 below
    await database.close()
    parents = {1: None, 2: 1, 3: 2, 4: None, 5: 1}
    with psycopg.connect(schema_url) as conn:
        conn.execute("DROP INDEX posts_tree; DROP INDEX posts_roots; ALTER TABLE posts DROP COLUMN tree_path;"
                     " UPDATE schema_version SET version = 21")
        conn.execute("INSERT INTO users (id, email, email_norm, display_name, password_hash, created_at)"
                     " VALUES (1, 'a@example.nl', 'a@example.nl', 'A', 'x', 'now')")
        conn.execute("INSERT INTO threads (id, group_id, author_id, title, created_at, last_activity_at)"
                     " VALUES (1, (SELECT min(id) FROM groups), 1, 'T', 'now', 'now')")  # a proeftuin made at start
        for post_id, parent in parents.items():
            conn.execute("INSERT INTO posts (id, thread_id, parent_id, author_id, body, body_html, created_at)"
                         " VALUES (%s, 1, %s, 1, 'x', 'x', 'now')", (post_id, parent))
    database = PostgresDatabase(schema_url)
    await database.open()  # upgrades
    await database.close()
    with psycopg.connect(schema_url) as conn:
        stored = dict(conn.execute("SELECT id, tree_path FROM posts").fetchall())
        version = conn.execute("SELECT version FROM schema_version").fetchone()[0]
    expected: dict[int, str] = {}
    for post_id, parent in parents.items():
        expected[post_id] = tree_place(post_id, expected[parent] if parent else None)
    assert stored == expected and version == VERSION
