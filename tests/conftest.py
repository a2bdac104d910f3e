"""Fixtures: the real app factory on a real temporary SQLite database, and API users that
carry their own cookie jar and CSRF token."""
from __future__ import annotations

import email.policy
from contextlib import contextmanager
import os
import secrets
import shutil
import subprocess
import time
import socket
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from forum.app import create_app
from forum.config import Config
from forum.limits import ALL_OFF
from forum.keys import scheduler_key, services_key
from forum.services import accounts

PASSWORD = "correct horse battery staple"


class Clock:
    """A controllable clock: tests move time forward instead of sleeping."""

    def __init__(self):
        self.moment = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.moment += timedelta(microseconds=1)  # every reading is distinct, as on a real clock
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


class ApiUser:
    def __init__(self, client, email: str):
        self.client = client
        self.email = email
        self.csrf: str | None = None
        self.id: int | None = None

    async def call(self, method: str, path: str, json=None, expect: int | None = 200, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.csrf and "X-CSRF-Token" not in headers:
            headers["X-CSRF-Token"] = self.csrf
        response = await self.client.request(method, path, json=json, headers=headers, **kwargs)
        body = await response.json()
        if expect is not None:
            assert response.status == expect, (method, path, response.status, body)
        return body

    async def get(self, path, expect=200, **kw):
        return await self.call("GET", path, expect=expect, **kw)

    async def post(self, path, json=None, expect=200, **kw):
        return await self.call("POST", path, json=json, expect=expect, **kw)

    async def patch(self, path, json=None, expect=200, **kw):
        return await self.call("PATCH", path, json=json, expect=expect, **kw)

    async def put(self, path, json=None, expect=200, **kw):
        return await self.call("PUT", path, json=json, expect=expect, **kw)

    async def delete(self, path, json=None, expect=200, **kw):
        return await self.call("DELETE", path, json=json, expect=expect, **kw)

    async def login(self, password: str = PASSWORD):
        body = await self.post("/api/v1/login", {"email": self.email, "password": password})
        self.csrf = body["csrf_token"]
        self.id = body["user"]["id"]
        return body


def same_answer(body: dict) -> dict:
    """An API answer without the id every error carries (X-Request-Id, forum/web/request_info.py),
    for comparing two requests' answers."""
    if isinstance(body.get("error"), dict):
        return {**body, "error": {k: v for k, v in body["error"].items() if k != "request_id"}}
    return body


@pytest.fixture
def clock():
    return Clock()


# FORUM_TEST_POSTGRES=postgresql://127.0.0.1/test runs the tests on PostgreSQL: each test gets
# a schema of its own, dropped afterwards, so runs never see each other's rows
TEST_POSTGRES = os.environ.get("FORUM_TEST_POSTGRES")


@contextmanager
def postgres_schema(server_url: str | None = TEST_POSTGRES, prefix: str = "t_"):
    """A schema of its own on the PostgreSQL at `server_url`, dropped afterwards; yields the URL
    that makes it the search path (None, and nothing made, without a server)."""
    if not server_url:
        yield None
        return
    import psycopg
    schema = prefix + secrets.token_hex(6)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(autouse=True)
def database_url():
    # autouse: made before, and so dropped after, every server a test starts (a server closed
    # after the drop would hold its connections while the drop waits for them)
    with postgres_schema() as url:
        yield url


@pytest.fixture
def config(tmp_path, database_url):
    # rate limits off: only tests/test_limits.py turns them on, to check them
    return Config(data_dir=tmp_path / "data", bcrypt_rounds=4, secret_key="test-secret-key",
                  site_url="http://127.0.0.1:8080", limits=dict(ALL_OFF), database_url=database_url)


@pytest.fixture
def app(config, clock):
    return create_app(config, clock=clock)


@pytest.fixture
async def server(aiohttp_server, app):
    return await aiohttp_server(app)


@pytest.fixture
def svc(server):
    return server.app[services_key]


@pytest.fixture
def anonymous(aiohttp_client, server):
    async def make() -> ApiUser:
        return ApiUser(await aiohttp_client(server), "")
    return make


async def verify_email(svc, user_id: int) -> None:
    """Mark an address proven, as its confirmation link would (tests of the link itself use the mail)."""
    async with svc.db.write() as tx:
        await tx.execute("UPDATE users SET email_verified_at = ? WHERE id = ?", (svc.now(), user_id))


@pytest.fixture
def make_user(aiohttp_client, server):
    """Register (through the API) and log in a user with its own client. Its address counts
    as confirmed unless verified=False."""
    async def make(name: str, *, password: str = PASSWORD, login: bool = True, verified: bool = True) -> ApiUser:
        email = f"{name.lower().replace(' ', '.')}@example.nl"
        user = ApiUser(await aiohttp_client(server), email)
        if verified:  # someone who confirmed their address long ago: no confirmation mail now
            svc = server.app[services_key]
            user.id = (await accounts.register(svc, email=email, password=password, display_name=name,
                                               accepted_terms=True, send_confirmation=False))["id"]
            await verify_email(svc, user.id)
        else:
            body = await user.post("/api/v1/register", {"accept_terms": True, "email": email, "password": password, "display_name": name},
                                   expect=201)
            user.id = body["user"]["id"]
        if login:
            await user.login(password)
        return user
    return make


@pytest.fixture
async def admin(aiohttp_client, server):
    """The site's admin, made as `forum create-admin` makes one (registering never does)."""
    await accounts.create_admin(server.app[services_key], email="beheerder@example.nl", password=PASSWORD,
                                display_name="Beheerder")
    user = ApiUser(await aiohttp_client(server), "beheerder@example.nl")
    await user.login()
    return user


async def quiet(app) -> None:
    """Finish and stop the background work (fan-out, mail), so a test comparing whole tables
    before and after a request sees only what that request did."""
    await app[scheduler_key].run_once()
    await app[scheduler_key].stop()
    await app[services_key].mailer.deliver_queued()
    await app[services_key].mailer.stop()


async def table_names(conn) -> list[str]:
    """The forum's tables, on either database (SQLite's own sqlite_* tables left out)."""
    from forum.store import is_postgres
    if is_postgres(conn):
        rows = await conn.execute_fetchall("SELECT table_name FROM information_schema.tables"
                                           " WHERE table_schema = current_schema() ORDER BY 1")
    else:
        rows = await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"
                                           " AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [row[0] for row in rows]


async def snapshot(svc) -> dict:
    """Every row of every table, the list read from the database itself: a refused request must
    change nothing at all, in any table, including ones added after a test was written."""
    tables = {}
    async with svc.db.read() as conn:
        # the full-text index's segment pages change when the scheduler merges them, whatever a
        # request did; what the index holds is compared through search_fts itself
        for table in await table_names(conn):
            if table in ("search_fts_data", "search_fts_idx"):
                continue
            rows = await conn.execute_fetchall(f'SELECT * FROM "{table}"')
            tables[table] = sorted(tuple(str(value) for value in row) for row in rows)
    return tables


async def count(svc, table: str) -> int:
    async with svc.db.read() as conn:
        async with conn.execute(f"SELECT COUNT(*) FROM {table}") as cursor:
            return (await cursor.fetchone())[0]


async def open_group(owner: ApiUser, name: str = "Werkgroep Energie", visibility: str = "open",
                     kind: str = "werkgroep") -> dict:
    body = await owner.post("/api/v1/groups", {"name": name, "kind": kind, "visibility": visibility,
                                               "description": "Samen aan de slag"}, expect=201)
    return body["group"]


class Inbox:
    """What a real SMTP server on loopback (aiosmtpd) received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd needs a real port number to check it started
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, controller.port
    controller.stop()


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """A redis-server of this test's own, on a free port, without persistence."""

    def __init__(self, directory):
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def site(aiohttp_server, config, clock):
    """The app on a real port of its own, for a browser (tests/helpers_browser.py Site): the
    site URL must be the address the browser uses, as the websocket checks its Origin."""
    from tests.helpers_browser import Site
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(replace(config, site_url=f"http://127.0.0.1:{port}"), clock=clock)
    await aiohttp_server(app, host="127.0.0.1", port=port)
    return Site(f"http://127.0.0.1:{port}", app)
