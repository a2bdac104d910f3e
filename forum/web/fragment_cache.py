"""The app's cache of rendered page pieces (a post's article, a thread row), bounded by bytes.

A fragment depends only on its template, the language and the values passed in, so the key is
(template, locale, the values themselves): exact (a dict compares keys for equality, so no
collision can show one post's words in another's place), cheap (strings from the read cache
carry their hash), and an edited post (new body, new edited_at) is simply a new key. The
values count towards the byte bound with the rendered text. Old versions are never looked up again and
fall off the least-recently-used end. Each app has its own cache, so two apps in one process
(tests, benchmarks) never see each other's pages.
"""
from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any, Callable

from aiohttp import web
from markupsafe import Markup

# What an entry costs beyond its text and values: the key tuples, the OrderedDict node, the
# Markup object header. Counted so that many tiny fragments are bounded too.
ENTRY_OVERHEAD = 256


def key_size(values: tuple) -> int:
    """Bytes the values of a key hold (the key keeps them alive as long as the entry lives)."""
    return sum(sys.getsizeof(value) for _, value in values)


class FragmentCache:
    def __init__(self, max_bytes: int, max_assemblies: int = 256):
        self.max_bytes = max_bytes
        self.total_bytes = 0
        self._entries: OrderedDict[tuple, tuple[Markup, int]] = OrderedDict()
        self.max_assemblies = max_assemblies
        self._assemblies: OrderedDict[tuple, tuple[tuple, Any]] = OrderedDict()
        self.hits = self.misses = 0  # for /metrics

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple) -> Markup | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[0]

    def put(self, key: tuple, value: Markup, key_bytes: int = 0) -> None:
        size = sys.getsizeof(value) + key_bytes + ENTRY_OVERHEAD
        if size > self.max_bytes:
            return  # would not fit even alone (or the cache is off): render it each time
        old = self._entries.pop(key, None)
        if old is not None:
            self.total_bytes -= old[1]
        self._entries[key] = (value, size)
        self.total_bytes += size
        while self.total_bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.total_bytes -= dropped

    def assembled(self, key: tuple, sources: tuple, build: Callable[[], Any]) -> Any:
        """A value built from fragments (a thread's posts in page order, a group's rows), reused
        while the very same source objects come back: the read cache hands out one object per
        version of the data, so identity means "unchanged". Per app and bounded in count, for
        the pages that would otherwise keep such lists in a module-level dict."""
        key = (key, tuple(id(source) for source in sources))
        hit = self._assemblies.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], sources)):  # ids are reused
            self._assemblies.move_to_end(key)
            return hit[1]
        value = build()
        self._assemblies[key] = (sources, value)
        while len(self._assemblies) > self.max_assemblies:
            self._assemblies.popitem(last=False)
        return value


fragment_cache_key = web.AppKey("fragment_cache", FragmentCache)
