"""Bounded memory: the cache of rendered posts belongs to the app and is bounded by bytes, so
rendering many large distinct posts neither grows it past its bound nor grows the process; and
an idle subscribed websocket costs a real server process at most 12 KB (issue 14)."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import struct
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
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


# --- websockets in a real server process ----------------------------------------------------

SOCKETS = 2000
SOCKET_BOUND = 12 * 1024  # bytes of server RSS per idle subscribed socket (issue 14)


def _server_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class _Watcher(asyncio.Protocol):
    """A websocket client as small as can be (this process's memory is not measured, but
    thousands of aiohttp clients would be slow to open): handshake, one masked subscribe frame,
    then it waits for "subscribed" and reads nothing else."""

    def __init__(self, request: bytes, subscribe: bytes, ready: asyncio.Future, left: list[int]):
        self.request, self.subscribe, self.ready, self.left = request, subscribe, ready, left
        self.seen, self.done, self.transport = b"", False, None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.done:
            return
        self.seen += data
        if self.seen.startswith(b"HTTP/1.1 101") and b"\r\n\r\n" in self.seen and self.subscribe:
            self.seen, subscribe, self.subscribe = self.seen.split(b"\r\n\r\n", 1)[1], self.subscribe, b""
            self.transport.write(subscribe)
        if b'"type":"subscribed"' in self.seen:
            self.done, self.seen = True, b""
            self.left[0] -= 1
            if not self.left[0] and not self.ready.done():
                self.ready.set_result(None)


async def _open_watchers(port: int, channel: str, count: int, cookie: str = "") -> list[_Watcher]:
    loop = asyncio.get_running_loop()
    request = (f"GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
               f"Sec-WebSocket-Version: 13\r\n{cookie}\r\n").encode()
    payload, mask = json.dumps({"type": "subscribe", "channels": [channel]}).encode(), os.urandom(4)
    subscribe = (struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask
                 + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload)))
    watchers = []
    for start in range(0, count, 250):  # in waves, so the listen backlog is not flooded
        wave, ready = min(250, count - start), loop.create_future()
        left = [wave]
        made = await asyncio.gather(*[loop.create_connection(lambda: _Watcher(request, subscribe, ready, left),
                                                             "127.0.0.1", port) for _ in range(wave)])
        await asyncio.wait_for(ready, 30)
        watchers += [watcher for _, watcher in made]
    return watchers


@pytest.mark.parametrize("who", ["visitors", "members"])
async def test_an_idle_subscribed_socket_costs_the_server_at_most_12_kb(tmp_path, who):
    """Server RSS growth over 2,000 sockets on a fresh server process, as bench/bench_live.py
    measures it over 5,000 (a handful of one-time costs weigh a little more here): visitors'
    sockets, or members', each of which holds its own account. A closed socket leaves nothing
    behind: opening as many again, the server grows by no more than the allocator's slack."""
    from tests.test_crash import free_port, member, wait_up
    from tests.test_processes import start_server, stop

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 2 * SOCKETS + 200, f"the open-file limit ({hard}) is too low for this test"
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    port = free_port()
    server = start_server(tmp_path, port, None)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await wait_up(session, f"http://127.0.0.1:{port}")
            headers = await member(session, f"http://127.0.0.1:{port}", "lid@example.nl", "Lid")
            async with session.post(f"http://127.0.0.1:{port}/api/v1/groups/2/threads", headers=headers,
                                    json={"title": "Geheugen", "body": "start"}) as response:
                channel = f"thread:{(await response.json())['thread']['id']}"
            cookie = "Cookie: " + "; ".join(f"{c.key}={c.value}" for c in session.cookie_jar) + "\r\n"
        cookie = cookie if who == "members" else ""
        for watcher in await _open_watchers(port, channel, 20, cookie):  # one-time costs: first handshakes, frames
            watcher.transport.close()
        await asyncio.sleep(1.5)
        before = _server_rss(server.pid)
        watchers = await _open_watchers(port, channel, SOCKETS, cookie)
        await asyncio.sleep(1.5)  # presence frames sent, buffers settled
        peak = _server_rss(server.pid)
        per_socket = (peak - before) / SOCKETS
        assert per_socket <= SOCKET_BOUND, f"{per_socket / 1024:.1f} KB per idle socket"
        for watcher in watchers:
            watcher.transport.close()
        await asyncio.sleep(1.5)
        watchers = await _open_watchers(port, channel, SOCKETS, cookie)
        await asyncio.sleep(1.5)
        regrowth = (_server_rss(server.pid) - peak) / SOCKETS
        # a socket's objects left behind would be some 4 KB each; the allocator's slack is under 1
        assert regrowth <= 1536, f"closed sockets left {regrowth / 1024:.1f} KB each behind"
        for watcher in watchers:
            watcher.transport.close()
        print(f"{who}: {per_socket / 1024:.1f} KB per idle socket, {regrowth / 1024:.2f} KB regrowth")
    finally:
        stop(server)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
