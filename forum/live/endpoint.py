"""GET /api/v1/live: the websocket. Identity comes from the session cookie at the handshake;
the Origin must be our own site; frames are JSON objects of at most 64 KiB.

client → server: {"type": "subscribe", "channels": [...], "last_event_id"?: N}
                 {"type": "unsubscribe", "channels": [...]}
                 {"type": "typing", "thread_id": N}
server → client: subscribed, event, reset, presence, typing, error (see README).
"""
from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from forum.keys import actor_key, config_key, hub_key
from forum.live.hub import Client, frame
from forum.web.cookies import SESSION_COOKIE
from forum.web.middleware import error_json

log = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024
MAX_CHANNELS = 100
MAX_BRACKETS = 32
HEARTBEAT_SECONDS = 30


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


async def live(request: web.Request) -> web.StreamResponse:
    if not _origin_ok(request):
        return error_json(403, "forbidden", "Origin not allowed.")
    hub = request.app[hub_key]
    # No permessage-deflate: it would compress every frame once per socket, where the hub
    # writes the same encoded frame to all of them.
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME, compress=False)
    await ws.prepare(request)
    client = Client(ws, request.transport, request[actor_key], request.cookies.get(SESSION_COOKIE),
                    queue_frames=hub.queue_frames, close_seconds=hub.close_seconds)
    hub.add(client)
    try:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                await ws.close(code=1003, message=b"text frames only")
                break
            if message.type != WSMsgType.TEXT:
                break
            try:
                await _handle(hub, client, message.data)
            except Exception:  # a bug must close this socket with a code, never write HTTP into it
                log.exception("live frame failed")
                await ws.close(code=1011, message=b"internal error")
                break
    finally:
        await hub.remove(client)
    return ws


async def _handle(hub, client: Client, text: str) -> None:
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
