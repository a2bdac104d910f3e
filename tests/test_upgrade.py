"""Upgrades: a database the first release made (tests/fixtures/first_release.sql, rows in every
table, made through that release's own API) starts today with nothing lost, and ends with the
schema a new database has. Every migration a database lacks runs in one transaction: a failed
one, or one that breaks a reference, is rolled back whole and named, on SQLite and PostgreSQL,
and a database from a later release is refused."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import forum.db
from forum import ROOT
from forum.app import create_app
from forum.config import Config
from forum.db import Database, SchemaError, latest_version
from forum.limits import ALL_OFF
from forum.migrations import MIGRATIONS
from tests.conftest import ApiUser, Clock, postgres_schema, quiet

FIRST_RELEASE = Path(__file__).parent / "fixtures" / "first_release.sql"
FIRST_RELEASE_PASSWORD = "correct horse battery staple"  # tests/fixtures/make_first_release.py


def first_release_database(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(FIRST_RELEASE.read_text())
    finally:
        conn.close()


def tables_of(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table's columns and rows (ordered by their first column, then all)."""
    conn = sqlite3.connect(path)
    try:
        found = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                     " AND name NOT LIKE 'sqlite_%' ORDER BY name"):
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            order = ", ".join(str(n + 1) for n in range(len(columns)))
            found[table] = (columns, conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}').fetchall())
        return found
    finally:
        conn.close()


def run_cli(data_dir: Path, *args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "FORUM_DATA_DIR": str(data_dir), "FORUM_BCRYPT_ROUNDS": "4", **env},
                          stdin=subprocess.DEVNULL)


def test_the_fixture_is_the_first_release_with_rows_in_every_table(tmp_path):
    first_release_database(tmp_path / "forum.sqlite3")
    tables = tables_of(tmp_path / "forum.sqlite3")
    assert sorted(tables) == ["email_invitations", "events", "groups", "memberships", "outbox", "password_resets",
                              "post_revisions", "posts", "sessions", "site_settings", "threads", "users"]
    assert all(rows for _, rows in tables.values())
    assert "member_count" not in tables["groups"][0]  # the first release's version 1, not schema.sql's


async def test_the_first_release_starts_today_with_nothing_lost(tmp_path, aiohttp_client):
    data = tmp_path / "data"
    first_release_database(data / "forum.sqlite3")
    before = tables_of(data / "forum.sqlite3")
    clock = Clock()
    clock.moment = datetime(2026, 12, 7, 16, 0, tzinfo=timezone.utc)  # an hour after the fixture was made
    app = create_app(Config(data_dir=data, bcrypt_rounds=4, secret_key="upgrade-test-" * 4, limits=dict(ALL_OFF),
                            site_url="http://127.0.0.1:8080"), clock=clock)
    visitor = ApiUser(await aiohttp_client(app), "anna@example.nl")  # starts the app: the upgrade runs
    await quiet(app)  # the start's own work done (posts rendered anew, the search index written)
    after = tables_of(data / "forum.sqlite3")

    for table, (columns, rows) in before.items():
        now_columns, now_rows = after[table]
        assert now_columns[:len(columns)] == columns, table  # every column kept, in its place
        kept = [row[:len(columns)] for row in now_rows]
        if table == "posts":  # rendered anew by today's Markdown (links made links); the text as written
            body, html = columns.index("body"), columns.index("body_html")
            assert [r[:html] + r[html + 1:] for r in kept] == [r[:html] + r[html + 1:] for r in rows]
            assert all(new[html] for new in kept)
            assert '<a href="https://example.nl/plan"' in kept[0][html] and "**" in rows[0][body]
            continue
        if table == "events":  # words of removed posts and join requests redacted (migration 6)
            payload = columns.index("payload")
            changed = [(old, new) for old, new in zip(rows, kept) if old != new]
            assert len(kept) == len(rows) and len(changed) == 3
            for old, new in changed:
                assert old[:payload] == new[:payload] and "redacted" in new[payload]
            assert "Dubbel geplaatst" not in str(kept)  # the removed post's words are gone from the log
            continue
        added = [row for row in kept if row not in rows]
        assert [row for row in rows if row not in kept] == [], table  # not one row lost or changed
        if table == "groups":  # the site's own two, for its news (a later migration)
            assert [row[columns.index("kind")] for row in added] == ["site", "site"]
        elif table == "site_settings":  # the start's own bookkeeping
            assert {row[0] for row in added} <= {"posts_rendered_with", "search_indexed", "starting_pages_written"}
        else:
            assert added == [], table

    groups = {row[0]: dict(zip(after["groups"][0], row)) for row in after["groups"][1]}
    # the counters the first release lacked, counted from its rows: Regio Zwolle has Anna and
    # Bram and one discussion; the closed werkgroep its owner only (a request, an invitation)
    assert (groups[2]["member_count"], groups[2]["thread_count"]) == (2, 1)
    assert (groups[7]["member_count"], groups[7]["thread_count"]) == (1, 1)

    # its people log in with the passwords they chose then, and read what they wrote
    await visitor.login(FIRST_RELEASE_PASSWORD)
    page = await visitor.client.get("/threads/1")
    html = await page.text()
    assert page.status == 200, html
    assert "Woningbouw langs het spoor" in html and "Het geluid is het grootste punt" in html
    assert "Hoe hebben jullie het geluid opgelost?" in html  # the edited version
    assert "Dubbel geplaatst" not in html  # removed then, removed now
    assert (await visitor.get("/api/v1/me"))["user"]["display_name"] == "Anna de Vries"
    await visitor.client.close()

    result = run_cli(data, "check")
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stdout + result.stderr


async def test_the_first_release_ends_with_the_schema_a_new_database_has(tmp_path):
    first_release_database(tmp_path / "old" / "forum.sqlite3")
    for where in ("old", "new"):
        db = Database(tmp_path / where / "forum.sqlite3")
        await db.open()
        await db.close()
    schemas = []
    for where in ("old", "new"):
        conn = sqlite3.connect(tmp_path / where / "forum.sqlite3")
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
        schemas.append((
            conn.execute("PRAGMA user_version").fetchone()[0],
            {table: conn.execute(f'PRAGMA table_xinfo("{table}")').fetchall() for table in tables},
            # indexes and triggers as written (a table's text differs: ALTER TABLE appends to it)
            conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
                         " ORDER BY name").fetchall(),
        ))
        conn.close()
    assert schemas[0] == schemas[1]
    assert schemas[0][0] == latest_version()


async def site_at(tmp_path: Path, monkeypatch, version: int) -> Path:
    """A database as version `version` made it, with a user, a thread and a post."""
    path = tmp_path / "forum.sqlite3"
    monkeypatch.setattr(forum.db, "MIGRATIONS", {n: sql for n, sql in MIGRATIONS.items() if n <= version})
    db = Database(path)
    await db.open()
    async with db.write() as tx:
        await tx.execute("INSERT INTO users (id, email, email_norm, display_name, password_hash, created_at)"
                         " VALUES (1, 'a@example.nl', 'a@example.nl', 'A', 'x', 'now')")
        await tx.execute("INSERT INTO threads (id, group_id, author_id, title, created_at, last_activity_at)"
                         " VALUES (1, 1, 1, 'T', 'now', 'now')")
        await tx.execute("INSERT INTO posts (id, thread_id, author_id, body, body_html, created_at)"
                         " VALUES (1, 1, 1, 'woorden', 'woorden', 'now')")
    await db.close()
    return path


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [*conn.iterdump(), f"user_version {conn.execute('PRAGMA user_version').fetchone()[0]}"]
    finally:
        conn.close()


async def test_a_failed_migration_is_rolled_back_whole_and_named(tmp_path, monkeypatch):
    # version 20: migrations 21 and 22 run, then the broken 23; all three must be undone
    path = await site_at(tmp_path, monkeypatch, 20)
    before = dump(path)
    monkeypatch.setattr(forum.db, "MIGRATIONS", {**MIGRATIONS, 23: "CREATE TABLE half_done (a);\n"
                                                                  "UPDATE posts SET body = 'weg';\n"
                                                                  "INSERT INTO no_such_table VALUES (1);"})
    db = Database(path)
    with pytest.raises(SchemaError, match="migration 23.*no such table: no_such_table.*rolled back"):
        await db.open()
    assert db._writer is None  # closed: its thread does not keep a failed start alive
    assert dump(path) == before  # not migration 21's table, 22's column, nor 23's first statements
    monkeypatch.setattr(forum.db, "MIGRATIONS", MIGRATIONS)
    db = Database(path)
    await db.open()  # today's migrations still apply to it
    async with db.read() as conn:
        assert (await conn.execute_fetchall("SELECT body, tree_path FROM posts"))[0][:] == ("woorden", "00000001")
    await db.close()


async def test_a_migration_that_breaks_a_reference_is_rolled_back(tmp_path, monkeypatch):
    path = await site_at(tmp_path, monkeypatch, latest_version())
    before = dump(path)
    monkeypatch.setattr(forum.db, "MIGRATIONS", {**MIGRATIONS, latest_version() + 1: "DELETE FROM users;"})
    with pytest.raises(SchemaError, match="foreign key check.*rolled back"):
        await Database(path).open()
    assert dump(path) == before


async def test_a_database_of_a_later_release_is_refused(tmp_path, monkeypatch):
    path = await site_at(tmp_path, monkeypatch, latest_version())
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.close()
    before = dump(path)
    with pytest.raises(SchemaError, match="newer than this forum's"):
        await Database(path).open()
    assert dump(path) == before


def test_a_start_whose_migration_fails_says_which_in_one_line_and_ends(tmp_path):
    # a real migration that cannot run on this database: its table is there already
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "forum.sqlite3")
    conn.executescript(forum.db.SCHEMA_FILE.read_text())
    for number in range(2, 21):
        conn.executescript(MIGRATIONS[number])
    conn.executescript("CREATE TABLE site_commits (id INTEGER PRIMARY KEY); PRAGMA user_version = 20;")
    conn.close()
    before = dump(data / "forum.sqlite3")
    from tests.test_crash import free_port
    result = run_cli(data, FORUM_PORT=str(free_port()), FORUM_HOST="127.0.0.1")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 1, result.stderr
    assert len(errors) == 1 and "migration 21" in errors[0] and "already exists" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert dump(data / "forum.sqlite3") == before


async def test_a_failed_postgresql_upgrade_is_rolled_back_whole_and_named(monkeypatch):
    import psycopg

    import forum.postgres_schema
    from forum.postgres import PostgresDatabase
    url = os.environ.get("FORUM_TEST_POSTGRES", "postgresql://127.0.0.1/test")
    with postgres_schema(url, "h_restore_") as schema_url:
        database = PostgresDatabase(schema_url)
        await database.open()  # today's schema; taken back to version 21 below
        await database.close()
        with psycopg.connect(schema_url) as conn:
            conn.execute("DROP INDEX posts_tree; DROP INDEX posts_roots; ALTER TABLE posts DROP COLUMN tree_path;"
                         " UPDATE schema_version SET version = 21")
            conn.execute("INSERT INTO users (id, email, email_norm, display_name, password_hash, created_at)"
                         " VALUES (1, 'a@example.nl', 'a@example.nl', 'A', 'x', 'now')")

        def columns_and_version():
            with psycopg.connect(schema_url) as conn:
                return (conn.execute("SELECT table_name, column_name FROM information_schema.columns"
                                     " WHERE table_schema = current_schema() ORDER BY 1, 2").fetchall(),
                        conn.execute("SELECT version FROM schema_version").fetchone()[0],
                        conn.execute("SELECT email FROM users").fetchall())
        before = columns_and_version()
        monkeypatch.setattr(forum.postgres_schema, "VERSION", 23)
        monkeypatch.setattr(forum.postgres_schema, "UPGRADES", {
            **forum.postgres_schema.UPGRADES,
            23: "CREATE TABLE half_done (a bigint); DELETE FROM users; SELECT * FROM no_such_table"})
        database = PostgresDatabase(schema_url)
        with pytest.raises(SchemaError, match="upgrade 23.*no_such_table.*rolled back"):
            await database.open()
        assert database._pool is None  # closed again
        after = columns_and_version()
        assert after == before and after[1] == 21  # upgrade 22's column, 23's table and delete: all undone
        monkeypatch.undo()
        database = PostgresDatabase(schema_url)
        await database.open()
        await database.close()
        assert columns_and_version()[1] == forum.postgres_schema.VERSION
