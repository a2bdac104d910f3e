"""Outgoing mail: queued in the outbox table inside the caller's transaction, delivered after
commit by a background task. With FORUM_SMTP_HOST set it goes out through SMTP; without it,
each message is written as an .eml file (mode 0600) under the data directory and kept for
admins to read.

What is promised, and no more: a mail is written to the outbox exactly once, in the transaction
of the change that causes it (if that change rolls back, there is no mail). Delivery by SMTP is
at-least-once: if the process dies after the server accepted a message but before its row is
marked sent, it is sent again on the next start. A message that cannot be built or sent is
retried with growing pauses (one minute, doubling, at most six hours); after MAX_ATTEMPTS it is
marked 'failed' with its last error, shown to admins, who can put it back in the queue. One bad
message never holds up the others: each is tried on its own.
"""
from __future__ import annotations

import asyncio
import email.policy
import json
import logging
import os
import re
from datetime import datetime, timedelta, timezone
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

import aiosmtplib

from forum.config import Config
from forum.db import Database
from forum.store import outbox as outbox_store

log = logging.getLogger(__name__)

RETRY_SECONDS = 30          # the delivery loop looks for due mail at least this often
BACKOFF_FIRST = 60          # seconds before the first retry; doubled after each failure
BACKOFF_MOST = 6 * 3600
MAX_ATTEMPTS = 12           # about a day of retries before a mail is 'failed'
BATCHES = 100               # rounds of BATCH per delivery call, so a backlog drains without running forever
BATCH = 10
# With several processes a batch is taken for this long (forum/store/outbox.py claim_queued):
# longer than its sending can take (BATCH mails, SEND_SECONDS each), so two processes never
# send one mail; a process that dies mid-batch leaves it to be sent by another after this.
CLAIM = timedelta(minutes=10)
SEND_SECONDS = 45

# Line breaks in a header value would end the header (and start one an attacker chose); the
# email package refuses them, so they are turned into a space. str.splitlines() also breaks on
# \x0b \x0c \x1c-\x1e \x85 \u2028 \u2029, which the email package refuses in the same way.
_BREAKS = re.compile(r"\s*[\x00-\x1f\x7f-\x9f\u2028\u2029]+\s*")
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322: printable ASCII except the colon
_ADDRESS = re.compile(r"[^@\s<>\",;:()\[\]]+@[^@\s<>\",;:()\[\]]+")
# the Mailer writes these itself; a caller's copy would double them or redirect the mail
_OWN_HEADERS = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version",
                "content-type", "content-transfer-encoding", "sender"}


def clean_header(value) -> str:
    """One line of text: runs of line breaks, tabs and other control characters become a space."""
    return _BREAKS.sub(" ", str(value)).strip()


class _Verbatim(UnstructuredHeader):
    """List-* headers carry <URL>s that mail clients read literally (RFC 2369, RFC 8058): the
    email package would RFC 2047-encode a long one, and clients could no longer use it."""

    def fold(self, *, policy):
        line = f"{self.name}: {self}"
        if line.isascii() and len(line) <= 998:  # RFC 5322's hard limit for a line
            return line + policy.linesep
        return super().fold(policy=policy)


def _policy() -> email.policy.EmailPolicy:
    registry = HeaderRegistry()
    for name in ("list-unsubscribe", "list-unsubscribe-post", "list-id", "list-help", "list-post",
                 "list-archive", "list-owner", "list-subscribe"):
        registry.map_to_type(name, _Verbatim)
    return email.policy.SMTP.clone(header_factory=registry)


POLICY = _policy()


def backoff(attempts: int) -> timedelta:
    """The pause after the given number of failed attempts."""
    return timedelta(seconds=min(BACKOFF_MOST, BACKOFF_FIRST * 2 ** max(0, min(attempts - 1, 20))))


def build(row, mail_from: str) -> tuple[str, bytes]:
    """(recipient, the message as bytes) of an outbox row; ValueError & co. if it cannot be built."""
    to = clean_header(row["to_addr"])
    if not _ADDRESS.fullmatch(to):
        raise ValueError("recipient address is not usable")
    message = EmailMessage(policy=POLICY)
    message["From"] = clean_header(mail_from)
    message["To"] = to
    message["Subject"] = clean_header(row["subject"])
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="forum")
    headers = json.loads(row.get("headers") or "{}")
    if not isinstance(headers, dict):
        raise TypeError("extra headers are not a mapping")
    for name, value in headers.items():
        name = clean_header(name)
        if not _FIELD_NAME.fullmatch(name) or name.lower() in _OWN_HEADERS:
            raise ValueError(f"header name {name!r} cannot be used")
        message[name] = clean_header(value)
    message.set_content(row["body_text"])
    if row.get("body_html"):
        message.add_alternative(row["body_html"], subtype="html")
    return to, bytes(message)


def _write_private(directory: Path, name: str, data: bytes) -> None:
    """Write a file only the forum's user can read, whole or not at all."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)  # a directory made by an older version may be wider
    partial = directory / f".{name}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a leftover partial file keeps its old mode otherwise
        with os.fdopen(fd, "wb") as file:
            fd = -1
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    finally:
        if fd != -1:
            os.close(fd)
    os.replace(partial, directory / name)


class Mailer:
    def __init__(self, config: Config, db: Database, now):
        self.config = config
        self.db = db
        self.now = now
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        # one round at a time: the loop and a direct call (shutdown, tests) would read the same
        # queued rows and send each twice
        self._round = asyncio.Lock()
        self.sent = 0    # by this process: sent by SMTP, or written to the outbox directory (/metrics)
        self.failed = 0  # attempts that failed (each is retried until MAX_ATTEMPTS)

    async def queue(self, tx, *, to: str, subject: str, body: str, html: str = "",
                    headers: dict | None = None) -> int:
        """Queue a mail in the caller's write transaction: it goes out only if that commits."""
        headers = {clean_header(name): clean_header(value) for name, value in (headers or {}).items()}
        return await outbox_store.insert(tx, to_addr=clean_header(to), subject=clean_header(subject),
                                         body_text=body, body_html=html, headers=headers, now=self.now())

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
            except Exception:  # e.g. the database is unreachable: the mail stays queued for the next round
                log.exception("mail delivery round failed")

    async def deliver_queued(self) -> int:
        """Try every mail that is due, each on its own; returns how many were tried."""
        tried = 0
        async with self._round:
            for _ in range(BATCHES):
                now = self.now()
                claimed_until = None
                if self.db.shared:
                    claimed_until = _format(_parse(now) + CLAIM)
                    # invisible: taking mail changes nothing anyone reads, so no cache is voided
                    async with self.db.write(visible=False) as tx:
                        rows = await outbox_store.claim_queued(tx, now, claimed_until, BATCH)
                else:  # the only process: nobody else sends, and a claim would hold mail a crash left for CLAIM
                    async with self.db.read() as conn:
                        rows = await outbox_store.queued(conn, now, BATCH)
                for row in rows:
                    await self._deliver(row, claimed_until)
                tried += len(rows)
                if len(rows) < BATCH:
                    break
        return tried

    async def _deliver(self, row, claimed_until: str | None) -> None:
        try:
            to, data = build(row, self.config.mail_from)
            if self.config.smtp_host:
                # bounded as a whole (aiosmtplib's timeout is per command): BATCH of these end
                # well inside CLAIM, so no other process takes a mail this one is still sending
                async with asyncio.timeout(SEND_SECONDS):
                    await aiosmtplib.send(
                        data, sender=parseaddr(self.config.mail_from)[1] or self.config.mail_from, recipients=[to],
                        hostname=self.config.smtp_host, port=self.config.smtp_port,
                        username=self.config.smtp_user, password=self.config.smtp_password, timeout=30,
                    )
                status = "sent"
            else:
                await asyncio.to_thread(_write_private, self.config.outbox_dir, f"{row['id']:06d}.eml", data)
                status = "stored"
        # building (ValueError, TypeError, UnicodeError, email.errors.MessageError), sending
        # (aiosmtplib.SMTPException, OSError), writing the file, or a surprise: none may stop the queue
        except Exception as error:
            await self._failed(row, f"{type(error).__name__}: {error}"[:500], claimed_until)
            return
        async with self.db.write() as tx:
            ours = await outbox_store.mark(tx, row["id"], status=status, now=self.now(), claimed_until=claimed_until)
        self.sent += 1
        if not ours:
            _lapsed(row["id"])

    async def _failed(self, row, error: str, claimed_until: str | None) -> None:
        self.failed += 1
        attempts = row["attempts"] + 1
        now = self.now()
        async with self.db.write() as tx:
            if attempts >= MAX_ATTEMPTS:
                ours = await outbox_store.mark(tx, row["id"], status="failed", error=error, now=now,
                                               claimed_until=claimed_until)
            else:
                due = _parse(now) + backoff(attempts)
                ours = await outbox_store.requeue(tx, row["id"], error, _format(due), claimed_until=claimed_until)
        if not ours:
            _lapsed(row["id"])
            return
        # the error names what failed, never the message's words
        log.warning("mail %s failed (attempt %d of %d)%s: %s", row["id"], attempts, MAX_ATTEMPTS,
                    "; giving up" if attempts >= MAX_ATTEMPTS else "; will retry", error)


def _lapsed(mail_id: int) -> None:
    # this process stalled past its claim (CLAIM): another may have taken the mail meanwhile,
    # and what that one made of it stands
    log.warning("mail %s: the claim ran out before its outcome was written; another process may"
                " have sent it as well", mail_id)


def _parse(moment: str) -> datetime:
    return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _format(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
