"""One websocket after its handshake, spoken by hand: RFC 6455 frames in and out, pings, the
close handshake, and a bounded queue for a peer that reads slowly. The live endpoint answers
the handshake inside aiohttp and hands the connection to a Client (forum/live/endpoint.py);
the hub (forum/live/hub.py) decides what each client is sent."""
from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections import deque
from typing import TYPE_CHECKING, Awaitable, Callable

from forum.policy import Actor

if TYPE_CHECKING:
    from forum.live.hub import Hub

log = logging.getLogger(__name__)

DIRECT_WRITE_BYTES = 64 * 1024  # below this much unsent output a frame is written at once (the transport's high-water mark)
CLOSE_RESUME = 4000          # "you fell behind (or the server is busy): reconnect and resume"
CLOSE_SESSION_ENDED = 4001   # logged out, suspended, or the password changed


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
