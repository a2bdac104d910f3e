"""How busy the server is answering requests, for background work that should wait its turn:
the scheduler reads documents' words once the server has been quiet for a moment
(forum/scheduler.py). Live sockets are not counted: one stays open for hours."""
from __future__ import annotations

import time

from aiohttp import web

from forum.keys import traffic_key

LIVE_PATH = "/api/v1/live"


class Traffic:
    def __init__(self):
        self.in_flight = 0
        self.last_done = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last request was answered; 0 while one is being answered."""
        return 0.0 if self.in_flight else time.monotonic() - self.last_done


@web.middleware
async def traffic_middleware(request: web.Request, handler):
    if request.path == LIVE_PATH:
        return await handler(request)
    traffic: Traffic = request.app[traffic_key]
    traffic.in_flight += 1
    try:
        return await handler(request)
    finally:
        traffic.in_flight -= 1
        traffic.last_done = time.monotonic()
