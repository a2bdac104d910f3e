"""The hub: after every commit it reads the new rows of the event log, and hands each event
to the clients subscribed to its channel that may still see it. A payload is encoded once per
event, the same bytes for every receiver. Clients that fall behind are closed with a code
that tells them to resume from the last id they saw; nobody else waits for them.

Catch-up without gap or duplicate: a subscribing client is registered first, with arriving
live events held back; then the backlog up to the hub's delivery point is read and sent;
then the held events newer than the backlog follow.
"""
from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections import deque
from datetime import datetime, timezone
from typing import Awaitable, Callable

from forum import policy
from forum.live.bus import LocalBus
from forum.policy import Action, Actor
from forum.services import Services, accounts, live

log = logging.getLogger(__name__)

QUEUE_FRAMES = 512           # frames waiting for one client before it is told to resume
DIRECT_WRITE_BYTES = 64 * 1024  # below this much unsent output a frame is written at once (the transport's high-water mark)
CLOSE_SECONDS = 5            # a closing handshake the peer does not read is cut off after this
CLOSE_RESUME = 4000          # "you fell behind (or the server is busy): reconnect and resume"
CLOSE_SESSION_ENDED = 4001   # logged out, suspended, or the password changed
TYPING_SECONDS = 6
PRESENCE_DELAY = 0.5         # "N reading" changes are gathered this long, then sent once
TRIM_EVERY_SECONDS = 3600
HEARTBEAT_SECONDS = 30       # every socket is pinged this often; one that said nothing since the last ping is cut


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Frame:
    """One outgoing message, encoded once for all its receivers: the JSON text and the whole
    websocket frame (RFC 6455 section 5.2: final text frame, unmasked, uncompressed). Sockets
    are opened without permessage-deflate, so these bytes are valid on every one of them."""
    __slots__ = ("text", "wire")

    def __init__(self, text: str):
        payload = text.encode()
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x81, size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x81, 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 127, size)
        self.text = text
        self.wire = header + payload


def frame(**fields) -> Frame:
    return Frame(json.dumps(fields, separators=(",", ":")))


MAX_MESSAGE = 64 * 1024     # a client's message (all its fragments) larger than this is refused with 1009
INBOX_FRAMES = 16            # a client's messages waiting to be handled before its socket stops being read
PING = b"\x89\x00"           # an empty ping frame: every socket gets the same bytes
# RFC 6455 7.4: the close codes a peer may send (1004-1006 and 1015 are never sent on the wire)
_PEER_CLOSE_CODES = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))


def _unmask(payload: bytes, mask: bytes) -> bytes:
    size = len(payload)
    if not size:
        return b""
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(size, "little")


def _close_frame(code: int, reason: str) -> bytes:
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return struct.pack("!BB", 0x88, len(payload)) + payload


class Client(asyncio.Protocol):
    """One websocket after its handshake: the connection's own asyncio protocol. The endpoint
    answers the handshake inside aiohttp and then hands the connection over to this object
    (forum/live/endpoint.py), so an idle socket costs this object and its transport, not a
    request, a parser, a handler task and the middleware chain's frames for as long as it is
    open (issue 14: ≤ 12 KB per idle socket). Slots, and a queue made only when one is needed.

    A frame for a client that keeps up is written straight to its transport: no task switch
    per socket, so a broadcast costs what a plain loop of writes costs. When output piles up
    (the peer reads slowly, the transport asks us to pause) frames wait in this client's own
    bounded queue and go out when the transport drains; nobody else waits for it."""

    __slots__ = ("hub", "transport", "on_text", "actor", "user_id", "session_token", "channels", "seen", "held",
                 "pending", "paused", "closing", "closer", "done", "last_typing", "heard", "buffer", "message",
                 "inbox", "worker")

    def __init__(self, hub: "Hub", transport: asyncio.Transport, actor: Actor, session_token: str | None,
                 on_text: Callable[["Client", str], Awaitable[None]]):
        self.hub = hub
        self.transport = transport
        self.on_text = on_text                                  # the endpoint's handling of a text message
        self.actor = actor
        self.user_id = actor.user_id  # fixed at the handshake, even when the session later ends
        self.session_token = session_token
        self.channels: set[str] = set()
        self.seen: dict[str, int] = {}                          # channel → newest event id sent on it
        self.held: list[tuple[str, int, Frame]] | None = None  # live events held back during a replay
        self.pending: deque[Frame] | None = None                # output waiting while the transport is full
        self.paused = False
        self.closing = False
        self.closer: asyncio.Task | None = None   # kept here: the loop holds only weak references to tasks
        self.done: asyncio.Future | None = None   # while closing: the peer's close frame or the connection's end
        self.last_typing = 0.0
        self.heard = True                         # something came in since the last heartbeat's ping
        self.buffer: bytes | bytearray | None = b""  # the start of a frame not yet whole; None: input is ignored
        self.message: bytearray | None = None     # a fragmented message's parts so far
        self.inbox: deque[str] | None = None      # messages waiting for the one before them to be handled
        self.worker: asyncio.Task | None = None

    # --- output ---------------------------------------------------------------------------

    def offer(self, message: Frame) -> None:
        if self.closing:
            return
        pending = self.pending
        if not self.paused and not pending:
            self.transport.write(message.wire)
            return
        if pending is None:
            pending = self.pending = deque()
        if len(pending) >= self.hub.queue_frames:
            self.hub.dropped += 1
            self.close_soon(CLOSE_RESUME, "resume")
            return
        pending.append(message)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        pending = self.pending
        while pending and not self.paused and not self.closing:
            self.transport.write(pending.popleft().wire)  # may pause us again
        if not pending:
            self.pending = None

    def close_soon(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.pending = None
        self.closer = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def close(self, code: int, reason: str) -> None:
        self.close_soon(code, reason)
        if self.closer is not None:
            await asyncio.gather(self.closer, return_exceptions=True)

    async def _close(self, code: int, reason: str) -> None:
        transport = self.transport
        if transport.is_closing():
            return
        self.done = asyncio.get_running_loop().create_future()
        transport.write(_close_frame(code, reason))
        if self.buffer is None:
            # after a frame we could not read, the peer's close frame cannot be found in what
            # follows: our end is shut instead, and the peer's end of the connection awaited
            transport.write_eof()
        try:  # the peer answers with its own close frame, or hangs up
            await asyncio.wait_for(self.done, self.hub.close_seconds)
        except asyncio.TimeoutError:
            pass
        finally:
            # A peer that stopped reading never takes the close frame; transport.close() would
            # wait for it for ever, holding the socket and its buffered output.
            if transport.get_write_buffer_size():
                transport.abort()
            else:
                transport.close()

    def _fail(self, code: int, reason: str) -> None:
        """A frame we cannot read: the close code says why, and the rest of the input is ignored."""
        self.buffer = None
        self.message = None
        self.close_soon(code, reason)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.pending = None
        if self.done is not None and not self.done.done():
            self.done.set_result(None)
        self.hub.remove(self)

    # --- input ----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """RFC 6455 section 5: masked client frames, read as they come (one read may hold several
        frames or part of one); at most MAX_MESSAGE bytes of a message are ever kept."""
        self.heard = True
        buffer = self.buffer
        if buffer is None:
            return
        if buffer:
            buffer += data  # a bytearray, grown in place: a frame trickling in byte by byte costs no copies
        else:
            buffer = data
        end, pos = len(buffer), 0
        while end - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            opcode, size, head = first & 0x0F, second & 0x7F, 2
            if first & 0x70 or not second & 0x80:  # no extension was agreed; a client always masks
                return self._fail(1002, "protocol error")
            if opcode >= 8 and (opcode > 10 or not first & 0x80 or size > 125) or 2 < opcode < 8:
                return self._fail(1002, "protocol error")
            if size == 126:
                if end - pos < 4:
                    break
                size, head = int.from_bytes(buffer[pos + 2:pos + 4], "big"), 4
            elif size == 127:
                if end - pos < 10:
                    break
                size, head = int.from_bytes(buffer[pos + 2:pos + 10], "big"), 10
            if opcode < 8 and size + (len(self.message) if self.message is not None else 0) > MAX_MESSAGE:
                return self._fail(1009, "message too big")
            start = pos + head + 4
            if end < start + size:
                break
            payload = _unmask(buffer[start:start + size], buffer[pos + head:start])
            pos = start + size
            if not self._frame(first & 0x80, opcode, payload):
                return
        if pos == end:
            self.buffer = b""
        elif pos or type(buffer) is not bytearray:
            self.buffer = bytearray(buffer[pos:])  # at most what this read brought

    def _frame(self, fin: int, opcode: int, payload: bytes) -> bool:
        if opcode == 9:  # ping
            # Not while our output waits for the peer to read: a peer that pings and never
            # reads would grow the transport's buffer without end (RFC 6455 5.5.3 lets an
            # endpoint leave pings unanswered that a later one supersedes).
            if not self.closing and not self.paused:
                self.transport.write(struct.pack("!BB", 0x8A, len(payload)) + payload)
            return True
        if opcode == 10:  # pong: heard, and nothing else
            return True
        if opcode == 8:
            return self._peer_closes(payload)
        if opcode == 0:
            if self.message is None:
                self._fail(1002, "continuation without a message")
                return False
            self.message += payload
        elif self.message is not None:
            self._fail(1002, "a new message inside a fragmented one")
            return False
        elif opcode == 2:
            self._fail(1003, "text frames only")
            return False
        elif not fin:
            self.message = bytearray(payload)
        if not fin:
            return True
        if opcode == 0:
            payload, self.message = bytes(self.message), None
        try:
            text = payload.decode()
        except UnicodeDecodeError:
            self._fail(1007, "text must be UTF-8")
            return False
        if not self.closing:
            self._receive(text)
        return True

    def _peer_closes(self, payload: bytes) -> bool:
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
        if len(payload) == 1 or code is not None and not (code in _PEER_CLOSE_CODES or 3000 <= code < 5000):
            self._fail(1002, "invalid close frame")
            return False
        try:
            payload[2:].decode()
        except UnicodeDecodeError:
            self._fail(1007, "text must be UTF-8")
            return False
        self.buffer = None
        if self.closing:  # our close frame answered: the closing handshake is done
            if self.done is not None and not self.done.done():
                self.done.set_result(None)
            return False
        self.closing = True
        self.pending = None
        self.transport.write(_close_frame(1000, ""))
        self.transport.close()
        if self.transport.get_write_buffer_size():
            # close() waits for the peer to read what we sent; one that stopped reading never
            # does (and the heartbeat passes closing sockets by): cut after close_seconds
            asyncio.get_running_loop().call_later(self.hub.close_seconds, self.transport.abort)
        return False

    def _receive(self, text: str) -> None:
        """Messages are handled one after another, in the order they came (a subscribe that
        waits for the database is not overtaken by the unsubscribe behind it)."""
        inbox = self.inbox
        if inbox is None:
            inbox = self.inbox = deque()
        inbox.append(text)
        if len(inbox) >= INBOX_FRAMES:
            self.transport.pause_reading()  # a client that sends faster than we handle waits
        if self.worker is None:
            self.worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        try:
            while self.inbox and not self.closing:
                text = self.inbox.popleft()
                try:
                    await self.on_text(self, text)
                except Exception:  # a bug must close this socket with a code, never hang it
                    log.exception("live frame failed")
                    self.close_soon(1011, "internal error")
        finally:
            self.worker = None
            self.inbox = None
            transport = self.transport
            if transport.is_closing():
                self.hub.remove(self)  # gone while a subscribe waited: whatever it registered goes too
            elif not transport.is_reading():
                transport.resume_reading()

    def eof_received(self) -> bool:
        return False  # the peer is done: the transport closes, and connection_lost follows


class Hub:
    def __init__(self, svc: Services, bus=None):
        self.svc = svc
        self.bus = bus or LocalBus()  # forum/live/bus.py: the other processes, when there are any
        self.clients: set[Client] = set()
        self.by_channel: dict[str, set[Client]] = {}
        self.by_user: dict[int, set[Client]] = {}
        self._presence_due: set[str] = set()
        self._presence_changed_here: set[str] = set()
        self._presence_timer: asyncio.TimerHandle | None = None
        self._presence_task: asyncio.Task | None = None
        self.delivered_id = 0
        # for /metrics: events read from the log and dispatched, events handed to a watching
        # socket, sockets closed for falling behind (QUEUE_FRAMES)
        self.events_dispatched = self.deliveries = self.dropped = 0
        self.queue_frames = QUEUE_FRAMES    # per client; tests lower them to reach the limits fast
        self.close_seconds = CLOSE_SECONDS
        self.heartbeat_seconds = HEARTBEAT_SECONDS
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        _, self.delivered_id = await live.event_id_range(self.svc)
        await self.bus.start(self.svc.db, self.presence_elsewhere, self.typing_elsewhere)
        self._tasks = [asyncio.create_task(self._pump(), name="hub-pump"),
                       asyncio.create_task(self._trim_loop(), name="hub-trim"),
                       asyncio.create_task(self._heartbeat_loop(), name="hub-heartbeat")]

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        """Started, not stopped, and none of its loops ended (each runs until stop())."""
        return bool(self._tasks) and not self._stopping and not any(task.done() for task in self._tasks)

    async def close_all(self) -> None:
        """Server shutdown: every socket gets 1001 now (clients then resume elsewhere or later)."""
        await asyncio.gather(*(c.close(1001, "server shutdown") for c in list(self.clients)),
                             return_exceptions=True)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._presence_timer is not None:
            self._presence_timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._presence_task is not None:
            await asyncio.gather(self._presence_task, return_exceptions=True)
        await self.bus.stop()

    # --- clients ------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)
        if client.user_id:
            self.by_user.setdefault(client.user_id, set()).add(client)

    def remove(self, client: Client) -> None:
        self.clients.discard(client)
        same_user = self.by_user.get(client.user_id)
        if same_user is not None:
            same_user.discard(client)
            if not same_user:
                del self.by_user[client.user_id]
        for channel in list(client.channels):
            self._unregister(client, channel)

    def _register(self, client: Client, channel: str) -> None:
        client.channels.add(channel)
        self.by_channel.setdefault(channel, set()).add(client)
        self._presence(channel)

    def _unregister(self, client: Client, channel: str) -> None:
        client.channels.discard(channel)
        watchers = self.by_channel.get(channel)
        if watchers is not None:
            watchers.discard(client)
            if not watchers:
                del self.by_channel[channel]
        self._presence(channel)

    def _presence(self, channel: str, *, here: bool = True) -> None:
        """'N reading' for a thread: ephemeral, stamped with server time, never logged. Changes
        are gathered for PRESENCE_DELAY and sent once: a thousand readers arriving together
        cost a thousand frames, not a million. Readers on other processes count too (the bus)."""
        if not channel.startswith("thread:"):
            return
        self._presence_due.add(channel)
        if here:
            self._presence_changed_here.add(channel)
        if self._presence_timer is None:
            self._presence_timer = asyncio.get_running_loop().call_later(PRESENCE_DELAY, self._send_presence)

    def presence_elsewhere(self, channel: str) -> None:
        """Another process's readers of a thread changed (forum/live/bus.py)."""
        if channel in self.by_channel:
            self._presence(channel, here=False)

    def _send_presence(self) -> None:
        self._presence_timer = None
        if self._presence_task is not None and not self._presence_task.done():
            # the last round still asks the bus: this one's channels wait for the next
            self._presence_timer = asyncio.get_running_loop().call_later(PRESENCE_DELAY, self._send_presence)
            return
        due, self._presence_due = self._presence_due, set()
        changed, self._presence_changed_here = self._presence_changed_here, set()
        self._presence_task = asyncio.get_running_loop().create_task(self._send_presence_of(due, changed))

    async def _send_presence_of(self, due: set[str], changed_here: set[str]) -> None:
        for channel in due:
            watchers = self.by_channel.get(channel, ())
            users = {c.actor.user_id for c in watchers if c.actor.user_id}
            anonymous = sum(1 for c in watchers if not c.actor.user_id)
            if channel in changed_here:
                self.bus.set_readers(channel, users, anonymous)
            if not watchers:
                continue
            try:
                readers = await self.bus.readers(channel, users, anonymous)
            except Exception:
                log.exception("counting readers failed")
                continue
            message = frame(type="presence", channel=channel, readers=readers, at=_now())
            for client in list(self.by_channel.get(channel, ())):
                client.offer(message)

    async def subscribe(self, client: Client, channels: list[str], last_event_id: int | None) -> None:
        allowed = []
        for channel in channels:
            target = await live.channel_target(self.svc, channel) if live.valid_channel(channel) else None
            if live.valid_channel(channel) and policy.can_watch(client.actor, channel, target):
                allowed.append(channel)
            else:  # unreadable and nonexistent look the same
                client.offer(frame(type="error", code="not_found", channel=channel,
                                   message="No such channel."))
        if not allowed:
            return
        replay = last_event_id is not None
        if replay:
            client.held = []
        for channel in allowed:
            self._register(client, channel)
        snapshot = self.delivered_id  # everything after this reaches the client live (held for now)
        if not replay:
            for channel in allowed:
                client.seen[channel] = max(client.seen.get(channel, 0), snapshot)
            client.offer(frame(type="subscribed", channels=allowed, last_event_id=snapshot))
            return
        try:
            oldest, _ = await live.event_id_range(self.svc)
            if oldest and last_event_id + 1 < oldest:
                for channel in allowed:  # part of what was missed is no longer kept
                    client.offer(frame(type="reset", channel=channel))
            else:
                targets = {channel: await live.channel_target(self.svc, channel) for channel in allowed}
                for event in await live.backlog(self.svc, allowed, last_event_id, snapshot):
                    if policy.can_receive(client.actor, event["channel"], targets[event["channel"]], event["kind"]):
                        self._deliver(client, event["channel"], event["id"], self._encode(event))
            for channel in allowed:
                client.seen[channel] = max(client.seen.get(channel, 0), snapshot)
            client.offer(frame(type="subscribed", channels=allowed, last_event_id=snapshot))
            held, client.held = client.held, None
            for channel, event_id, message in held:
                self._deliver(client, channel, event_id, message)
        finally:
            client.held = None

    @staticmethod
    def _deliver(client: Client, channel: str, event_id: int, message: Frame) -> None:
        """Send unless this event was already sent on this channel (the replay/live seam)."""
        if event_id > client.seen.get(channel, 0):
            client.offer(message)
            client.seen[channel] = event_id

    def unsubscribe(self, client: Client, channels: list[str]) -> None:
        for channel in channels:
            if channel in client.channels:
                self._unregister(client, channel)

    async def typing(self, client: Client, thread_id: int) -> None:
        channel = f"thread:{thread_id}"
        loop_time = asyncio.get_running_loop().time()
        if channel not in client.channels or loop_time - client.last_typing < 2:
            return
        thread = await live.channel_target(self.svc, channel)
        if not policy.can_watch(client.actor, channel, thread) or not policy.can(client.actor, Action.REPLY, thread):
            return
        client.last_typing = loop_time
        message = frame(type="typing", channel=channel, at=_now(), expires_in=TYPING_SECONDS,
                        user={"id": client.actor.user_id, "display_name": client.actor.display_name})
        for other in self.by_channel.get(channel, ()):
            if other is not client and policy.can_receive(other.actor, channel, thread, "typing"):
                other.offer(message)
        self.bus.typing(channel, message.text)

    async def typing_elsewhere(self, channel: str, text: str) -> None:
        """Someone types on another process: the frame made anew here from its checked fields
        (nothing from Redis reaches a socket as it came), and checked for each reader."""
        if not live.valid_channel(channel) or not channel.startswith("thread:") or channel not in self.by_channel:
            return
        try:
            sent = json.loads(text)
            user = sent["user"]
            if sent.get("type") != "typing" or sent.get("channel") != channel:
                return
            message = frame(type="typing", channel=channel, at=_now(), expires_in=TYPING_SECONDS,
                            user={"id": int(user["id"]), "display_name": str(user["display_name"])[:200]})
        except (ValueError, KeyError, TypeError):
            return
        thread = await live.channel_target(self.svc, channel)
        for other in list(self.by_channel.get(channel, ())):
            if policy.can_receive(other.actor, channel, thread, "typing"):
                other.offer(message)

    # --- delivery -----------------------------------------------------------------------

    @staticmethod
    def _encode(event) -> Frame:
        # The stored payload is already JSON: it is spliced in, not parsed and dumped again.
        return Frame('{"type":"event","id":%d,"channel":%s,"kind":%s,"data":%s}'
                     % (event["id"], json.dumps(event["channel"]), json.dumps(event["kind"]), event["payload"]))

    async def _pump(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                while True:
                    events = await live.events_after(self.svc, self.delivered_id)
                    if not events:
                        break
                    for event in events:
                        await self._dispatch(event)
            except Exception:  # keep delivering; the failed batch is retried on the next wake
                log.exception("live delivery failed")

    async def _dispatch(self, event) -> None:
        channel = event["channel"]
        if channel.startswith("user:") and event["kind"] in ("account.changed", "membership.changed"):
            await self._refresh_actors(int(channel.split(":")[1]))
        watchers = self.by_channel.get(channel)
        if watchers:
            target = await live.channel_target(self.svc, channel)
            message, kind = self._encode(event), event["kind"]  # encoded once, for every receiver
            # One decision per actor, not per socket: a client's actor is immutable (a changed
            # account gets a new one), and every visitor's socket shares the same one.
            decided: dict[int, bool] = {}
            handed = 0
            for client in list(watchers):
                actor = client.actor
                allowed = decided.get(id(actor))
                if allowed is None:
                    allowed = decided[id(actor)] = policy.can_receive(actor, channel, target, kind)
                if not allowed:
                    continue  # checked now, not only at subscribe: removed members stop here
                handed += 1
                if client.held is not None:
                    client.held.append((channel, event["id"], message))
                else:
                    self._deliver(client, channel, event["id"], message)
            self.deliveries += handed
        self.events_dispatched += 1
        self.delivered_id = event["id"]

    async def _refresh_actors(self, user_id: int) -> None:
        for client in list(self.by_user.get(user_id, ())):
            actor, _ = await accounts.actor_for_session(self.svc, client.session_token)
            if not actor.active:
                client.close_soon(CLOSE_SESSION_ENDED, "session ended")
            client.actor = actor

    async def _heartbeat_loop(self) -> None:
        """One loop for all sockets, not a timer each: a peer that sent nothing, not even the
        pong to the last ping, in HEARTBEAT_SECONDS is gone (a laptop closed, a network
        dropped), and its socket is let go."""
        while not self._stopping:
            await asyncio.sleep(self.heartbeat_seconds)
            self.heartbeat()

    def heartbeat(self) -> None:
        for client in list(self.clients):
            if client.closing:
                continue
            if not client.heard:
                client.closing = True
                client.transport.abort()
                continue
            client.heard = False
            client.transport.write(PING)

    async def _trim_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(TRIM_EVERY_SECONDS)
            try:
                await live.trim(self.svc)
            except Exception:
                log.exception("trimming the event log failed")
