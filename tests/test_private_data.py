"""What the server leaves behind stays private: files in the data directory are 0600 in a 0700
directory, reset and unsubscribe tokens never reach the access log, and mailed links point at
the address the server was actually started on."""
from __future__ import annotations

import logging
import os
import sqlite3
import stat
from dataclasses import replace

import pytest

from forum import cli
from forum.app import create_app
from forum.config import from_env
from forum.db import backup_file
from forum.web.access_log import RedactingAccessLogger, redact
from tests.conftest import PASSWORD, ApiUser, quiet


def test_the_default_site_url_follows_the_port_and_host_flags():
    assert from_env({}, port=9000).site_url == "http://127.0.0.1:9000"
    assert from_env({"FORUM_PORT": "7000"}).site_url == "http://127.0.0.1:7000"
    assert from_env({"FORUM_PORT": "7000"}, host="10.0.0.5", port=9000).site_url == "http://10.0.0.5:9000"
    # an explicit address always wins, from the environment or the flag
    assert from_env({"FORUM_SITE_URL": "https://forum.example.nl/"}, port=9000).site_url == "https://forum.example.nl"
    assert from_env({"FORUM_SITE_URL": "https://a.example.nl"}, site_url="https://b.example.nl").site_url \
        == "https://b.example.nl"


@pytest.fixture
def open_umask():
    """Without a restrictive umask a file made with default modes would come out 0666: this
    makes a forgotten explicit mode show up as a failure."""
    previous = os.umask(0)
    yield
    os.umask(previous)


async def test_every_file_in_the_data_directory_is_private(open_umask, tmp_path, config, clock, aiohttp_client):
    data = tmp_path / "fresh" / "data"
    app = create_app(replace(config, data_dir=data, secret_key=""), clock=clock)  # the key file is made too
    client = ApiUser(await aiohttp_client(app), "anna@example.nl")
    await client.post("/api/v1/register", {"accept_terms": True, "email": client.email, "password": PASSWORD, "display_name": "Anna"},
                      expect=201)
    await client.post("/api/v1/password/forgot", {"email": client.email}, expect=202)  # no SMTP: an .eml file
    await quiet(app)

    names = {path.relative_to(data).as_posix() for path in data.rglob("*")}
    database = set() if config.database_url else {"forum.sqlite3", "forum.sqlite3-wal", "forum.sqlite3-shm"}
    assert {*database, "secret_key"} <= names
    assert any(name.endswith(".eml") for name in names), names
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))

    if config.database_url:
        return  # PostgreSQL keeps the rows; its backups are pg_dump's
    backup = tmp_path / "backup.sqlite3"
    backup_file(data / "forum.sqlite3", backup)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1


@pytest.mark.parametrize("path", [
    "/password/reset/SECRETtoken123", "/unsubscribe/SECRETtoken123", "/api/v1/unsubscribe/SECRETtoken123",
    "/setup/SECRETtoken123", "/confirm-email/SECRETtoken123", "/invitations/SECRETtoken123/accept",
    "/login?token=SECRETtoken123",
])
def test_tokens_are_redacted_from_paths(path):
    cleaned = redact(path)
    assert "SECRET" not in cleaned and "…" in cleaned
    assert redact(f"https://forum.example.nl{path}") == f"https://forum.example.nl{cleaned}"


async def test_the_access_log_never_holds_a_token(aiohttp_server, aiohttp_client, app, caplog):
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    server = await aiohttp_server(app, access_log_class=RedactingAccessLogger)
    client = await aiohttp_client(server)
    await client.get("/password/reset/SECRETtoken123", headers={"Referer": "http://x/unsubscribe/SECRETother"})
    await client.get("/unsubscribe/SECRETtoken456")
    await client.get("/threads/1")
    lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]
    assert len(lines) == 3, lines
    assert not any("SECRET" in line for line in lines), lines
    assert '"GET /password/reset/… HTTP/1.1"' in lines[0] and '"http://x/unsubscribe/…"' in lines[0]
    assert '"GET /threads/1 HTTP/1.1" 404' in lines[2]


def test_the_command_line_serves_with_the_redacting_logger(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(cli.web, "run_app", lambda app, **kwargs: seen.update(kwargs))
    assert cli.main(["--data-dir", str(tmp_path / "data"), "--port", "9123"]) == 0
    assert seen["access_log_class"] is RedactingAccessLogger and seen["port"] == 9123
