"""The live layer: delivery after commit, permission at delivery, gapless catch-up, presence
and typing, malformed frames, Origin, slow clients and shutdown."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import struct

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forum.keys import hub_key
from forum.live.socket import CLOSE_SESSION_ENDED
from tests.conftest import open_group


async def connect(user):
    return await user.client.ws_connect("/api/v1/live")


async def next_frame(ws, type_=None, kind=None, timeout=3.0):
    """The next frame of the given type (and event kind), skipping presence/typing noise."""
    while True:
        message = await asyncio.wait_for(ws.receive(), timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        data = json.loads(message.data)
        if (type_ is None or data["type"] == type_) and (kind is None or data.get("kind") == kind):
            return data


async def until(condition, seconds: float = 5.0) -> None:
    """Poll for a condition the test cannot be told of (hub state), up to a deadline."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition()


async def marker_thread(admin) -> int:
    """A thread in an open group: anyone may watch it, so any socket can receive a marker on it."""
    group = await open_group(admin, "Open voor iedereen")
    return (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Merk", "body": "x"},
                             expect=201))["thread"]["id"]


async def watch(ws, *channels: str) -> dict:
    await ws.send_json({"type": "subscribe", "channels": list(channels)})
    return await next_frame(ws, "subscribed")


async def nothing_before_marker(ws, writer, thread: int) -> None:
    """Post on a thread this socket watches and read up to that post's event, failing on any
    other event. The hub sends the log's events in order, so an event this socket must not
    get, written before the marker, would have arrived before it: no waiting and hoping."""
    marker = (await writer.post(f"/api/v1/threads/{thread}/posts", {"body": "merkteken"}, expect=201))["post"]["id"]
    event = await next_frame(ws, "event")
    assert event["kind"] == "post.created" and event["data"]["post"]["id"] == marker, event


@pytest.fixture
async def scene(admin, make_user):
    group = await open_group(admin, "Besloten", "closed")
    member = await make_user("Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    await admin.post(f"/api/v1/groups/{group['id']}/members/{member.id}/approve")
    created = await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Live", "body": "start"}, expect=201)
    return {"group": group["id"], "thread": created["thread"]["id"], "first_post": created["post"]["id"],
            "admin": admin, "member": member}


async def test_a_reply_arrives_live_with_its_place_in_the_tree(scene):
    ws = await connect(scene["member"])
    await ws.send_json({"type": "subscribe", "channels": [f"thread:{scene['thread']}"]})
    subscribed = await next_frame(ws, "subscribed")
    assert subscribed["channels"] == [f"thread:{scene['thread']}"]
    await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts",
                              {"body": "Hallo **live**", "parent_id": scene["first_post"]}, expect=201)
    event = await next_frame(ws, "event")
    assert event["kind"] == "post.created" and event["id"] > subscribed["last_event_id"]
    assert event["data"]["post"]["parent_id"] == scene["first_post"]
    assert "<strong>live</strong>" in event["data"]["post"]["body_html"]
    await ws.close()


async def test_renames_locks_and_pins_reach_thread_and_group_viewers(scene):
    thread_ws, group_ws = await connect(scene["member"]), await connect(scene["member"])
    await thread_ws.send_json({"type": "subscribe", "channels": [f"thread:{scene['thread']}"]})
    await group_ws.send_json({"type": "subscribe", "channels": [f"group:{scene['group']}"]})
    await next_frame(thread_ws, "subscribed")
    await next_frame(group_ws, "subscribed")
    await scene["admin"].patch(f"/api/v1/threads/{scene['thread']}", {"title": "Nieuwe naam", "locked": True})
    for ws in (thread_ws, group_ws):
        event = await next_frame(ws, "event", "thread.updated")
        assert event["data"]["thread"]["title"] == "Nieuwe naam" and event["data"]["thread"]["locked"]
    await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "nog een"}, expect=201)
    moved = await next_frame(group_ws, "event", "thread.updated")
    assert moved["data"]["thread"]["reply_count"] == 1 and moved["data"]["thread"]["last_poster"]["id"]
    await thread_ws.close()
    await group_ws.close()


async def test_unreadable_channels_look_like_missing_ones(scene, make_user, anonymous):
    outsider = await make_user("Buiten")
    visitor = await anonymous()
    marker = await marker_thread(scene["admin"])
    for user in (outsider, visitor):
        ws = await connect(user)
        await watch(ws, f"thread:{marker}")
        await ws.send_json({"type": "subscribe", "channels": [f"thread:{scene['thread']}"]})
        secret = await next_frame(ws, "error")
        await ws.send_json({"type": "subscribe", "channels": ["thread:999999"]})
        missing = await next_frame(ws, "error")
        assert secret["code"] == missing["code"] == "not_found"
        assert {k: v for k, v in secret.items() if k != "channel"} == {k: v for k, v in missing.items() if k != "channel"}
        await ws.send_json({"type": "subscribe", "channels": [f"user:{scene['admin'].id}"]})
        assert (await next_frame(ws, "error"))["code"] == "not_found"
        await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "geheim"}, expect=201)
        await nothing_before_marker(ws, scene["admin"], marker)
        await ws.close()


async def test_removed_member_stops_receiving_at_once(scene):
    marker = await marker_thread(scene["admin"])
    ws = await connect(scene["member"])
    await watch(ws, f"thread:{scene['thread']}", f"group:{scene['group']}", f"thread:{marker}")
    await scene["admin"].delete(f"/api/v1/groups/{scene['group']}/members/{scene['member'].id}", {"reason": "afgerond"})
    await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "na verwijderen"}, expect=201)
    await nothing_before_marker(ws, scene["admin"], marker)
    await ws.close()


async def test_group_made_hidden_stops_delivery_to_outsiders(admin, make_user):
    group = await open_group(admin, "Open groep")
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "x"},
                               expect=201))["thread"]["id"]
    reader = await make_user("Lezer")
    marker = await marker_thread(admin)
    ws = await connect(reader)
    await watch(ws, f"thread:{thread}", f"thread:{marker}")
    await admin.patch(f"/api/v1/groups/{group['id']}", {"name": "Open groep", "visibility": "hidden"})
    await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "nu verborgen"}, expect=201)
    await nothing_before_marker(ws, admin, marker)
    await ws.close()


@pytest.mark.parametrize("how", ["suspend", "logout", "password"])
async def test_ended_sessions_close_their_sockets(scene, how):
    member = scene["member"]
    ws = await connect(member)
    await ws.send_json({"type": "subscribe", "channels": [f"thread:{scene['thread']}"]})
    await next_frame(ws, "subscribed")
    if how == "suspend":
        await scene["admin"].post(f"/api/v1/admin/users/{member.id}/suspend", {"reason": "test"})
    elif how == "logout":
        await member.post("/api/v1/logout")
    else:
        await member.post("/api/v1/me/password", {"current_password": "correct horse battery staple",
                                                  "new_password": "een heel nieuw wachtwoord"})
    message = await asyncio.wait_for(ws.receive(), 3)
    while message.type == aiohttp.WSMsgType.TEXT:
        message = await asyncio.wait_for(ws.receive(), 3)
    # (a password change gives this client a fresh session; the socket's old one has ended)
    assert ws.close_code == CLOSE_SESSION_ENDED


async def test_catch_up_has_no_gap_and_no_duplicate(scene):
    channel = f"thread:{scene['thread']}"
    ws = await connect(scene["member"])
    await ws.send_json({"type": "subscribe", "channels": [channel]})
    last_seen = (await next_frame(ws, "subscribed"))["last_event_id"]
    await ws.close()
    missed = []
    for n in range(5):
        missed.append((await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts", {"body": f"gemist {n}"},
                                                 expect=201))["post"]["id"])
    ws = await connect(scene["member"])
    await ws.send_json({"type": "subscribe", "channels": [channel], "last_event_id": last_seen})
    # replies keep coming while the replay runs
    during = asyncio.gather(*[scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts",
                                                  {"body": f"tijdens {n}"}, expect=201) for n in range(5)])
    received, ids = [], []
    await during
    while len(received) < 10:
        event = await next_frame(ws, "event")
        received.append(event["data"]["post"]["id"])
        ids.append(event["id"])
    await nothing_before_marker(ws, scene["admin"], scene["thread"])  # a duplicate would come before it
    assert received[:5] == missed and len(set(received)) == 10
    assert ids == sorted(ids)
    await ws.close()


class Watcher:
    """A reader that drops and resumes the way live.js does: from the newest event id it saw."""

    def __init__(self, user, channel: str, last_event_id: int):
        self.user, self.channel, self.last_event_id = user, channel, last_event_id
        self.ws = self.reader = None
        self.events: list[dict] = []

    async def resume(self) -> None:
        self.ws = await connect(self.user)
        await self.ws.send_json({"type": "subscribe", "channels": [self.channel],
                                 "last_event_id": self.last_event_id})
        self.reader = asyncio.ensure_future(self._read(self.ws))

    async def _read(self, ws) -> None:
        async for message in ws:
            data = json.loads(message.data)
            if data["type"] == "event":
                self.events.append(data)
                self.last_event_id = data["id"]
            assert data["type"] != "reset", data

    async def drop(self) -> None:
        await self.ws.close()
        await self.reader
        self.ws = None


STEPS = st.lists(st.sampled_from(["post", "drop", "resume", "resume_while_posting", "post_burst"]),
                 min_size=1, max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
async def test_catch_up_under_any_interleaving_of_posts_and_reconnects(scene, steps):
    """Whatever the order of posts, drops and resumes (also resumes racing with posts), the
    reader ends with every reply exactly once, in the order of the log."""
    admin, thread = scene["admin"], scene["thread"]
    start = (await admin.get(f"/api/v1/threads/{thread}"))["last_event_id"]
    watcher = Watcher(scene["member"], f"thread:{thread}", start)
    await watcher.resume()
    posted: list[int] = []

    async def post(n: int = 1) -> None:
        replies = await asyncio.gather(*[admin.post(f"/api/v1/threads/{thread}/posts", {"body": "stap"},
                                                    expect=201) for _ in range(n)])
        posted.extend(reply["post"]["id"] for reply in replies)

    for step in steps:
        if step == "post":
            await post()
        elif step == "post_burst":
            await post(3)
        elif step == "drop" and watcher.ws is not None:
            await watcher.drop()
        elif step == "resume" and watcher.ws is None:
            await watcher.resume()
        elif step == "resume_while_posting" and watcher.ws is None:
            await asyncio.gather(watcher.resume(), post(2))
    if watcher.ws is None:
        await watcher.resume()
    # a last reply marks the end: the log's order puts any duplicate or straggler before it
    marker = (await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "einde"}, expect=201))["post"]["id"]
    await until(lambda: any(event["data"]["post"]["id"] == marker for event in watcher.events))
    await watcher.drop()
    assert watcher.events[-1]["data"]["post"]["id"] == marker
    received = [event["data"]["post"]["id"] for event in watcher.events[:-1]]
    assert sorted(received) == sorted(posted) and len(received) == len(set(received))
    ids = [event["id"] for event in watcher.events]
    assert ids == sorted(ids)


async def test_reset_when_the_log_no_longer_reaches_back(scene, svc):
    channel = f"thread:{scene['thread']}"
    await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "x"}, expect=201)
    async with svc.db.write() as tx:
        await tx.execute("DELETE FROM events WHERE id < (SELECT MAX(id) FROM events)")
    ws = await connect(scene["member"])
    await ws.send_json({"type": "subscribe", "channels": [channel], "last_event_id": 1})
    assert await next_frame(ws, "reset") == {"type": "reset", "channel": channel}
    await ws.close()


async def test_trimming_keeps_the_younger_events_and_the_newest_count(scene, svc, clock):
    from dataclasses import replace
    from forum.services import live as live_service
    for n in range(5):  # old events, more of them than the young ones to come
        await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts", {"body": f"oud {n}"}, expect=201)
    async with svc.db.read() as conn:
        before = [r["id"] for r in await (await conn.execute("SELECT id FROM events ORDER BY id")).fetchall()]
    clock.advance(days=8)
    for n in range(3):  # young events
        await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts", {"body": f"jong {n}"}, expect=201)
    svc.config = replace(svc.config, events_keep_days=7, events_keep_count=len(before))
    await live_service.trim(svc)
    async with svc.db.read() as conn:
        after = [r["id"] for r in await (await conn.execute("SELECT id FROM events ORDER BY id")).fetchall()]
    young = after[-6:]  # each reply wrote a thread and a group event
    assert young[0] > before[-1]  # all six young events stayed
    # the old ones went, except as many as keep the log at `keep_count` events
    assert len(before) > 6 and len(after) == len(before) and after[0] > before[0]
    svc.config = replace(svc.config, events_keep_count=1000)
    clock.advance(days=30)
    await live_service.trim(svc)
    async with svc.db.read() as conn:
        kept = (await (await conn.execute("SELECT COUNT(*) AS n FROM events")).fetchone())["n"]
    assert kept == len(after)  # fewer than keep_count: nothing goes, however old


async def test_presence_and_typing(scene):
    channel = f"thread:{scene['thread']}"
    one, two = await connect(scene["member"]), await connect(scene["admin"])
    await one.send_json({"type": "subscribe", "channels": [channel]})
    await next_frame(one, "subscribed")
    await two.send_json({"type": "subscribe", "channels": [channel]})
    presence = await next_frame(one, "presence")
    while presence["readers"] != 2:
        presence = await next_frame(one, "presence")
    assert presence["channel"] == channel and presence["at"]
    await two.send_json({"type": "typing", "thread_id": scene["thread"]})
    typing = await next_frame(one, "typing")
    assert typing["user"]["display_name"] == "Beheerder" and typing["expires_in"] > 0
    await two.close()
    presence = await next_frame(one, "presence")
    assert presence["readers"] == 1
    await one.close()


async def test_malformed_frames_get_errors_and_the_socket_lives_on(scene):
    ws = await connect(scene["member"])
    for bad in ["{nope", "[1,2]", '"text"', '{"type": "dance"}', '{"type": "subscribe", "channels": "thread:1"}',
                '{"type": "subscribe", "channels": [{"a": 1}]}', '{"type": "subscribe", "channels": []}',
                '{"type": "subscribe", "channels": ["thread:1"], "last_event_id": "5"}',
                '{"type": "typing", "thread_id": [1]}', '{"type": "unsubscribe", "channels": [1]}']:
        await ws.send_str(bad)
        error = await next_frame(ws, "error")
        assert error["code"] == "bad_request" and error["message"]
    await ws.send_json({"type": "subscribe", "channels": [f"thread:{scene['thread']}"]})
    await next_frame(ws, "subscribed")
    await ws.send_json({"type": "subscribe", "channels": [f"group:{n}" for n in range(1, 101)]})
    assert "At most 100" in (await next_frame(ws, "error"))["message"]  # 101 per connection is too many
    await ws.send_str("x" * (64 * 1024 + 1))
    message = await asyncio.wait_for(ws.receive(), 3)
    while message.type == aiohttp.WSMsgType.TEXT:
        message = await asyncio.wait_for(ws.receive(), 3)
    assert ws.close_code == 1009
    ws = await connect(scene["member"])
    await ws.send_bytes(b"\x00\x01")
    message = await asyncio.wait_for(ws.receive(), 3)
    assert ws.close_code == 1003 or message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_foreign_origin_is_refused_before_the_upgrade(scene):
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await scene["member"].client.ws_connect("/api/v1/live", origin="http://evil.example")
    assert refused.value.status == 403
    ws = await scene["member"].client.ws_connect("/api/v1/live", origin="http://127.0.0.1:8080")
    await ws.close()


async def silent_peer(server, path: str, subscribe: dict) -> socket.socket:
    """A real websocket peer that subscribes and then never reads again (a laptop lid closed
    mid-stream): a tiny receive buffer, the handshake by hand, one masked frame."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, (server.host, server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(sock, (f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                                   "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += await loop.sock_recv(sock, 1024)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    payload, mask = json.dumps(subscribe).encode(), os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    await loop.sock_sendall(sock, struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked)
    return sock


async def test_a_slow_client_is_cut_off_and_delays_nobody(admin, server):
    hub = server.app[hub_key]
    hub.queue_frames, hub.close_seconds = 8, 0.5
    group = await open_group(admin, "Open werkgroep")
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Druk", "body": "start"},
                               expect=201))["thread"]["id"]
    channel = f"thread:{thread}"
    fast = await connect(admin)
    await fast.send_json({"type": "subscribe", "channels": [channel]})
    await next_frame(fast, "subscribed")
    silent = await silent_peer(server, "/api/v1/live", {"type": "subscribe", "channels": [channel]})
    await until(lambda: len(hub.by_channel.get(channel, ())) == 2)  # the silent peer cannot say it subscribed
    stuck = next(c for c in hub.by_channel[channel] if c.user_id is None)
    posted = 0
    while not stuck.closing and posted < 200:
        await admin.post(f"/api/v1/threads/{thread}/posts", {"body": f"{posted} " + "lang " * 8000}, expect=201)
        posted += 1
        got = await next_frame(fast, "event", "post.created")  # the reader keeps pace meanwhile
        assert got["data"]["post"]["body_html"].startswith(f"<p>{posted - 1} ")
    assert stuck.closing, "the silent peer was never cut off"
    assert not stuck.pending  # its queued output is dropped, not kept
    # the close frame cannot reach it: the connection is cut after close_seconds
    await until(lambda: stuck not in hub.clients)
    silent.close()
    await fast.close()


async def test_shutdown_closes_sockets_with_1001(scene, server):
    ws = await connect(scene["member"])
    await ws.send_json({"type": "subscribe", "channels": [f"thread:{scene['thread']}"]})
    await next_frame(ws, "subscribed")
    closing = asyncio.ensure_future(server.app[hub_key].close_all())
    message = await asyncio.wait_for(ws.receive(), 3)
    while message.type == aiohttp.WSMsgType.TEXT:
        message = await asyncio.wait_for(ws.receive(), 3)
    await closing
    assert ws.close_code == 1001


async def test_a_removed_thread_tells_its_viewers_and_takes_no_new_subscribers(scene):
    ws = await connect(scene["member"])
    channel = f"thread:{scene['thread']}"
    await ws.send_json({"type": "subscribe", "channels": [channel]})
    await next_frame(ws, "subscribed")
    await scene["admin"].delete(f"/api/v1/threads/{scene['thread']}")
    removed = await next_frame(ws, "event", "thread.removed")
    assert removed["data"] == {"thread_id": scene["thread"]}
    late = await connect(scene["member"])
    await late.send_json({"type": "subscribe", "channels": [channel]})
    assert (await next_frame(late, "error"))["code"] == "not_found"
    for socket_ in (ws, late):
        await socket_.close()


class RawPeer:
    """A websocket client written out by hand, to send what aiohttp's client never would:
    unmasked, fragmented, reserved-bit and broken frames, and to see every frame that comes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, server, before: bytes = b"") -> tuple["RawPeer", bytes]:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /api/v1/live HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
                     + before)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        assert answer.startswith(b"HTTP/1.1 101") and b"Sec-WebSocket-Accept: " + expected + b"\r\n" in answer, answer
        return cls(reader, writer), answer

    @staticmethod
    def frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True, rsv: int = 0) -> bytes:
        first = (0x80 if fin else 0) | rsv | opcode
        size = len(payload)
        head = (struct.pack("!BB", first, size) if size < 126 else struct.pack("!BBH", first, 126, size)
                if size < 65536 else struct.pack("!BBQ", first, 127, size))
        if not masked:
            return head + payload
        mask = os.urandom(4)
        head = head[:1] + bytes([head[1] | 0x80]) + head[2:]
        return head + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))

    def send(self, opcode: int, payload: bytes, **how) -> None:
        self.writer.write(self.frame(opcode, payload, **how))

    async def receive(self) -> tuple[int, bytes]:
        first, second = await asyncio.wait_for(self.reader.readexactly(2), 3)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return first & 0x0F, await asyncio.wait_for(self.reader.readexactly(size), 3)

    async def next_text(self, type_: str) -> dict:
        while True:
            opcode, payload = await self.receive()
            assert opcode == 1, (opcode, payload)
            data = json.loads(payload)
            if data["type"] == type_:
                return data

    async def close_code(self) -> int:
        """The code of the server's close frame, after any text before it; then the server hangs up."""
        opcode, payload = await self.receive()
        while opcode == 1:
            opcode, payload = await self.receive()
        assert opcode == 8, (opcode, payload)
        self.send(8, payload[:2])
        assert await asyncio.wait_for(self.reader.read(), 3) == b""  # and the connection ends
        self.writer.close()
        return struct.unpack("!H", payload[:2])[0]


async def test_the_websocket_protocol_by_hand(scene, server):
    """Pings are answered, fragments are joined (with a ping between them), a frame sent with
    the handshake is read, and the peer's close is answered with a close before hanging up."""
    channel = f"thread:{await marker_thread(scene['admin'])}"  # a visitor may watch it
    subscribe = json.dumps({"type": "subscribe", "channels": [channel]}).encode()
    peer, _ = await RawPeer.open(server, before=RawPeer.frame(9, b"early"))
    assert await peer.receive() == (10, b"early")
    peer.send(9, b"hello")
    assert await peer.receive() == (10, b"hello")
    peer.send(1, subscribe[:5], fin=False)
    peer.send(9, b"between")
    peer.send(0, subscribe[5:20], fin=False)
    peer.send(0, subscribe[20:])
    assert await peer.receive() == (10, b"between")
    assert (await peer.next_text("subscribed"))["channels"] == [channel]
    peer.send(8, struct.pack("!H", 1000) + "tot ziens".encode())
    opcode, payload = await peer.receive()
    assert opcode == 8 and struct.unpack("!H", payload[:2])[0] == 1000
    assert await asyncio.wait_for(peer.reader.read(), 3) == b""
    peer.writer.close()
    hub = server.app[hub_key]
    await until(lambda: channel not in hub.by_channel)


async def test_frames_that_trickle_in_byte_by_byte_are_read_whole(scene, server):
    channel = f"thread:{await marker_thread(scene['admin'])}"
    peer, _ = await RawPeer.open(server)
    frames = (RawPeer.frame(9, b"ping") + RawPeer.frame(1, json.dumps({"type": "subscribe", "channels": [channel]})
                                                        .encode()))
    for byte in frames:
        peer.writer.write(bytes([byte]))
        await peer.writer.drain()
        await asyncio.sleep(0.001)  # most bytes in a read of their own
    assert await peer.receive() == (10, b"ping")
    assert (await peer.next_text("subscribed"))["channels"] == [channel]
    peer.writer.close()


@pytest.mark.parametrize("frames, code", [
    ([RawPeer.frame(1, b'{"type": "typing"}', masked=False)], 1002),          # a client must mask
    ([RawPeer.frame(1, b"{}", rsv=0x40)], 1002),                              # no extension was agreed
    ([RawPeer.frame(0, b"{}")], 1002),                                        # continuation of nothing
    ([RawPeer.frame(1, b"{", fin=False), RawPeer.frame(1, b"}")], 1002),      # a new message inside one
    ([RawPeer.frame(9, b"x", fin=False)], 1002),                              # a fragmented control frame
    ([RawPeer.frame(3, b"{}")], 1002),                                        # an unknown opcode
    ([RawPeer.frame(1, b'{"type": "\xff"}')], 1007),                          # text that is not UTF-8
    ([RawPeer.frame(1, b"x" * 40_000, fin=False), RawPeer.frame(0, b"x" * 40_000)], 1009),  # too big in parts
    ([RawPeer.frame(2, b"\x00\x01")], 1003),                                  # binary
    ([RawPeer.frame(8, b"\x03")], 1002),                                      # a close frame of one byte
    ([RawPeer.frame(8, struct.pack("!H", 1005))], 1002),                      # a code never sent on the wire
])
async def test_broken_frames_get_a_close_code(server, frames, code):
    peer, _ = await RawPeer.open(server)
    peer.writer.write(b"".join(frames))
    assert await peer.close_code() == code


async def test_not_a_websocket_handshake_is_a_400(anonymous):
    visitor = await anonymous()
    response = await visitor.client.get("/api/v1/live")
    assert response.status == 400 and (await response.json())["error"]["code"] == "bad_request"
    response = await visitor.client.get("/api/v1/live", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "kort"})
    assert response.status == 400


async def test_the_heartbeat_lets_go_of_a_peer_that_never_answers(scene, server):
    hub = server.app[hub_key]
    answering = await connect(scene["member"])
    await watch(answering, f"thread:{scene['thread']}")
    reading = asyncio.ensure_future(next_frame(answering, "event", timeout=10))  # aiohttp answers pings as it reads
    mute, _ = await RawPeer.open(server)
    await until(lambda: len(hub.clients) == 2)
    hub.heartbeat()
    assert await mute.receive() == (9, b"")  # pinged, and never answers
    await asyncio.sleep(0.2)  # the answering client's pong arrives meanwhile
    hub.heartbeat()
    await until(lambda: len(hub.clients) == 1)
    assert await asyncio.wait_for(mute.reader.read(), 3) == b""
    marker = (await scene["admin"].post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "nog daar"},
                                        expect=201))["post"]["id"]
    assert (await reading)["data"]["post"]["id"] == marker  # still served
    await answering.close()
    mute.writer.close()
