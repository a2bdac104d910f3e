"""run.py's subcommands on a real data directory, and mail delivered to a real SMTP server on
loopback (or kept in the outbox when there is none)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import replace

from forum import ROOT
from forum.app import create_app
from forum.keys import services_key
from tests.conftest import PASSWORD, ApiUser, count


def run_cli(data_dir, *args, env_extra=None):
    env = {**os.environ, "FORUM_DATA_DIR": str(data_dir), "FORUM_BCRYPT_ROUNDS": "4", **(env_extra or {})}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_create_admin_backup_and_check(tmp_path):
    data = tmp_path / "data"
    assert (data / "setup_token").exists() is False  # nothing started yet
    result = run_cli(data, "create-admin", "chef@example.nl", env_extra={"FORUM_ADMIN_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    assert "created admin chef@example.nl" in result.stdout
    assert not (data / "setup_token").exists()
    assert "/setup/" not in result.stdout + result.stderr  # no link printed that this very command spends
    # promoting an existing account
    result = run_cli(data, "create-admin", "CHEF@example.nl", env_extra={"FORUM_ADMIN_PASSWORD": PASSWORD})
    assert result.returncode == 0 and "promoted" in result.stdout
    result = run_cli(data, "create-admin", "x@example.nl", env_extra={"FORUM_ADMIN_PASSWORD": "kort"})
    assert result.returncode == 2 and "password" in result.stderr
    backup = tmp_path / "backup.sqlite3"
    result = run_cli(data, "backup", str(backup))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT role FROM users WHERE email_norm = 'chef@example.nl'").fetchone() == ("admin",)
        assert conn.execute("SELECT COUNT(*) FROM groups WHERE kind != 'site'").fetchone() == (6,)
    result = run_cli(data, "check")
    assert result.returncode == 0 and result.stdout.strip().endswith("ok")


def test_check_fails_on_a_damaged_database(tmp_path):
    data = tmp_path / "data"
    assert run_cli(data, "create-admin", "a@example.nl", env_extra={"FORUM_ADMIN_PASSWORD": PASSWORD}).returncode == 0
    with sqlite3.connect(data / "forum.sqlite3") as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("INSERT INTO memberships (group_id, user_id, role, created_at) VALUES (99, 99, 'member', 'x')")
    result = run_cli(data, "check")
    assert result.returncode == 1 and "foreign key" in result.stdout
    assert run_cli(tmp_path / "empty", "check").returncode == 1


async def test_password_reset_mail_goes_out_by_smtp(aiohttp_client, config, clock, smtp_server):
    inbox, port = smtp_server
    app = create_app(replace(config, smtp_host="127.0.0.1", smtp_port=port, mail_from="forum@example.nl"),
                     clock=clock)
    client = ApiUser(await aiohttp_client(app), "")
    await client.post("/api/v1/register", {"accept_terms": True, "email": "jan@example.nl", "password": PASSWORD,
                                           "display_name": "Jan", "locale": "en"}, expect=201)
    await client.post("/api/v1/password/forgot", {"email": "JAN@example.nl"}, expect=202)
    svc = app[services_key]
    await svc.mailer.deliver_queued()  # aiosmtpd has recorded each mail before it answered 250
    # registering asked to confirm the address first; then the reset, both in the user's language
    assert [(rcpt, m["Subject"]) for rcpt, m in inbox.messages] == [
        (["jan@example.nl"], "Confirm your email address"), (["jan@example.nl"], "Set a new password")]
    reset = inbox.messages[1][1]
    assert "/password/reset/" in reset.get_payload(decode=True).decode()
    async with svc.db.read() as conn:
        statuses = [row["status"] for row in await (await conn.execute("SELECT status FROM outbox")).fetchall()]
    assert statuses == ["sent", "sent"]


async def test_without_smtp_mail_is_kept_as_eml(admin, anonymous, svc, config):
    visitor = await anonymous()
    await visitor.post("/api/v1/password/forgot", {"email": admin.email}, expect=202)
    await svc.mailer.deliver_queued()
    files = list(config.outbox_dir.glob("*.eml"))
    assert len(files) == 1 and b"/password/reset/" in files[0].read_bytes()
    assert await count(svc, "outbox") == 1


async def test_unreachable_smtp_keeps_mail_queued(aiohttp_client, config, clock):
    app = create_app(replace(config, smtp_host="127.0.0.1", smtp_port=1), clock=clock)
    client = ApiUser(await aiohttp_client(app), "")
    await client.post("/api/v1/register", {"accept_terms": True, "email": "jan@example.nl", "password": PASSWORD,
                                           "display_name": "Jan"}, expect=201)
    await client.post("/api/v1/password/forgot", {"email": "jan@example.nl"}, expect=202)
    svc = app[services_key]
    await svc.mailer.deliver_queued()
    async with svc.db.read() as conn:
        row = await (await conn.execute("SELECT status, attempts, last_error FROM outbox")).fetchone()
    assert row["status"] == "queued" and row["attempts"] >= 1 and row["last_error"]
