"""GET /api/v1/live: the websocket. Identity comes from the session cookie at the handshake;
the Origin must be our own site; frames are JSON objects of at most 64 KiB.

client → server: {"type": "subscribe", "channels": [...], "last_event_id"?: N}
                 {"type": "unsubscribe", "channels": [...]}
                 {"type": "typing", "thread_id": N}
server → client: subscribed, event, reset, presence, typing, error (see README).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from urllib.parse import urlsplit

from aiohttp import web

from forum.keys import actor_key, config_key, hub_key
from forum.live.socket import DIRECT_WRITE_BYTES, Client, frame
from forum.web.cookies import SESSION_COOKIE
from forum.web.middleware import error_json

log = logging.getLogger(__name__)

MAX_CHANNELS = 100
MAX_BRACKETS = 32
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


def _origin_ok(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: no other site's page can be behind it
    site = urlsplit(request.app[config_key].site_url)
    given = urlsplit(origin)
    return (given.scheme, given.netloc) == (site.scheme, site.netloc)


def _bad(message: str) -> str:
    return frame(type="error", code="bad_request", message=message)


def _channel_list(value) -> list[str] | None:
    if not isinstance(value, list) or not value or len(value) > MAX_CHANNELS:
        return None
    if not all(isinstance(item, str) and len(item) <= 40 for item in value):
        return None
    return list(dict.fromkeys(value))


def _accept_key(request: web.Request) -> str | None:
    """RFC 6455 section 4.2: the answer to a well-formed opening handshake, or None."""
    headers = request.headers
    if "websocket" not in headers.get("Upgrade", "").lower():
        return None
    if "upgrade" not in [token.strip() for token in headers.get("Connection", "").lower().split(",")]:
        return None
    if headers.get("Sec-WebSocket-Version") not in ("13", "8"):
        return None
    key = headers.get("Sec-WebSocket-Key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            return None
    except ValueError:
        return None
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


class _HandedOver(web.StreamResponse):
    """What the handler returns once the connection is no longer aiohttp's: its answer (101)
    is already on the wire, so there is nothing left to prepare or to end."""

    def __init__(self) -> None:
        super().__init__(status=101)

    async def prepare(self, request: web.BaseRequest) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


async def live(request: web.Request) -> web.StreamResponse:
    """The handshake goes through the whole middleware chain like any request (the session,
    the proxy's client address, the error answers); then the connection is handed to the
    hub's Client, and this handler, the request and the chain's frames are let go. aiohttp's
    own WebSocketResponse would keep all of them for as long as the socket is open, twice
    the memory of the socket itself (issue 14)."""
    if not _origin_ok(request):
        return error_json(403, "forbidden", "Origin not allowed.")
    accept = _accept_key(request)
    if accept is None:
        return error_json(400, "bad_request", "Not a websocket handshake.")
    protocol, transport = request.protocol, request.transport
    if transport is None or transport.is_closing():  # gone before the handshake was answered
        return error_json(400, "bad_request", "Not a websocket handshake.")
    hub = request.app[hub_key]
    # No permessage-deflate is offered: it would compress every frame once per socket, where
    # the hub writes the same encoded frame to all of them.
    transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n")
    client = Client(hub, transport, request[actor_key], request.cookies.get(SESSION_COOKIE), _handle)
    hub.add(client)
    _hand_over(protocol, transport, client)
    return _HandedOver()


def _hand_over(protocol, transport: asyncio.Transport, client: Client) -> None:
    """The connection leaves aiohttp's request handler for the Client. What aiohttp read past
    the handshake (a client that did not wait for the answer) goes with it; aiohttp's keep-
    alive timer is stopped and its server stops counting the connection, which it would
    otherwise close when the request ends or the server shuts down (the hub closes it then)."""
    tail = getattr(protocol, "_message_tail", b"")
    protocol.keep_alive(False)
    transport.set_protocol(client)
    transport.set_write_buffer_limits(high=DIRECT_WRITE_BYTES)
    protocol.transport = None  # the request's end must not close what is no longer its connection
    manager = getattr(protocol, "_manager", None)
    if manager is not None:
        manager.connection_lost(protocol, None)
    if not transport.is_reading():
        transport.resume_reading()
    if tail:
        protocol._message_tail = b""
        client.data_received(tail)


async def _handle(client: Client, text: str) -> None:
    hub = client.hub
    # No valid frame needs more than a few brackets; counting them (at C speed) refuses deep
    # nesting before the parser recurses into it.
    if text.count("[") + text.count("{") > MAX_BRACKETS:
        client.offer(_bad("Frames must be small JSON objects."))
        return
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        client.offer(_bad("Frames must be JSON."))
        return
    if not isinstance(data, dict):
        client.offer(_bad("A frame must be a JSON object."))
        return
    kind = data.get("type")
    if kind == "subscribe":
        channels = _channel_list(data.get("channels"))
        last = data.get("last_event_id")
        if channels is None:
            client.offer(_bad(f"channels must be a list of 1 to {MAX_CHANNELS} channel names."))
        elif len(client.channels | set(channels)) > MAX_CHANNELS:
            client.offer(_bad(f"At most {MAX_CHANNELS} channels per connection."))
        elif last is not None and (type(last) is not int or not 0 <= last < 2**63):
            client.offer(_bad("last_event_id must be a whole number."))
        else:
            await hub.subscribe(client, channels, last)
    elif kind == "unsubscribe":
        channels = _channel_list(data.get("channels"))
        if channels is None:
            client.offer(_bad(f"channels must be a list of 1 to {MAX_CHANNELS} channel names."))
        else:
            hub.unsubscribe(client, channels)
    elif kind == "typing":
        thread_id = data.get("thread_id")
        if type(thread_id) is not int or not 0 < thread_id < 2**63:
            client.offer(_bad("thread_id must be a whole number."))
        else:
            await hub.typing(client, thread_id)
    else:
        client.offer(_bad("Unknown frame type."))
