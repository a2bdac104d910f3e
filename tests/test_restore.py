"""Backup and restore on real server processes: a backup made while writers post continuously
restores into a fresh data directory with every row of every table and every uploaded file, and
serves. A restore refuses, changing nothing, what is not a forum's backup (a text file, a
truncated database, another program's SQLite file, one from a later release, one without its
files), a data directory a server is running on, and an existing database unless told
(--force keeps it aside, a crashed server's unwritten log folded in)."""
from __future__ import annotations

import asyncio
import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from forum import ROOT
from forum.db import latest_version
from tests.conftest import PASSWORD
from tests.test_crash import free_port, member, wait_up
from tests.test_upgrade import first_release_database, tables_of


def run_cli(data_dir: Path, *args: str, **env) -> subprocess.CompletedProcess:
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("FORUM_")},
                "FORUM_DATA_DIR": str(data_dir), "FORUM_BCRYPT_ROUNDS": "4", "FORUM_ADMIN_PASSWORD": PASSWORD, **env}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], env=full_env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def start(data_dir: Path, port: int) -> subprocess.Popen:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FORUM_")},
           "FORUM_DATA_DIR": str(data_dir), "FORUM_PORT": str(port), "FORUM_HOST": "127.0.0.1",
           "FORUM_BCRYPT_ROUNDS": "4", "FORUM_LOG_LEVEL": "WARNING", "FORUM_LIMIT_POST": "off",
           "FORUM_LIMIT_POST_NEW": "off", "FORUM_LIMIT_LOGIN": "off", "FORUM_LIMIT_REGISTER": "off"}
    with open(data_dir.parent / f"server-{port}.log", "ab") as log:  # read when a test fails
        return subprocess.Popen([sys.executable, str(ROOT / "run.py")], env=env, stdout=log, stderr=log)


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def png() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "PNG")
    return out.getvalue()


def state(data_dir: Path) -> dict[str, str]:
    """Every file in the data directory and what it holds (the lock file a restore takes aside)."""
    if not data_dir.exists():
        return {}
    return {str(path.relative_to(data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(data_dir.rglob("*")) if path.is_file() and path.name != "serving.lock"}


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    """One line on stderr that says why and that nothing was changed, and exit 1."""
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and lines[0].endswith("; nothing was changed"), lines
    for word in words:
        assert word in lines[0], lines


async def upload_files(session: aiohttp.ClientSession, base: str, headers: dict) -> tuple[str, str]:
    """A document in group 2's library and a profile photo: the files a backup must carry.
    Returns the document's download path and the photo's."""
    data = aiohttp.FormData()
    data.add_field("title", "Verslag")
    data.add_field("file", b"%PDF-1.4\n% het verslag van de bijeenkomst\n%%EOF\n", filename="verslag.pdf",
                   content_type="application/pdf")
    async with session.post(f"{base}/api/v1/groups/2/documents", data=data, headers=headers) as r:
        body = await r.json()
        assert r.status == 201, body
    document_id = body["document"]["id"]
    photo = aiohttp.FormData()
    photo.add_field("file", png(), filename="ik.png", content_type="image/png")
    async with session.put(f"{base}/api/v1/me/photo", data=photo, headers=headers) as r:
        body = await r.json()
        assert r.status == 200, body
    async with session.get(f"{base}/api/v1/documents/{document_id}") as r:
        download = (await r.json())["versions"][0]["download_url"]
    return download, body["user"]["photo_url"]


async def test_a_backup_made_under_write_load_restores_whole_and_serves(tmp_path):
    data, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    backup = tmp_path / "backups" / "forum.sqlite3"
    backup.parent.mkdir()
    server = start(data, port)
    acknowledged: list[int] = []
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await wait_up(session, base)
            headers = await member(session, base, "schrijver@example.nl", "Schrijver")
            download, photo = await upload_files(session, base, headers)
            async with session.get(base + download) as r:
                document = await r.read()
            async with session.post(f"{base}/api/v1/groups/2/threads", headers=headers,
                                    json={"title": "Onder last", "body": "start"}) as r:
                thread_id = (await r.json())["thread"]["id"]
            writing = True

            async def write():
                n = 0
                while writing:
                    n += 1
                    async with session.post(f"{base}/api/v1/threads/{thread_id}/posts", headers=headers,
                                            json={"body": f"reactie {n} van {id(asyncio.current_task())}"}) as r:
                        assert r.status == 201
                        acknowledged.append((await r.json())["post"]["id"])

            writers = [asyncio.ensure_future(write()) for _ in range(3)]
            await asyncio.sleep(0.5)
            before = set(acknowledged)
            made = await asyncio.to_thread(run_cli, data, "backup", str(backup))
            during = set(acknowledged) - before
            await asyncio.sleep(0.3)
            writing = False
            await asyncio.gather(*writers)
    finally:
        stop(server)
    assert made.returncode == 0, made.stderr
    assert "2 new file(s)" in made.stdout  # the document and the photo
    after = set(acknowledged) - before - during
    assert len(before) > 20 and during and after, "writes before, during and after the backup"

    with sqlite3.connect(backup) as conn:  # one consistent moment of the site
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        posts = {row[0] for row in conn.execute("SELECT id FROM posts WHERE thread_id = ? AND parent_id IS NULL"
                                                " AND id != (SELECT min(id) FROM posts WHERE thread_id = ?)",
                                                (thread_id, thread_id))}
        replies = conn.execute("SELECT reply_count FROM threads WHERE id = ?", (thread_id,)).fetchone()[0]
        events = {row[0] for row in conn.execute(
            "SELECT json_extract(payload, '$.post.id') FROM events WHERE kind = 'post.created'")}
    conn.close()
    assert before <= posts <= set(acknowledged)
    assert replies == len(posts) and posts <= events  # each post with its count and its event, none half there

    restored = tmp_path / "restored"
    result = run_cli(restored, "restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"restored {backup} into {restored / 'forum.sqlite3'}")
    assert "2 uploaded file(s) copied" in result.stdout
    backed_up = tables_of(backup)
    assert len(backed_up) > 40
    assert tables_of(restored / "forum.sqlite3") == backed_up  # every table, row by row
    assert sorted(path.name for path in (restored / "files").rglob("*") if path.is_file()) == \
        sorted(path.name for path in (tmp_path / "backups" / "forum.sqlite3-files").rglob("*") if path.is_file())
    assert (os.stat(restored / "forum.sqlite3").st_mode & 0o777) == 0o600
    check = run_cli(restored, "check")
    assert check.returncode == 0 and check.stdout.strip().endswith("ok"), check.stdout

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(restored, port)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await wait_up(session, base)
            async with session.post(f"{base}/api/v1/login", json={"email": "schrijver@example.nl",
                                                                  "password": PASSWORD}) as r:
                assert r.status == 200
            async with session.get(f"{base}/threads/{thread_id}") as r:
                html = await r.text()
                assert r.status == 200 and "Onder last" in html and "reactie 1 van" in html
            async with session.get(base + download) as r:
                assert r.status == 200 and await r.read() == document
            async with session.get(base + photo) as r:
                assert r.status == 200 and r.content_type == "image/jpeg"
    finally:
        stop(server)


@pytest.fixture
def site(tmp_path) -> tuple[Path, Path]:
    """A data directory with a site (its admin made by the command line) and a backup of it."""
    data, backup = tmp_path / "data", tmp_path / "backup.sqlite3"
    assert run_cli(data, "create-admin", "eerste@example.nl").returncode == 0
    assert run_cli(data, "backup", str(backup)).returncode == 0
    return data, backup


def emails(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT email FROM users ORDER BY id")]
    finally:
        conn.close()


def not_a_forum_backup(tmp_path: Path, backup: Path, kind: str) -> tuple[Path, tuple[str, ...]]:
    bad = tmp_path / f"{kind}.sqlite3"
    if kind == "text":
        bad.write_text("Dit is een boodschappenlijst, geen database.\n")
        return bad, ("is not an SQLite database",)
    if kind == "empty":
        bad.write_bytes(b"")
        return bad, ("is not an SQLite database",)
    if kind == "truncated":
        whole = backup.read_bytes()
        bad.write_bytes(whole[:len(whole) // 2])
        return bad, ("is damaged",)
    if kind == "other program's":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE recepten (naam TEXT)")
        conn.execute("INSERT INTO recepten VALUES ('stamppot')")
        conn.commit()
        conn.close()
        return bad, ("is an SQLite database but not a forum's", "no table users")
    if kind == "later release":
        bad.write_bytes(backup.read_bytes())
        conn = sqlite3.connect(bad)
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
        conn.close()
        return bad, ("was made by a later release", f"schema version {latest_version() + 1}")
    if kind == "broken references":
        bad.write_bytes(backup.read_bytes())
        conn = sqlite3.connect(bad)
        conn.execute("INSERT INTO memberships (group_id, user_id, role, created_at) VALUES (99, 99, 'member', 'x')")
        conn.commit()
        conn.close()
        return bad, ("is damaged", "name rows that are not there")
    raise AssertionError(kind)


KINDS = ["text", "empty", "truncated", "other program's", "later release", "broken references"]


@pytest.mark.parametrize("kind", KINDS)
def test_what_is_not_a_forum_backup_is_refused_changing_nothing(site, tmp_path, kind):
    data, backup = site
    bad, words = not_a_forum_backup(tmp_path, backup, kind)
    fresh = tmp_path / "fresh"
    refused(run_cli(fresh, "restore", str(bad)), str(bad), *words)
    assert state(fresh) == {}  # no database, no copy left behind
    before = state(data)
    refused(run_cli(data, "restore", "--force", str(bad)), str(bad), *words)
    assert state(data) == before


def test_a_missing_backup_file_is_said(site, tmp_path):
    data, _ = site
    refused(run_cli(tmp_path / "fresh", "restore", str(tmp_path / "nergens.sqlite3")), "no backup file at")


def test_a_restore_onto_a_running_site_is_refused(site, tmp_path):
    data, backup = site
    port = free_port()
    server = start(data, port)
    try:
        asyncio.run(_wait_up(f"http://127.0.0.1:{port}"))
        result = run_cli(data, "restore", "--force", str(backup))
        refused(result, f"a server is running on {data}", "stop it first")
        assert not list(data.glob("forum.sqlite3.*restor*"))  # nothing set aside, no copy left
    finally:
        stop(server)
    result = run_cli(data, "restore", "--force", str(backup))  # stopped: now it may
    assert result.returncode == 0, result.stderr


async def _wait_up(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        await wait_up(session, base)


def test_an_existing_database_is_replaced_only_when_told_and_kept_aside(site, tmp_path):
    data, backup = site
    assert run_cli(data, "create-admin", "tweede@example.nl").returncode == 0  # after the backup
    before = state(data)
    refused(run_cli(data, "restore", str(backup)), "there is a database at", "restore --force replaces it")
    assert state(data) == before and emails(data / "forum.sqlite3") == ["eerste@example.nl", "tweede@example.nl"]

    result = run_cli(data, "restore", "--force", str(backup))
    assert result.returncode == 0, result.stderr
    aside = list(data.glob("forum.sqlite3.before-restore-*"))
    assert len(aside) == 1 and f"the database it replaced is kept as {aside[0]}" in result.stdout
    assert emails(data / "forum.sqlite3") == ["eerste@example.nl"]
    assert emails(aside[0]) == ["eerste@example.nl", "tweede@example.nl"]
    assert run_cli(data, "check").returncode == 0


def test_a_crashed_servers_unwritten_log_goes_aside_with_its_database(site, tmp_path):
    data, backup = site
    # a process that wrote and died without closing: its commit is in forum.sqlite3-wal only
    code = ("import sqlite3, os, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0');"
            "c.execute(\"UPDATE users SET display_name = 'Uit het log' WHERE id = 1\"); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(data / "forum.sqlite3")], check=True, timeout=30)
    assert (data / "forum.sqlite3-wal").stat().st_size > 0
    result = run_cli(data, "restore", "--force", str(backup))
    assert result.returncode == 0, result.stderr
    assert not (data / "forum.sqlite3-wal").exists()  # no old log for SQLite to replay into the restored one
    aside = next(data.glob("forum.sqlite3.before-restore-*"))
    assert not Path(f"{aside}-wal").exists()
    with sqlite3.connect(aside) as conn:
        assert conn.execute("SELECT display_name FROM users WHERE id = 1").fetchone()[0] == "Uit het log"
    conn.close()
    with sqlite3.connect(data / "forum.sqlite3") as conn:
        assert conn.execute("SELECT display_name FROM users WHERE id = 1").fetchone()[0] != "Uit het log"
    conn.close()
    assert run_cli(data, "check").returncode == 0


async def test_a_backup_without_the_files_it_names_is_refused(tmp_path):
    data, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(data, port)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await wait_up(session, base)
            headers = await member(session, base, "schrijver@example.nl", "Schrijver")
            await upload_files(session, base, headers)
    finally:
        stop(server)
    backup = tmp_path / "backup.sqlite3"
    assert run_cli(data, "backup", str(backup)).returncode == 0
    files = tmp_path / "backup.sqlite3-files"
    files.rename(tmp_path / "elsewhere")
    fresh = tmp_path / "fresh"
    refused(run_cli(fresh, "restore", str(backup)), "names 2 uploaded file(s) that are neither in", str(files))
    assert state(fresh) == {}
    (tmp_path / "elsewhere").rename(files)
    result = run_cli(fresh, "restore", str(backup))
    assert result.returncode == 0 and "2 uploaded file(s) copied" in result.stdout, result.stderr
    assert run_cli(fresh, "check").returncode == 0


async def test_an_older_backup_is_restored_and_migrated_at_the_next_start(tmp_path):
    backup = tmp_path / "first-release.sqlite3"
    first_release_database(backup)
    data = tmp_path / "data"
    result = run_cli(data, "restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert f"(schema version 1; the next start migrates it to {latest_version()})" in result.stdout
    port = free_port()
    server = start(data, port)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_up(session, f"http://127.0.0.1:{port}")
            async with session.get(f"http://127.0.0.1:{port}/threads/1") as r:
                assert r.status == 200 and "Woningbouw langs het spoor" in await r.text()
    finally:
        stop(server)
    assert run_cli(data, "check").returncode == 0


def test_a_postgresql_site_is_restored_with_its_own_tools(tmp_path):
    result = run_cli(tmp_path / "data", "restore", str(tmp_path / "x"), FORUM_DATABASE_URL="postgresql://db/forum")
    assert result.returncode == 2 and "restore is for SQLite" in result.stderr and "pg_restore" in result.stderr


def test_a_backup_never_overwrites_a_database_that_is_not_an_earlier_backup(site, tmp_path):
    """An operator's review: with two paths swapped, `backup` wrote one site's data over a
    running other site's database. It writes over an earlier backup only; everything else is
    refused in one line, nothing written."""
    data_dir, _ = site
    other = tmp_path / "other"
    assert run_cli(other, "create-admin", "ander@example.nl").returncode == 0  # a second site
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    before = state(other), notes.read_bytes()
    cases = [(other / "forum.sqlite3", "a site's database"), (data_dir / "forum.sqlite3", "the live database itself"),
             (notes, "not an SQLite database"), (tmp_path, "is a directory"),
             (tmp_path / "nowhere" / "b.sqlite3", "no directory")]
    for destination, said in cases:
        result = run_cli(data_dir, "backup", str(destination))
        lines = result.stderr.splitlines()
        assert result.returncode == 1 and len(lines) == 1 and said in lines[0], (destination, result.stderr)
    assert (state(other), notes.read_bytes()) == before
    backup = tmp_path / "b.sqlite3"
    for _ in range(2):  # an earlier backup is what it may overwrite
        assert run_cli(data_dir, "backup", str(backup)).returncode == 0
    assert not (tmp_path / "b.sqlite3-wal").exists() and not (tmp_path / "b.sqlite3-shm").exists()  # one file


def test_a_port_already_taken_is_said_in_one_line_before_anything_is_made(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(tmp_path / "data", FORUM_PORT=str(port), FORUM_HOST="127.0.0.1")
    assert result.returncode == 1 and result.stderr.strip() == \
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use", result.stderr
    assert not (tmp_path / "data" / "forum.sqlite3").exists()
