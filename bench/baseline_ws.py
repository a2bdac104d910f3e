"""The live baseline: a plain aiohttp server that sends one message to every connected
websocket when asked, with no subscriptions, policy, event log or queues."""
from __future__ import annotations

import sys

from aiohttp import web

clients_key = web.AppKey("clients", set)


async def socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    request.app[clients_key].add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        request.app[clients_key].discard(ws)
    return ws


async def broadcast(request: web.Request) -> web.Response:
    text = await request.text()
    for ws in list(request.app[clients_key]):
        await ws.send_str(text)
    return web.Response(status=201, text="ok")


async def up(request: web.Request) -> web.Response:
    return web.Response(text="up")  # the bench waits for this before it starts


def make_app() -> web.Application:
    app = web.Application()
    app[clients_key] = set()
    app.router.add_get("/ws", socket)
    app.router.add_post("/broadcast", broadcast)
    app.router.add_get("/", up)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
