"""Attacker review of issue 15's operations work: what got through, each fixed and kept fixed.

- /metrics behind a trusted proxy that names its client in another header than the one
  FORUM_PROXY_HEADER reads (nginx with X-Real-IP only), or as "unknown": the proxy's own
  loopback address, inside the default allow list, opened it to anyone.
- A personal calendar feed's token (/feeds/me/TOKEN.ics, polled by calendar apps) was written
  to the access log at every poll; FORUM_LOG_LEVEL=DEBUG wrote every SQL statement with its
  parameters (aiosqlite): e-mail addresses, password hashes, post texts.
- restore --force over a damaged database (what a restore is for) ended in a traceback; a
  backup's files that are links were copied as the content they point at; a name that is not an
  upload's ended in a traceback; a restore killed midway left its partial copy for good.
- FORUM_LIMIT_LOGIN=²/10 was refused with int()'s own message, not naming the variable.
"""
from __future__ import annotations

import ipaddress
import logging
import sqlite3
import stat
from dataclasses import replace

import pytest

from forum.app import create_app
from forum.limits import parse as parse_limits
from forum.logs import configure
from forum.web.access_log import RedactingAccessLogger, redact
from tests.test_restore import refused, run_cli


def networks(text: str) -> tuple:
    return tuple(ipaddress.ip_network(part) for part in text.split())


# --- /metrics behind a trusted proxy ---------------------------------------------------------


async def test_a_trusted_proxy_that_names_no_client_in_its_header_opens_no_metrics(aiohttp_server, aiohttp_client,
                                                                                 config, clock):
    # the default allow list (loopback), nginx on loopback trusted: the scrape must name a client
    app = create_app(replace(config, trusted_proxies=networks("127.0.0.1/32")), clock=clock)
    client = await aiohttp_client(await aiohttp_server(app))
    for headers in ({"X-Real-IP": "203.0.113.9"},                     # nginx set X-Real-IP only
                    {"Forwarded": "for=203.0.113.9"},                 # the other header than the one read
                    {"X-Forwarded-For": "unknown"}, {"X-Forwarded-For": ""},
                    {"X-Forwarded-For": "127.0.0.1, unknown"}):
        response = await client.get("/metrics", headers=headers)
        assert response.status == 403, headers
        assert "FORUM_PROXY_HEADER" in await response.text()
    # what held before still holds: the proxy's host asking directly, and a client it names
    assert (await client.get("/metrics")).status == 200
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})).status == 200
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})).status == 403


# --- no token or SQL in the logs -----------------------------------------------------------


def test_a_personal_calendar_feeds_token_is_taken_out_of_logged_paths():
    assert redact("/feeds/me/SECRETfeed-123.ics") == "/feeds/me/…"
    assert "SECRET" not in redact("https://forum.example.nl/feeds/me/SECRETfeed-123.ics")
    assert redact("/feeds/events.ics") == "/feeds/events.ics"


async def test_the_access_log_never_holds_a_calendar_token(aiohttp_server, aiohttp_client, app, caplog):
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    client = await aiohttp_client(await aiohttp_server(app, access_log_class=RedactingAccessLogger))
    await client.get("/feeds/me/SECRETfeed123.ics", headers={"Referer": "http://x/feeds/me/SECRETother.ics"})
    lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]
    assert len(lines) == 1 and "/feeds/me/…" in lines[0]
    assert "SECRET" not in lines[0], lines


def test_debug_logging_leaves_out_aiosqlites_statements_and_their_parameters():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure("DEBUG", "json")
        assert root.isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
        configure("WARNING", "text")
        assert not logging.getLogger("aiosqlite").isEnabledFor(logging.INFO)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        logging.getLogger("aiosqlite").setLevel(logging.NOTSET)


async def test_a_real_server_at_debug_level_logs_no_sql_parameters(tmp_path):
    """Started with FORUM_LOG_LEVEL=DEBUG: its admin's address (read and written by SQL at every
    start and login) is in no line but the one that says the admin was made."""
    data = tmp_path / "data"
    made = run_cli(data, "create-admin", "geheim-adres@example.nl", FORUM_LOG_LEVEL="DEBUG")
    assert made.returncode == 0, made.stderr
    lines = [line for line in made.stderr.splitlines() if "geheim-adres" in line]
    assert len(lines) == 1 and "admin account" in lines[0], lines
    assert "aiosqlite" not in made.stderr


# --- restore -------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path):
    """A data directory with a site (its admin made by the command line) and a backup of it."""
    data, backup = tmp_path / "data", tmp_path / "backup.sqlite3"
    assert run_cli(data, "create-admin", "eerste@example.nl").returncode == 0
    assert run_cli(data, "backup", str(backup)).returncode == 0
    return data, backup


def test_restore_force_over_a_damaged_database_restores_and_keeps_the_damaged_one(site, tmp_path):
    data, backup = site
    damaged = b"not a database any more " * 1000
    (data / "forum.sqlite3").write_bytes(damaged)
    (data / "forum.sqlite3-wal").write_bytes(b"a crashed server's log")
    result = run_cli(data, "restore", "--force", str(backup))
    assert result.returncode == 0, result.stderr
    assert "kept as" in result.stdout
    with sqlite3.connect(data / "forum.sqlite3") as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("eerste@example.nl",)]
    aside = [path for path in data.iterdir() if ".before-restore-" in path.name and not path.name.endswith("-wal")]
    assert len(aside) == 1 and aside[0].read_bytes() == damaged
    # the old log is not left for SQLite to replay into the restored database (SQLite itself may
    # have dropped one that does not fit; one that stays goes aside with its database)
    wal = data / "forum.sqlite3-wal"
    assert not wal.exists() or wal.read_bytes() != b"a crashed server's log"
    assert run_cli(data, "check").returncode == 0


def _naming_a_photo(backup, name: str):
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE users SET photo_blob = ?", (name,))
    conn.close()


def test_a_backup_file_that_is_a_link_is_refused_not_copied(site, tmp_path):
    _, backup = site
    name = "ab" * 32
    _naming_a_photo(backup, name)
    secret = tmp_path / "elders.txt"
    secret.write_text("a file of the server's user, outside the backup")
    folder = backup.with_name(backup.name + "-files") / name[:2]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(secret)
    fresh = tmp_path / "fresh"
    refused(run_cli(fresh, "restore", str(backup)), "not a plain file")
    assert not (fresh / "forum.sqlite3").exists() and not (fresh / "files").exists()


def test_a_name_that_is_no_uploads_name_is_refused_in_one_line(site, tmp_path):
    _, backup = site
    name = "z" * 64
    _naming_a_photo(backup, name)
    folder = backup.with_name(backup.name + "-files") / "zz"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("x")
    refused(run_cli(tmp_path / "fresh", "restore", str(backup)), "not an upload's name")


def test_restored_files_are_0600_and_a_killed_restores_copy_is_removed(site, tmp_path):
    _, backup = site
    name = "cd" * 32
    _naming_a_photo(backup, name)
    folder = backup.with_name(backup.name + "-files") / name[:2]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"a photo")
    (folder / name).chmod(0o644)  # as an archive unpacked elsewhere may leave it
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "forum.sqlite3.restoring-99999").write_bytes(b"half a copy, its restore killed")
    result = run_cli(fresh, "restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((fresh / "files" / name[:2] / name).stat().st_mode) == 0o600
    assert not list(fresh.glob("forum.sqlite3.restoring-*"))


# --- check-config ----------------------------------------------------------------------------


def test_a_rate_limit_with_digits_int_refuses_is_named():
    for raw in ("²/10", "10/³", "1/" + "9" * 5000):
        try:
            parse_limits({"FORUM_LIMIT_LOGIN": raw})
        except ValueError as error:
            assert str(error).startswith("FORUM_LIMIT_LOGIN must be COUNT/SECONDS"), (raw, str(error)[:80])
        else:
            raise AssertionError(f"{raw[:20]!r} was taken")
    assert parse_limits({"FORUM_LIMIT_LOGIN": " 10 / 300 "})["LOGIN"] == (10, 300)
