"""Mail is robust: header values with line breaks are healed, a mail that cannot be built or sent
is retried with backoff and then marked failed without holding up the rest of the queue, an SMTP
server that is down loses nothing, List-Unsubscribe stays a plain header, .eml files are private,
and admins see failed mail and can queue it again. Delivery is driven by calling the mailer."""
from __future__ import annotations

import asyncio
import email.policy
import json
import logging
import re
import socket
import stat
from dataclasses import replace
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from forum.mail import MAX_ATTEMPTS, Mailer, backoff, build
from forum.services import mailings
from forum.store import outbox as outbox_store
from tests.conftest import open_group, quiet

SECRET_BODY = "geheime inhoud van het bericht"


class RawInbox:
    """What aiosmtpd received, as the bytes on the wire."""

    def __init__(self):
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.content)
        return "250 OK"

    def messages(self):
        return [message_from_bytes(raw, policy=email.policy.default) for raw in self.raw]


@pytest.fixture
def smtp(svc):
    """An SMTP server on loopback that the running app's mailer sends to; `controller` can stop it."""
    inbox = RawInbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    svc.mailer.config = replace(svc.mailer.config, smtp_host="127.0.0.1", smtp_port=port,
                                mail_from="Forum <forum@example.nl>")
    inbox.controller, inbox.port = controller, port
    yield inbox
    if controller._thread is not None:
        controller.stop()


async def queue(svc, to="jan@example.nl", subject="Onderwerp", body=SECRET_BODY, headers=None) -> int:
    async with svc.db.write() as tx:
        return await svc.mailer.queue(tx, to=to, subject=subject, body=body, headers=headers)


async def insert_raw(svc, **row) -> int:
    """A row as an older version (or a bug) may have left it: straight into the table."""
    async with svc.db.write() as tx:
        return await outbox_store.insert(tx, **{"to_addr": "jan@example.nl", "subject": "Onderwerp",
                                                "body_text": SECRET_BODY, "now": svc.now(), **row})


async def row(svc, mail_id: int):
    async with svc.db.read() as conn:
        return await outbox_store.get(conn, mail_id)


async def test_a_warning_with_a_line_break_in_its_reason_goes_out_on_one_line(server, svc, smtp, admin, make_user):
    group = await open_group(admin, "Werkgroep Water", "open")
    author = await make_user("Anna de Boer")
    reporter = await make_user("Bert Smit")
    for user in (author, reporter):
        await user.post(f"/api/v1/groups/{group['id']}/join")
    created = await author.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Dijken", "body": "Hoger"},
                                expect=201)
    await author.put("/api/v1/me/settings", {"email_notifications": "immediately"})
    await reporter.post(f"/api/v1/posts/{created['post']['id']}/reports", {"reason": "inappropriate"}, expect=201)
    item, = (await admin.get("/api/v1/moderation/queue"))["items"]
    await admin.post(f"/api/v1/moderation/queue/{item['id']}/resolve",
                     {"action": "warn", "reason": "regel een\nregel twee"})
    await quiet(server.app)  # runs the due mail, then stops the background work
    await svc.mailer.deliver_queued()
    warned = [raw for raw, m in zip(smtp.raw, smtp.messages()) if m["To"] == author.email and b"regel een" in raw]
    assert len(warned) == 1, [m["Subject"] for m in smtp.messages()]
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", warned[0])  # folding is allowed; a line break in the value is not
    assert re.search(rb"\r\nSubject: [^\r\n]*: regel een regel twee\r\n", unfolded)


async def test_line_breaks_are_cleaned_when_queued_and_rows_left_by_older_code_are_healed(server, svc, smtp):
    await quiet(server.app)
    fresh = await queue(svc, subject="een\r\ntwee\tdrie\x00vier", headers={"X-Forum-Reden": "a\nb"})
    stored = await row(svc, fresh)
    assert stored["subject"] == "een twee drie vier"
    assert json.loads(stored["headers"]) == {"X-Forum-Reden": "a b"}
    old = await insert_raw(svc, subject="oud\nonderwerp", to_addr=" jan@example.nl\n",
                           headers={"X-Forum-Reden": "x\r\n Bcc: iemand@example.org"})
    assert await svc.mailer.deliver_queued() == 2
    assert (await row(svc, old))["status"] == "sent"
    healed = smtp.messages()[-1]
    assert healed["Subject"] == "oud onderwerp" and healed["X-Forum-Reden"] == "x Bcc: iemand@example.org"
    assert healed["Bcc"] is None


@pytest.mark.parametrize("bad", [{"headers": {"X Kapot": "waarde"}}, {"headers": {"X:Kapot": "waarde"}},
                                 {"headers": {"From": "nep@example.org"}}, {"to_addr": "onzin"},
                                 {"to_addr": "a@b, c@d"}])
async def test_a_mail_that_cannot_be_built_is_retried_then_failed_and_never_blocks_the_queue(
        server, svc, config, clock, caplog, bad):
    await quiet(server.app)
    broken = await insert_raw(svc, **bad)
    good = await queue(svc, subject="Na de kapotte")
    caplog.set_level(logging.WARNING, logger="forum.mail")
    assert await svc.mailer.deliver_queued() == 2
    assert (await row(svc, good))["status"] == "stored"  # the same round, behind the broken one
    assert (config.outbox_dir / f"{good:06d}.eml").exists()
    for attempt in range(1, MAX_ATTEMPTS):
        current = await row(svc, broken)
        assert (current["status"], current["attempts"]) == ("queued", attempt)
        assert current["last_error"] and current["next_attempt_at"] > svc.now()
        assert await svc.mailer.deliver_queued() == 0  # not due yet: backing off
        clock.advance(seconds=backoff(attempt).total_seconds() - 1)
        assert await svc.mailer.deliver_queued() == 0
        clock.advance(seconds=1)
        assert await svc.mailer.deliver_queued() == 1
    failed = await row(svc, broken)
    assert (failed["status"], failed["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert failed["last_error"].startswith(("ValueError", "TypeError"))
    clock.advance(days=30)
    assert await svc.mailer.deliver_queued() == 0  # failed stays failed until an admin retries it
    warnings = [r for r in caplog.records if r.name == "forum.mail" and r.levelno == logging.WARNING]
    assert len(warnings) == MAX_ATTEMPTS
    assert SECRET_BODY not in caplog.text


def test_backoff_grows_and_is_capped():
    pauses = [backoff(n).total_seconds() for n in range(1, MAX_ATTEMPTS + 3)]
    assert pauses[0] == 60 and pauses[1] == 120 and pauses == sorted(pauses) and max(pauses) == 6 * 3600


async def test_smtp_down_keeps_mail_and_sends_it_when_the_server_is_back(server, svc, smtp, clock):
    await quiet(server.app)
    smtp.controller.stop()
    mail_id = await queue(svc, subject="Toch nog")
    assert await svc.mailer.deliver_queued() == 1
    waiting = await row(svc, mail_id)
    assert waiting["status"] == "queued" and waiting["attempts"] == 1 and waiting["last_error"]
    smtp.controller = Controller(smtp, hostname="127.0.0.1", port=smtp.port)  # the same server, back up
    smtp.controller.start()
    assert await svc.mailer.deliver_queued() == 0  # it waits for its turn, not hammering the server
    clock.advance(seconds=backoff(1).total_seconds())
    assert await svc.mailer.deliver_queued() == 1
    assert (await row(svc, mail_id))["status"] == "sent"
    assert [m["Subject"] for m in smtp.messages()] == ["Toch nog"]


async def test_list_unsubscribe_is_one_plain_header_line(server, svc, smtp, admin):
    await quiet(server.app)
    headers = mailings._unsubscribe_headers(svc, admin.id, "notifications")
    assert len("List-Unsubscribe: " + headers["List-Unsubscribe"]) > 78  # long enough to have been folded
    await queue(svc, to=admin.email, headers=headers)
    await svc.mailer.deliver_queued()
    raw = smtp.raw[-1]
    line = re.search(rb"\r\nList-Unsubscribe: ([^\r\n]*)\r\n(?![ \t])", raw)
    assert line and line.group(1) == headers["List-Unsubscribe"].encode()
    assert line.group(1).startswith(b"<http://127.0.0.1:8080/unsubscribe/")
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


async def test_eml_files_are_private(server, svc, config):
    await quiet(server.app)
    config.outbox_dir.mkdir(parents=True, mode=0o755)  # as an older version left it
    mail_id = await queue(svc)
    await svc.mailer.deliver_queued()
    path = config.outbox_dir / f"{mail_id:06d}.eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.outbox_dir.stat().st_mode) == 0o700
    assert SECRET_BODY.encode() in path.read_bytes()
    assert [p.name for p in config.outbox_dir.iterdir()] == [path.name]  # no partial file left behind


async def test_an_eml_that_cannot_be_written_is_retried(server, svc, config, clock):
    await quiet(server.app)
    config.outbox_dir.parent.mkdir(parents=True, exist_ok=True)
    config.outbox_dir.write_text("a file where the directory should be")
    mail_id = await queue(svc)
    assert await svc.mailer.deliver_queued() == 1
    waiting = await row(svc, mail_id)
    assert waiting["status"] == "queued" and waiting["attempts"] == 1
    config.outbox_dir.unlink()
    clock.advance(seconds=backoff(1).total_seconds())
    await svc.mailer.deliver_queued()
    assert (await row(svc, mail_id))["status"] == "stored"


async def test_admins_see_failed_mail_and_can_retry_it(server, svc, admin, make_user):
    await quiet(server.app)
    member = await make_user("Cees Veld")
    failed = await insert_raw(svc, to_addr="piet@example.nl", subject="Niet aangekomen")
    async with svc.db.write() as tx:
        await outbox_store.mark(tx, failed, status="failed", error="SMTPRecipientsRefused: 550 no", now=svc.now())
    fine = await queue(svc, subject="Wel aangekomen")
    await svc.mailer.deliver_queued()
    page = await (await admin.client.get("/admin/outbox")).text()
    assert "1 mail kon niet worden verstuurd" in page
    assert "SMTPRecipientsRefused: 550 no" in page and "na 1 poging" in page
    assert page.index("Niet aangekomen") < page.index("Wel aangekomen")  # failed first
    assert f'action="/admin/outbox/{failed}/retry"' in page
    assert f'action="/admin/outbox/{fine}/retry"' not in page

    refused = await member.client.post(f"/admin/outbox/{failed}/retry", data={"csrf_token": member.csrf})
    assert refused.status == 404 and (await row(svc, failed))["status"] == "failed"
    forged = await admin.client.post(f"/admin/outbox/{failed}/retry", data={"csrf_token": "nep"})
    assert forged.status == 403 and (await row(svc, failed))["status"] == "failed"

    response = await admin.client.post(f"/admin/outbox/{failed}/retry", data={"csrf_token": admin.csrf})
    assert response.status == 200 and "De mail staat weer in de wachtrij." in await response.text()
    again = await row(svc, failed)
    assert (again["status"], again["attempts"], again["next_attempt_at"]) == ("queued", 0, None)
    entries = (await admin.get("/api/v1/audit"))["entries"]
    assert entries[0]["action"] == "mail.retry"
    assert entries[0]["target"] == {"type": "mail", "id": failed, "label": "piet@example.nl"}
    assert (await admin.client.get("/audit")).status == 200

    twice = await admin.client.post(f"/admin/outbox/{failed}/retry", data={"csrf_token": admin.csrf})
    assert twice.status == 409 and "niet mislukt" in await twice.text()
    assert (await admin.client.post("/admin/outbox/999999/retry", data={"csrf_token": admin.csrf})).status == 404
    await svc.mailer.deliver_queued()
    assert (await row(svc, failed))["status"] == "stored"
    assert "kon niet worden verstuurd" not in await (await admin.client.get("/admin/outbox")).text()


def test_building_refuses_what_the_email_package_would_let_through():
    base = {"to_addr": "jan@example.nl", "subject": "x", "body_text": "y", "headers": "{}"}
    assert build(base, "forum@example.nl")[0] == "jan@example.nl"
    for broken in ({"headers": '{"X Kapot": "1"}'}, {"headers": '["lijst"]'}, {"to_addr": ""},
                   {"headers": '{"Content-Type": "text/html"}'}):
        with pytest.raises((ValueError, TypeError)):
            build({**base, **broken}, "forum@example.nl")


async def test_two_delivery_rounds_at_once_send_a_mail_once(server, svc, smtp):
    await quiet(server.app)
    await queue(svc, subject="Maar één keer")
    await asyncio.gather(svc.mailer.deliver_queued(), svc.mailer.deliver_queued())
    assert [m["Subject"] for m in smtp.messages()] == ["Maar één keer"]


async def shared_database(config):
    """The site's database as another process sharing it opens it (shared: mail is claimed)."""
    if config.database_url:
        from forum.postgres import PostgresDatabase
        db = PostgresDatabase(config.database_url, shared=True)
    else:
        from forum.db import Database
        db = Database(config.db_path, shared=True)
    await db.open()
    return db


async def test_two_processes_sharing_a_site_send_each_mail_once(server, svc, smtp, config, clock):
    await quiet(server.app)
    subjects = [f"Bericht {n}" for n in range(35)]
    for subject in subjects:
        await queue(svc, subject=subject)
    first, second = await shared_database(config), await shared_database(config)
    try:
        mailers = [Mailer(svc.mailer.config, db, now=svc.mailer.now) for db in (first, second)]
        tried = await asyncio.gather(*(mailer.deliver_queued() for mailer in mailers))
        assert sum(tried) == len(subjects)
        assert sorted(m["Subject"] for m in smtp.messages()) == sorted(subjects)
        async with svc.db.read() as conn:
            assert {r["status"] for r in await outbox_store.latest(conn)} == {"sent"}
    finally:
        await first.close()
        await second.close()


async def test_a_process_that_stalled_past_its_claim_leaves_the_outcome_to_the_next(server, svc, config, clock):
    await quiet(server.app)
    mail_id = await queue(svc, subject="Te laat")
    db = await shared_database(config)
    try:
        now = svc.now()
        async with db.write(visible=False) as tx:
            [claimed] = await outbox_store.claim_queued(tx, now, "2000-01-01T00:00:00.000000Z", 10)
        assert claimed["id"] == mail_id
        # the claim ran out; another process claimed the mail anew and sent it
        async with db.write(visible=False) as tx:
            assert [r["id"] for r in await outbox_store.claim_queued(tx, now, "2999-01-01T00:00:00.000000Z", 10)] == [mail_id]
            assert await outbox_store.mark(tx, mail_id, status="sent", now=now, claimed_until="2999-01-01T00:00:00.000000Z")
        async with db.write(visible=False) as tx:  # the stalled one's late failure changes nothing
            assert not await outbox_store.requeue(tx, mail_id, "SMTPServerDisconnected", now,
                                                  claimed_until="2000-01-01T00:00:00.000000Z")
            assert not await outbox_store.mark(tx, mail_id, status="failed", now=now,
                                               claimed_until="2000-01-01T00:00:00.000000Z")
        after = await row(svc, mail_id)
        assert (after["status"], after["attempts"], after["last_error"]) == ("sent", 1, "")
    finally:
        await db.close()
