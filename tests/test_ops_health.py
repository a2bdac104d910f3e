"""Health, readiness and stopping (issue 15). In the process: /healthz answers without the
database; /readyz says ok only when the process can serve (started, not stopping, the
database answering at this code's schema version, hub and scheduler running) and says why
not otherwise; neither sets a cookie, says anything secret, is rate limited, passes the session
middleware or reaches the access log at info level; and from the first moment of a shutdown,
while a request is still in flight, /readyz says "shutting down". The scheduler stops after
the step it is in. With a real server process and SIGTERM: the live socket gets 1001, a
request in flight (a reply waiting for the database) finishes with its normal answer and is in
the database afterwards, as is a reply acknowledged just before; new and kept connections are
refused; a second SIGTERM changes nothing; the process exits 0 within FORUM_SHUTDOWN_SECONDS
and a margin. A request whose body is still arriving is not read further (aiohttp), is cut off
after FORUM_SHUTDOWN_SECONDS, and nothing of it is written."""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import sqlite3
import time
from dataclasses import replace

import aiohttp
from aiohttp.test_utils import make_mocked_request
from yarl import URL

from forum.app import create_app
from forum.db import latest_version
from forum.keys import config_key, hub_key, readiness_key, scheduler_key, services_key, traffic_key
from forum.limits import DEFAULT_LIMITS
from forum.scheduler import Scheduler
from forum.services import documents, news, signups
from forum.store import is_postgres
from forum.web import health
from forum.web.access_log import RedactingAccessLogger
from tests.conftest import open_group
from tests.test_crash import free_port, member, wait_up
from tests.test_processes import new_session, new_thread, reply, start_server, stop

OK = {"status": "ok"}


async def probe(client, path: str, **kwargs) -> tuple[int, dict, aiohttp.ClientResponse]:
    response = await client.get(path, **kwargs)
    return response.status, await response.json(), response


def assert_plain(response: aiohttp.ClientResponse) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert response.content_type == "application/json"


# --- in the process -----------------------------------------------------------------------

async def test_healthz_answers_without_the_database(anonymous, server, caplog):
    visitor = await anonymous()
    status, body, response = await probe(visitor.client, "/healthz")
    assert (status, body) == (200, OK)
    assert_plain(response)
    await server.app[services_key].db.close()  # the process lives on: a restart would not bring it back
    status, body, response = await probe(visitor.client, "/healthz")
    assert (status, body) == (200, OK)
    with caplog.at_level(logging.WARNING, logger="forum.web.health"):
        status, body, _ = await probe(visitor.client, "/readyz")
    assert (status, body) == (503, {"status": "unavailable", "reason": "database unavailable"})
    # the server's own log says what went wrong; the answer did not
    [logged] = [r.getMessage() for r in caplog.records if r.name == "forum.web.health"]
    assert logged.startswith("not ready: database unavailable (") and "Error" in logged


async def test_readyz_says_ok_and_then_why_not(anonymous, server, caplog):
    visitor = await anonymous()
    app = server.app
    status, body, response = await probe(visitor.client, "/readyz")
    assert (status, body) == (200, OK)
    assert_plain(response)

    readiness = app[readiness_key]
    readiness.stopping = True
    with caplog.at_level(logging.WARNING, logger="forum.web.health"):
        for _ in range(3):
            assert (await probe(visitor.client, "/readyz"))[:2] == (
                503, {"status": "unavailable", "reason": "shutting down"})
    # said once in the server's log, not at every poll
    assert [r.getMessage() for r in caplog.records if r.name == "forum.web.health"] == ["not ready: shutting down"]
    readiness.stopping = False
    assert (await probe(visitor.client, "/readyz"))[:2] == (200, OK)

    # another version of the forum migrated the database under this process
    db = app[services_key].db
    async with db.write() as tx:
        if is_postgres(tx):
            await tx.execute("UPDATE schema_version SET version = version + 1")
        else:
            await tx.execute(f"PRAGMA user_version = {latest_version() + 1}")
    assert (await probe(visitor.client, "/readyz"))[:2] == (
        503, {"status": "unavailable", "reason": "database schema not current"})
    async with db.write() as tx:
        if is_postgres(tx):
            await tx.execute("UPDATE schema_version SET version = version - 1")
        else:
            await tx.execute(f"PRAGMA user_version = {latest_version()}")
    assert (await probe(visitor.client, "/readyz"))[:2] == (200, OK)

    await app[scheduler_key].stop()
    assert (await probe(visitor.client, "/readyz"))[:2] == (
        503, {"status": "unavailable", "reason": "scheduler not running"})
    await app[hub_key].stop()
    assert (await probe(visitor.client, "/readyz"))[:2] == (
        503, {"status": "unavailable", "reason": "live updates not running"})


async def test_readyz_says_starting_before_the_start_is_done(config):
    app = create_app(config)  # not started: no database opened, no hub, no scheduler
    response = await health.readyz(make_mocked_request("GET", "/readyz", app=app))
    assert response.status == 503
    assert json.loads(response.body) == {"status": "unavailable", "reason": "starting"}


async def test_readyz_answers_503_when_the_database_does_not_answer_in_time(anonymous, server, monkeypatch):
    visitor = await anonymous()
    db = server.app[services_key].db

    async def hangs():
        await asyncio.sleep(60)
    monkeypatch.setattr(db, "schema_current", hangs)
    monkeypatch.setattr(health, "DATABASE_SECONDS", 0.2)
    started = time.monotonic()
    assert (await probe(visitor.client, "/readyz"))[:2] == (
        503, {"status": "unavailable", "reason": "database unavailable"})
    assert time.monotonic() - started < 2


async def test_the_probes_tell_nothing_and_skip_sessions_and_cookies(admin, server, monkeypatch):
    """A logged-in browser's cookies go along (a check from the same host): no session is read,
    none is renewed, no visitor cookie is made, and the bodies name no path, key or error."""
    from forum.web import middleware
    config = server.app[config_key]

    async def no_session_reading(*args, **kwargs):
        raise AssertionError("the session middleware ran for a probe")
    monkeypatch.setattr(middleware.accounts, "actor_for_session", no_session_reading)
    for path in ("/healthz", "/readyz"):
        response = await admin.client.get(path)
        text = await response.text()
        assert response.status == 200, text
        assert_plain(response)
        assert json.loads(text) == OK
        response = await admin.client.head(path)  # as some balancers ask
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers
    monkeypatch.undo()
    response = await admin.client.post("/healthz", headers={"X-CSRF-Token": admin.csrf})
    assert response.status == 405  # only asked, never sent to: that takes the usual way

    await server.app[services_key].db.close()
    response = await admin.client.get("/readyz")
    text = await response.text()
    assert response.status == 503
    assert set(json.loads(text)) == {"status", "reason"}
    for secret in (config.secret_key, str(config.data_dir), "sqlite", "Error", "Traceback", "modulo"):
        assert secret not in text
    assert (await admin.client.head("/readyz")).status == 503


async def test_the_probes_are_not_rate_limited(aiohttp_client, config):
    app = create_app(replace(config, limits=dict(DEFAULT_LIMITS)))  # the limits a site runs with
    client = await aiohttp_client(app)
    last_request = app[traffic_key].last_done
    statuses = await asyncio.gather(*(client.get(path) for _ in range(150) for path in ("/healthz", "/readyz")))
    assert {response.status for response in statuses} == {200}
    # nor do they count as the traffic the scheduler's reading of documents waits out
    assert app[traffic_key].last_done == last_request


async def test_the_probes_stay_out_of_the_info_access_log(aiohttp_server, aiohttp_client, app, caplog):
    server = await aiohttp_server(app, access_log_class=RedactingAccessLogger)
    client = await aiohttp_client(server)
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        for path in ("/healthz", "/readyz", "/over", "/readyz"):
            await client.get(path)
    lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]
    assert len(lines) == 1 and '"GET /over HTTP/1.1"' in lines[0], lines
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="aiohttp.access"):
        await client.get("/healthz")
    records = [record for record in caplog.records if record.name == "aiohttp.access"]
    assert [(r.levelno, '"GET /healthz HTTP/1.1" 200' in r.getMessage()) for r in records] == [(logging.DEBUG, True)]


# --- requests in flight ------------------------------------------------------------------

class WriteLock:
    """The database's write lock, held from outside the server (another transaction, a
    migration by hand): the server's next write waits for it, its request in flight meanwhile."""

    def __init__(self, db_path, database_url: str | None):
        self.db_path, self.database_url = db_path, database_url
        self.conn = None

    def take(self) -> None:
        if self.database_url:
            import psycopg

            from forum.postgres import FOR_THIS_SITE, WRITE_LOCK
            self.conn = psycopg.connect(self.database_url, autocommit=True)
            self.conn.execute(f"SELECT pg_advisory_lock(%s, {FOR_THIS_SITE})", (WRITE_LOCK,))
        else:
            self.conn = sqlite3.connect(self.db_path, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.conn is None:
            return
        if not self.database_url:
            self.conn.execute("ROLLBACK")
        self.conn.close()  # and with it PostgreSQL's session lock
        self.conn = None


class SlowPost:
    """A JSON POST whose body is sent in two parts: the server has its request (its handler
    waits for the rest of the body) for as long as the second part is held back."""

    def __init__(self, port: int, path: str, headers: dict, body: dict):
        self.port, self.path, self.headers = port, path, headers
        self.body = json.dumps(body).encode()

    async def begin(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = [f"POST {self.path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Content-Type: application/json",
                f"Content-Length: {len(self.body)}", *(f"{name}: {value}" for name, value in self.headers.items())]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + self.body[:10])
        await self.writer.drain()

    async def finish(self) -> None:
        self.writer.write(self.body[10:])
        await self.writer.drain()

    async def answer(self) -> bytes:
        """What the server answered before it closed the connection."""
        try:
            return await self.reader.read()
        finally:
            self.writer.close()


def cookie_header(jar: aiohttp.CookieJar, url: str) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.filter_cookies(URL(url)).items())


async def test_from_the_first_moment_of_a_shutdown_readyz_says_so_while_requests_finish(admin, server, config):
    group = await open_group(admin)
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Draaiboek", "body": "begin"},
                               expect=201))["thread"]["id"]
    app = server.app
    lock = WriteLock(config.db_path, config.database_url)
    lock.take()
    try:
        posting = asyncio.ensure_future(admin.post(f"/api/v1/threads/{thread}/posts", {"body": "net op tijd"},
                                                   expect=None))
        await asyncio.sleep(0.3)  # its handler waits for the write lock
        assert not posting.done()
        closing = asyncio.ensure_future(server.close())  # what run_app does on SIGTERM (BaseRunner.cleanup)
        deadline = time.monotonic() + 5
        while not app[readiness_key].stopping and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not closing.done() and not posting.done()  # the request in flight is waited for
        response = await health.readyz(make_mocked_request("GET", "/readyz", app=app))
        assert response.status == 503
        assert json.loads(response.body) == {"status": "unavailable", "reason": "shutting down"}
    finally:
        lock.release()
    body = await asyncio.wait_for(posting, 10)
    assert body["post"]["body_html"] == "<p>net op tijd</p>\n"
    await asyncio.wait_for(closing, 10)


async def test_the_scheduler_stops_after_the_step_it_is_in(server, monkeypatch):
    svc = server.app[services_key]
    await server.app[scheduler_key].stop()  # the app's own: only this test's runs the steps
    release = asyncio.Event()
    ran: list[str] = []

    async def slow_step(svc):
        ran.append("news")
        await release.wait()
        ran.append("news done")
        return 0

    async def next_step(svc):
        ran.append("reminders")
        return 0
    monkeypatch.setattr(news, "publish_due", slow_step)
    monkeypatch.setattr(signups, "send_reminders", next_step)
    scheduler = Scheduler(svc)
    scheduler.start()  # the first round is a full one
    deadline = time.monotonic() + 5
    while ran != ["news"] and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert scheduler.running
    stopping = asyncio.ensure_future(scheduler.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done() and not scheduler.running  # the step in progress is waited for
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert ran == ["news", "news done"]  # and the round's other steps stay due


async def test_a_document_being_read_gets_the_grace_then_waits_for_the_next_start(server, monkeypatch):
    svc = server.app[services_key]
    await server.app[scheduler_key].stop()
    cancelled = asyncio.Event()

    async def pending(svc):
        return True

    async def reading(svc, limit=5):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
    monkeypatch.setattr(documents, "has_pending_text", pending)
    monkeypatch.setattr(documents, "extract_pending", reading)
    scheduler = Scheduler(svc)  # never busy: reads at once
    scheduler._extract_in_background()
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await asyncio.wait_for(scheduler.stop(grace=0.3), 5)
    assert 0.3 <= time.monotonic() - started < 2
    assert cancelled.is_set()


# --- a real server process and SIGTERM -----------------------------------------------------

def stored_posts(data_dir, database_url: str | None) -> set[int]:
    if database_url:
        import psycopg
        with psycopg.connect(database_url) as conn:
            return {row[0] for row in conn.execute("SELECT id FROM posts")}
    conn = sqlite3.connect(data_dir / "forum.sqlite3")
    try:
        return {row[0] for row in conn.execute("SELECT id FROM posts")}
    finally:
        conn.close()


async def refused(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url) as response:
            return f"answered {response.status}"
    except aiohttp.ClientConnectorError as error:
        return isinstance(error.os_error, ConnectionRefusedError)


SHUTDOWN_SECONDS = 5
MARGIN = 3  # the scheduler's step, the hub, the mailer and the database closed, Python's own exit


async def test_sigterm_drains_the_requests_in_flight_closes_sockets_with_1001_and_exits_0(tmp_path, database_url):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(tmp_path, port, None, FORUM_SHUTDOWN_SECONDS=str(SHUTDOWN_SECONDS),
                           **({"FORUM_DATABASE_URL": database_url} if database_url else {}))
    lock = WriteLock(tmp_path / "forum.sqlite3", database_url)
    try:
        async with new_session() as session, new_session() as reader, new_session() as poller:
            await wait_up(session, base)
            headers = await member(session, base, "schrijver@example.nl", "Schrijver")
            thread = await new_thread(session, base, headers, "Onderhoud vanavond")
            await member(reader, base, "lezer@example.nl", "Lezer")
            ws = await reader.ws_connect(f"{base}/api/v1/live")
            await ws.send_json({"type": "subscribe", "channels": [f"thread:{thread}"]})
            async with asyncio.timeout(5):
                while json.loads((await ws.receive()).data)["type"] != "subscribed":
                    pass
            async with poller.get(f"{base}/readyz") as r:  # and the poller's connection is kept alive
                assert (r.status, await r.json()) == (200, OK)

            acknowledged = await reply(session, base, headers, thread, "net voor het stoppen")
            assert acknowledged is not None
            lock.take()
            in_flight = asyncio.ensure_future(reply(session, base, headers, thread, "wacht op de schrijfbeurt"))
            await asyncio.sleep(0.3)  # its handler waits for the database's write lock
            assert not in_flight.done()
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)

            # the live socket is closed with 1001 (after the event of the reply it watched)
            async with asyncio.timeout(5):
                while True:
                    message = await ws.receive()
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
            assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001, message
            assert ws.close_code == 1001

            # draining: the listener is closed, so a load balancer's probe finds the port refused
            # (on a new connection, and on the kept one, which the server closed as idle)
            assert await refused(poller, f"{base}/readyz") is True
            async with aiohttp.ClientSession() as fresh:
                assert await refused(fresh, f"{base}/readyz") is True
            process.send_signal(signal.SIGTERM)  # a second one, as a process group signalled twice
            await asyncio.sleep(1.0)
            assert process.poll() is None and not in_flight.done()  # still waiting for the request
            lock.release()

            drained = await asyncio.wait_for(in_flight, 5)
            assert drained is not None  # answered 201, with its id
            code = await asyncio.to_thread(process.wait, SHUTDOWN_SECONDS + MARGIN)
            took = time.monotonic() - signalled
        assert code == 0
        assert took < SHUTDOWN_SECONDS + MARGIN
        assert {acknowledged, drained} <= stored_posts(tmp_path, database_url)
    finally:
        lock.release()
        stop(process)


async def test_a_body_still_arriving_at_sigterm_is_not_read_and_is_cut_off_after_the_shutdown_seconds(
        tmp_path, database_url):
    """aiohttp stops reading from every connection when it begins to stop (aio-libs/aiohttp#2298):
    the rest of a body sent after SIGTERM never reaches the handler, which waits for it until
    FORUM_SHUTDOWN_SECONDS have passed and is then cancelled. The client gets no answer, and
    nothing of the request is written."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(tmp_path, port, None, FORUM_SHUTDOWN_SECONDS="2",
                           **({"FORUM_DATABASE_URL": database_url} if database_url else {}))
    try:
        async with new_session() as session:
            await wait_up(session, base)
            headers = await member(session, base, "schrijver@example.nl", "Schrijver")
            thread = await new_thread(session, base, headers, "Te laat")
            before = stored_posts(tmp_path, database_url)
            slow = SlowPost(port, f"/api/v1/threads/{thread}/posts",
                            {**headers, "Cookie": cookie_header(session.cookie_jar, base)}, {"body": "nooit af"})
            await slow.begin()
            await asyncio.sleep(0.2)
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            await slow.finish()  # in time, but no longer read
            code = await asyncio.to_thread(process.wait, 2 + MARGIN)
            took = time.monotonic() - signalled
            assert await slow.answer() == b""  # the connection closed without an answer
        assert code == 0
        assert 2 <= took < 2 + MARGIN
        assert stored_posts(tmp_path, database_url) == before
    finally:
        stop(process)
