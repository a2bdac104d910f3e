"""Bounded memory: the cache of rendered posts belongs to the app and is bounded by bytes, so
rendering many large distinct posts neither grows it past its bound nor grows the process."""
from __future__ import annotations

import os
import resource
from dataclasses import replace

from aiohttp import web

from forum.app import create_app
from forum.web.fragment_cache import ENTRY_OVERHEAD, FragmentCache, fragment_cache_key
from forum.web.templating import fragment

MB = 1024 * 1024
POST_BYTES = 40_000


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _article(request: web.Request, post_id: int, body: str, edited_at=None):
    return fragment(request, "post_article.html", indent=0, id=post_id, parent_id=None, depth=0, author_id=1,
                    author_name="Anna", author_photo=None, created_at="2026-11-28T09:00:00.000000Z", edited_at=edited_at,
                    deleted_at=None, body_html=body, hidden_at=None, reply_to_id=None, reply_to_name=None)


def _add_render_route(app: web.Application) -> None:
    """A route that renders posts start..start+count through the real fragment() in a real
    request, each with its own large body (the pages call fragment() the same way)."""
    async def render_posts(request: web.Request) -> web.Response:
        start, count = int(request.query["start"]), int(request.query["count"])
        size = 0
        for post_id in range(start, start + count):
            body = f"<p>{post_id}</p>" + os.urandom(POST_BYTES // 2).hex()
            html = _article(request, post_id, body, edited_at=request.query.get("edited"))
            assert body in html
            size += len(html)
        return web.json_response({"bytes": size})

    app.router.add_get("/_test/render", render_posts)


async def test_many_large_posts_stay_within_the_cache_bound(aiohttp_client, config, clock):
    app = create_app(replace(config, fragment_cache_bytes=8 * MB), clock=clock)
    _add_render_route(app)
    client = await aiohttp_client(app)
    cache = app[fragment_cache_key]
    assert (await client.get("/_test/render", params={"start": 0, "count": 20})).status == 200
    baseline = _rss()

    rendered = 0
    for start in range(0, 2000, 100):  # 2000 distinct posts, about 80 MB of rendered text in all
        response = await client.get("/_test/render", params={"start": 10_000 + start, "count": 100})
        assert response.status == 200
        rendered += (await response.json())["bytes"]
        assert cache.total_bytes <= 8 * MB

    assert rendered > 76 * MB
    assert 8 * MB - (2 * POST_BYTES + ENTRY_OVERHEAD) * 2 < cache.total_bytes <= 8 * MB  # full, never over
    assert len(cache) < 8 * MB // POST_BYTES
    growth = _rss() - baseline
    # Unbounded, the renderings alone grow the process by some 80 MB here (the old lru_cache kept
    # every body in its keys as well); bounded at 8 MB it grows by about 10.
    assert growth < 40 * MB, f"RSS grew by {growth / MB:.1f} MB"


async def test_an_edited_post_is_a_new_entry_and_the_newest_is_kept(aiohttp_client, config, clock):
    app = create_app(config, clock=clock)
    seen = {}

    async def render(request: web.Request) -> web.Response:
        seen["first"] = _article(request, 7, "<p>eerste versie</p>")
        seen["again"] = _article(request, 7, "<p>eerste versie</p>")
        seen["edited"] = _article(request, 7, "<p>tweede versie</p>", edited_at="2026-11-28T10:00:00.000000Z")
        return web.Response(text="ok")

    app.router.add_get("/_test/edit", render)
    client = await aiohttp_client(app)
    assert (await client.get("/_test/edit")).status == 200
    cache = app[fragment_cache_key]
    assert len(cache) == 2
    assert seen["again"] is seen["first"]  # served from the cache
    assert "tweede versie" in seen["edited"] and "eerste versie" not in seen["edited"]
    for key, (rendered, size) in cache._entries.items():  # the values are the key, and they count
        assert key[0] == "post_article.html" and key[1] == "nl"
        body = dict(key[2])["body_html"]
        assert size >= len(rendered) + len(body)


async def test_two_apps_do_not_share_the_cache(aiohttp_client, config, clock, tmp_path):
    first = create_app(config, clock=clock)
    second = create_app(replace(config, data_dir=tmp_path / "other"), clock=clock)
    for app in (first, second):
        _add_render_route(app)
    assert first[fragment_cache_key] is not second[fragment_cache_key]
    one, two = await aiohttp_client(first), await aiohttp_client(second)
    assert (await one.get("/_test/render", params={"start": 1, "count": 5})).status == 200
    assert len(first[fragment_cache_key]) == 5 and len(second[fragment_cache_key]) == 0
    assert (await two.get("/_test/render", params={"start": 1, "count": 2})).status == 200
    assert len(first[fragment_cache_key]) == 5 and len(second[fragment_cache_key]) == 2


def test_the_cache_evicts_least_recently_used_by_bytes():
    cache = FragmentCache(max_bytes=3 * (ENTRY_OVERHEAD + 1100))
    for name in "abc":
        cache.put((name,), "x" * 1000)
    cache.get(("a",))  # a is now the most recently used
    cache.put(("d",), "y" * 1000)
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None and cache.get(("d",)) is not None
    assert cache.total_bytes <= cache.max_bytes
    cache.put(("huge",), "z" * cache.max_bytes)  # larger than the whole cache: not kept, nothing evicted
    assert cache.get(("huge",)) is None and len(cache) == 3
    off = FragmentCache(max_bytes=0)
    off.put(("a",), "x")
    assert len(off) == 0 and off.total_bytes == 0


def test_assembled_values_are_reused_while_their_sources_are_the_same_objects():
    cache = FragmentCache(max_bytes=MB, max_assemblies=2)
    posts, builds = [1, 2], []

    def build():
        builds.append(1)
        return ["gebouwd"]

    first = cache.assembled(("thread", "nl"), (posts,), build)
    assert cache.assembled(("thread", "nl"), (posts,), build) is first and len(builds) == 1
    assert cache.assembled(("thread", "nl"), ([1, 2],), build) is not first  # an equal but new list: rebuilt
    for n in range(3):
        cache.assembled(("other", n), (posts,), build)
    assert len(cache._assemblies) == 2
