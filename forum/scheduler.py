"""The server's own clock: runs work that is due, all of it kept in the database (notification
fan-out jobs, unseen-notification mail, digests), so a restart picks up where the last run
stopped. Woken after commits, and every TICK_SECONDS otherwise."""
from __future__ import annotations

import asyncio
import logging

from forum.services import Services, mailings, notifications

log = logging.getLogger(__name__)

TICK_SECONDS = 30
SETTLE_SECONDS = 0.1  # after a commit: let the live hub deliver first, and gather a burst of commits


class Scheduler:
    def __init__(self, svc: Services):
        self.svc = svc
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        """Let a round in progress finish (each step is its own transaction), then end."""
        if self._task:
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None

    async def run_once(self) -> None:
        await notifications.run_jobs(self.svc)
        await mailings.send_due_mail(self.svc)
        await mailings.send_due_digests(self.svc)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_round = loop.time() - TICK_SECONDS  # the first round is a full one: work left by an earlier run
        while not self._stopping:
            try:
                async with asyncio.timeout(max(0.0, last_round + TICK_SECONDS - loop.time())):
                    await self._wake.wait()
                await asyncio.sleep(SETTLE_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                return
            try:
                if loop.time() - last_round >= TICK_SECONDS:  # the tick, however busy: mail and digests due
                    last_round = loop.time()
                    await self.run_once()
                elif await notifications.run_jobs(self.svc):  # a commit: fan out what it left
                    await mailings.send_due_mail(self.svc)  # "immediately" means now, not at the tick
            except Exception:  # keep the clock running; the due work stays due
                log.exception("scheduled work failed")
