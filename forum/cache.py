"""Small in-process caches that are right by construction: every entry remembers the database
generation (the count of commits this process has made) it was computed at, and is ignored
once anything has been written since. No entry can outlive the data it was built from.
An entry whose value reads nothing of an area (forum/db.py's AREAS, e.g. the library) may say
so, and then stays while only that area is written.

This holds while one process does all the writing. When several processes share a database
(see ARCHITECTURE.md, "Growing past one machine"), the generation has to come from the shared
event log instead: that is the one place to change.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Hashable

from forum.db import Database

_MISSING = object()


class GenerationCache:
    """Bounded by a count of entries and, given `size_of` (a value's size in bytes), by their
    bytes too: a count alone let visitors fill the pages' cache with query variants of one
    large page (2,000 copies of 800 KB: 1.7 GB; attacker review)."""

    def __init__(self, db: Database, max_entries: int, *, max_bytes: int | None = None,
                 size_of: Callable[[Hashable, Any], int] | None = None):
        self.db = db
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size_of = size_of
        self.total_bytes = 0
        self._entries: OrderedDict[Hashable, tuple[str | None, int, Any, int]] = OrderedDict()
        self._loading: dict[Hashable, asyncio.Future] = {}
        self.hits = self.misses = 0  # for /metrics

    def get(self, key: Hashable, default: Any = None, *, miss_counted: bool = True) -> Any:
        """The value kept under `key`, or `default`. `miss_counted=False`: a first look whose
        miss is counted by the lookup that follows it (the front door's, forum/web/page_cache.py)."""
        entry = self._entries.get(key, _MISSING)
        if entry is _MISSING:
            self.misses += miss_counted
            return default
        area, generation, value, size = entry
        if generation != self.db.generation_outside(area):
            del self._entries[key]
            self.total_bytes -= size
            self.misses += miss_counted
            return default
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Hashable, value: Any, generation: int, *, ignoring: str | None = None) -> None:
        """Store a value computed from data read at `generation`, which is
        `db.generation_outside(ignoring)` read before computing."""
        if generation != self.db.generation_outside(ignoring) or self.max_entries <= 0:
            return  # something was written meanwhile: the value may already be stale
        size = self._size_of(key, value) if self._size_of is not None else 0
        if self.max_bytes is not None and size > self.max_bytes:
            return  # never kept: it would push out everything else
        old = self._entries.pop(key, None)
        if old is not None:
            self.total_bytes -= old[3]
        self._entries[key] = (ignoring, generation, value, size)
        self.total_bytes += size
        while len(self._entries) > self.max_entries or (self.max_bytes is not None and
                                                         self.total_bytes > self.max_bytes):
            self.total_bytes -= self._entries.popitem(last=False)[1][3]

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[Any]], *,
                          ignoring: str | None = None) -> Any:
        """The cached value, or `load()`'s; callers that miss together share one load (after a
        write, a popular page would otherwise be read by every waiting request at once).
        `ignoring` an area: what `load` reads is none of that area's."""
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = asyncio.get_running_loop().create_future()
        self._loading[key] = pending
        try:
            generation = self.db.generation_outside(ignoring)
            value = await load()
            self.put(key, value, generation, ignoring=ignoring)
        except BaseException as error:
            pending.set_exception(error)
            pending.exception()  # retrieved: waiters get it, nobody else must
            raise
        else:
            pending.set_result(value)
            return value
        finally:
            del self._loading[key]
