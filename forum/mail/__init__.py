"""Outgoing mail: queued in the outbox table inside the caller's transaction, delivered after
commit by a background task. With FORUM_SMTP_HOST set it goes out through SMTP; without it,
each message is written as an .eml file under the data directory and kept for admins to read.
Nothing is dropped: a failed SMTP attempt stays queued and is retried.
"""
from __future__ import annotations

import asyncio
import json
import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from forum.config import Config
from forum.db import Database
from forum.store import outbox as outbox_store

log = logging.getLogger(__name__)

RETRY_SECONDS = 30
MAX_ATTEMPTS = 10


class Mailer:
    def __init__(self, config: Config, db: Database, now):
        self.config = config
        self.db = db
        self.now = now
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def queue(self, tx, *, to: str, subject: str, body: str, html: str = "",
                    headers: dict | None = None) -> int:
        """Queue a mail in the caller's write transaction: it goes out only if that commits."""
        return await outbox_store.insert(tx, to_addr=to, subject=subject, body_text=body, body_html=html,
                                         headers=headers, now=self.now())

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mailer")

    async def stop(self) -> None:
        """Let a delivery round in progress finish, then end the loop (nothing is cut off mid-send)."""
        if self._task:
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                async with asyncio.timeout(RETRY_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.deliver_queued()
            except Exception:  # keep the loop alive; the mail stays queued for the next round
                log.exception("mail delivery round failed")

    def _message(self, row) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.config.mail_from
        message["To"] = row["to_addr"]
        message["Subject"] = row["subject"]
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="forum")
        for name, value in json.loads(row.get("headers") or "{}").items():
            message[name] = value
        message.set_content(row["body_text"])
        if row.get("body_html"):
            message.add_alternative(row["body_html"], subtype="html")
        return message

    async def deliver_queued(self) -> int:
        """Deliver everything queued; returns how many were handled."""
        async with self.db.read() as conn:
            rows = await outbox_store.queued(conn)
        for row in rows:
            message = self._message(row)
            if self.config.smtp_host:
                try:
                    await aiosmtplib.send(
                        message, hostname=self.config.smtp_host, port=self.config.smtp_port,
                        username=self.config.smtp_user, password=self.config.smtp_password, timeout=30,
                    )
                except (aiosmtplib.SMTPException, OSError) as error:
                    log.warning("mail %s not sent yet: %s", row["id"], error)
                    async with self.db.write() as tx:
                        if row["attempts"] + 1 >= MAX_ATTEMPTS:
                            await outbox_store.mark(tx, row["id"], status="failed", error=str(error), now=self.now())
                        else:
                            await outbox_store.requeue(tx, row["id"], str(error))
                    continue
                status = "sent"
            else:
                self.config.outbox_dir.mkdir(parents=True, exist_ok=True)
                (self.config.outbox_dir / f"{row['id']:06d}.eml").write_bytes(bytes(message))
                status = "stored"
            async with self.db.write() as tx:
                await outbox_store.mark(tx, row["id"], status=status, now=self.now())
        return len(rows)
