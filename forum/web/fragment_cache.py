"""The app's cache of rendered page pieces (a post's article, a thread row), bounded by bytes.

A fragment depends only on its template, the language and the values passed in, so the key is
(template, locale, digest of the values): small however long a post is, and an edited post
(new body, new edited_at) is simply a new key. Old versions are never looked up again and
fall off the least-recently-used end. Each app has its own cache, so two apps in one process
(tests, benchmarks) never see each other's pages.
"""
from __future__ import annotations

import hashlib
import sys
from collections import OrderedDict
from typing import Any, Callable

from aiohttp import web
from markupsafe import Markup

# What an entry costs beyond its text: the key tuple and its 16-byte digest, the OrderedDict
# node, the Markup object header. Counted so that many tiny fragments are bounded too.
ENTRY_OVERHEAD = 256


def values_digest(values: dict) -> bytes:
    """A collision-resistant name for a set of values: a wrong hit would show one post's words
    in another's place, so Python's 64-bit hash() is not enough. repr() is exact and stable for
    what fragments are given (str, int, bool, None, Markup)."""
    return hashlib.blake2b(repr(tuple(values.items())).encode("utf-8", "surrogatepass"), digest_size=16).digest()


class FragmentCache:
    def __init__(self, max_bytes: int, max_assemblies: int = 256):
        self.max_bytes = max_bytes
        self.total_bytes = 0
        self._entries: OrderedDict[tuple, tuple[Markup, int]] = OrderedDict()
        self.max_assemblies = max_assemblies
        self._assemblies: OrderedDict[tuple, tuple[tuple, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple) -> Markup | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: tuple, value: Markup) -> None:
        size = sys.getsizeof(value) + ENTRY_OVERHEAD
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
