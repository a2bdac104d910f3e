"""Between processes: the wake-up bus. Several server processes on one database each keep their
own websockets and caches; when one of them commits, the others must read the event log and drop
what they cached. The database stays the one source of truth: the bus only says "the site has
had N commits" (forum/db.py counts them in site_commits), and it carries presence and typing,
which are never logged. A lost message costs latency, never an event: every process also reads
the commit count on a short timer (POLL_SECONDS).

One process alone needs none of this: LocalBus keeps everything in the process, as before.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from typing import Awaitable, Callable

from forum.db import Database

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0         # the longest a missed wake-up can delay delivery and cache renewal
RECONNECT_SECONDS = 1.0    # between attempts to reach Redis again
PRESENCE_REFRESH_SECONDS = 20
PRESENCE_STALE_SECONDS = 60  # a process that stopped refreshing (killed) no longer counts its readers

# (channel, readers site-wide) for the hub's presence frames; (channel, frame text) for typing
PresenceHandler = Callable[[str], None]
TypingHandler = Callable[[str, str], Awaitable[None]]


class LocalBus:
    """One process: commits wake the hub directly (forum/db.py's listeners), presence counts
    this process's sockets."""

    shared = False

    async def start(self, db: Database, on_presence: PresenceHandler, on_typing: TypingHandler) -> None:
        pass

    async def stop(self) -> None:
        pass

    def announce(self) -> None:
        pass

    def set_readers(self, channel: str, users: set[int], anonymous: int) -> None:
        pass

    async def readers(self, channel: str, users: set[int], anonymous: int) -> int:
        return len(users) + anonymous

    def typing(self, channel: str, text: str) -> None:
        pass


def site_prefix(secret_key: str) -> str:
    """Redis keys and channels of one site: processes of one site share its secret key, and two
    sites on one Redis (or two test runs) never hear each other."""
    return "forum:" + hashlib.sha256(("bus:" + secret_key).encode()).hexdigest()[:16]


class RedisBus:
    """Several processes: wake-ups, presence and typing over Redis pub/sub (redis-py's asyncio
    client), and a timer that reads the commit count in case a wake-up was lost."""

    shared = True

    def __init__(self, url: str, secret_key: str, poll_seconds: float = POLL_SECONDS):
        import redis.asyncio as redis  # only sites with several processes need the package loaded

        self._redis = redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=10)
        self.prefix = site_prefix(secret_key)
        self.process = secrets.token_hex(8)
        self.poll_seconds = poll_seconds
        self._db: Database | None = None
        self._on_presence: PresenceHandler | None = None
        self._on_typing: TypingHandler | None = None
        self._announced = 0
        self._outgoing = asyncio.Event()
        self._check = asyncio.Event()  # read the commit count now, not at the next tick
        self._typing_out: list[tuple[str, str]] = []
        self._presence_out: dict[str, str] = {}       # channel → this process's readers, to store
        self._local_readers: dict[str, str] = {}      # what this process has stored, refreshed
        self._tasks: list[asyncio.Task] = []
        self.connected = asyncio.Event()             # subscribed (tests wait for it)

    @property
    def _commits(self) -> str:
        return self.prefix + ":commits"

    @property
    def _presence(self) -> str:
        return self.prefix + ":presence"

    @property
    def _typing(self) -> str:
        return self.prefix + ":typing"

    def _presence_key(self, channel: str) -> str:
        return f"{self.prefix}:readers:{channel}"

    async def start(self, db: Database, on_presence: PresenceHandler, on_typing: TypingHandler) -> None:
        self._db, self._on_presence, self._on_typing = db, on_presence, on_typing
        self._announced = db.site_commits
        self._tasks = [asyncio.create_task(self._listen(), name="bus-listen"),
                       asyncio.create_task(self._send(), name="bus-send"),
                       asyncio.create_task(self._poll(), name="bus-poll"),
                       asyncio.create_task(self._refresh_presence(), name="bus-presence")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:  # readers of this process no longer count anywhere
            if self._local_readers:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel in self._local_readers:
                        pipe.hdel(self._presence_key(channel), self.process)
                        pipe.publish(self._presence, channel)
                    await pipe.execute()
        except Exception:
            log.warning("could not take this process's readers out of Redis", exc_info=True)
        await self._redis.aclose()

    # --- commits ------------------------------------------------------------------------

    def announce(self) -> None:
        """After a commit of this process (forum/db.py's listener): tell the others, soon. A
        burst of commits is told once, with the newest count."""
        if self._db is not None and self._db.site_commits > self._announced:
            self._outgoing.set()

    def _heard(self, count: int) -> None:
        """A count read from the database itself."""
        self._announced = max(self._announced, count)  # not told on again
        self._db.notice_commits(count)

    def _told(self, count: int) -> None:
        """Another process says the site has had `count` commits: a wake-up only. The count is
        read from the database, never taken from the message (one message with a huge number
        would otherwise make every real count old news, and delivery stop)."""
        if count > self._db.site_commits:
            self._check.set()

    async def _send(self) -> None:
        while True:
            await self._outgoing.wait()
            self._outgoing.clear()
            count = self._db.site_commits
            typing, self._typing_out = self._typing_out, []
            presence, self._presence_out = self._presence_out, {}
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    if count > self._announced:
                        pipe.publish(self._commits, json.dumps({"p": self.process, "n": count}))
                    for channel, text in typing:
                        pipe.publish(self._typing, json.dumps({"p": self.process, "c": channel, "f": text}))
                    for channel, readers in presence.items():
                        key = self._presence_key(channel)
                        if readers:
                            pipe.hset(key, self.process, readers)
                            pipe.expire(key, PRESENCE_STALE_SECONDS * 2)
                        else:
                            pipe.hdel(key, self.process)
                        pipe.publish(self._presence, channel)
                    await pipe.execute()
                self._announced = max(self._announced, count)
            except Exception as error:  # the others find the commits by their timer; typing is lost
                log.warning("could not reach Redis to announce a commit: %s", error)
                for channel, readers in presence.items():
                    self._presence_out.setdefault(channel, readers)  # sent with the next attempt
                await asyncio.sleep(RECONNECT_SECONDS)
                if presence:
                    self._outgoing.set()

    async def _poll(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.poll_seconds):
                    await self._check.wait()
            except TimeoutError:
                pass
            self._check.clear()
            try:
                self._heard(await self._db.read_site_commits())
            except Exception:
                log.exception("reading the site's commit count failed")

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._commits, self._presence, self._typing)
                    self.connected.set()
                    # what was said while nobody listened: read it now rather than at the next poll
                    self._heard(await self._db.read_site_commits())
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            await self._received(message["channel"].decode(), message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.connected.clear()
                log.warning("lost Redis (%s); reading the database every %.1f s meanwhile", error, self.poll_seconds)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _received(self, channel: str, data: bytes) -> None:
        try:
            if channel == self._presence:
                self._on_presence(data.decode())
                return
            message = json.loads(data)
            if message.get("p") == self.process:
                return
            if channel == self._commits:
                self._told(int(message["n"]))
            elif channel == self._typing:
                await self._on_typing(str(message["c"]), str(message["f"]))
        except Exception:  # one bad message must not stop the listening
            log.exception("could not handle a message on %s", channel)

    # --- presence and typing ------------------------------------------------------------

    def set_readers(self, channel: str, users: set[int], anonymous: int) -> None:
        """This process's readers of a thread changed: store them for the others, and say so."""
        readers = json.dumps({"u": sorted(users), "a": anonymous, "t": time.time()}) if users or anonymous else ""
        if readers:
            self._local_readers[channel] = readers
        else:
            self._local_readers.pop(channel, None)
        self._presence_out[channel] = readers
        self._outgoing.set()

    async def readers(self, channel: str, users: set[int], anonymous: int) -> int:
        """Readers of a thread on every process: distinct accounts, plus sockets without one."""
        try:
            stored = await self._redis.hgetall(self._presence_key(channel))
        except Exception:
            return len(users) + anonymous  # Redis away: this process's count is the best known
        everyone, others_anonymous = set(users), 0
        fresh_after = time.time() - PRESENCE_STALE_SECONDS
        for process, value in stored.items():
            if process.decode() == self.process:
                continue
            try:
                readers = json.loads(value)
                if readers["t"] < fresh_after:
                    continue
                everyone.update(int(user) for user in readers["u"])
                others_anonymous += int(readers["a"])
            except (ValueError, KeyError, TypeError):
                continue
        return len(everyone) + anonymous + others_anonymous

    def typing(self, channel: str, text: str) -> None:
        self._typing_out.append((channel, text))
        self._outgoing.set()

    async def _refresh_presence(self) -> None:
        """Keep this process's readers fresh in Redis without telling anyone: the counts have
        not changed, only the proof that this process still lives."""
        while True:
            await asyncio.sleep(PRESENCE_REFRESH_SECONDS)
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, readers in list(self._local_readers.items()):
                        value = json.loads(readers)
                        value["t"] = time.time()
                        self._local_readers[channel] = json.dumps(value)
                        pipe.hset(self._presence_key(channel), self.process, self._local_readers[channel])
                        pipe.expire(self._presence_key(channel), PRESENCE_STALE_SECONDS * 2)
                    await pipe.execute()
            except Exception as error:
                log.warning("could not refresh this process's readers in Redis: %s", error)
