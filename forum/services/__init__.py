"""Use cases: each checks the policy, makes its change in one write transaction, and appends
the events users watch inside that same transaction. No HTTP, no HTML."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from forum.cache import GenerationCache
from forum.config import Config
from forum.db import Database
from forum.files import FileStore
from forum.limits import RateLimiter
from forum.mail import Mailer


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    db: Database
    config: Config
    mailer: Mailer
    clock: Callable[[], datetime] = system_clock
    sessions: GenerationCache | None = None  # token hash → session user, until the next write
    reads: GenerationCache | None = None     # hot page reads (a thread, a group's first page)
    limiter: RateLimiter | None = None
    # new posts wait in search_queue for their index entry (forum/services/search_index.py);
    # True at start, so a queue an earlier run left is written before the first search
    search_queued: bool = True
    search_queue_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one writer of the queue at a time
    files: FileStore | None = None           # uploaded documents (forum/files/)
    last_file_sweep: float | None = None     # monotonic time of the last sweep of unnamed files
    extract_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one reader of documents' words at a time

    def __post_init__(self):
        if self.sessions is None:
            self.sessions = GenerationCache(self.db, max_entries=10_000)
        if self.reads is None:
            self.reads = GenerationCache(self.db, max_entries=self.config.read_cache_entries)
        if self.limiter is None:
            self.limiter = RateLimiter(self.config.limits)
        if self.files is None:
            self.files = FileStore(self.config.files_dir, self.config.upload_max_bytes)

    async def cached_read(self, key, load, *, ignoring: str | None = None):
        """`load(conn)` through the read cache: the result is reused until the next write (one
        outside the area `load` ignores, see forum/cache.py). The caller still applies the
        policy to what comes back, for every request."""
        async def read():
            async with self.db.read() as conn:
                return await load(conn)
        return await self.reads.get_or_load(key, read, ignoring=ignoring)

    def now(self) -> str:
        return iso(self.clock())

    def later(self, **delta) -> str:
        return iso(self.clock() + timedelta(**delta))
