"""The server's own clock: runs work that is due, all of it kept in the database (notification
fan-out jobs, unseen-notification mail, digests, scheduled news, event reminders, bans that
end, the words of new documents, unnamed files), so a restart picks up where
the last run stopped. Woken after commits, every TICK_SECONDS otherwise, and at the moment
the next news item is due to appear."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Callable

from forum.services import Services, documents, groups, mailings, news, notifications, search_index, signups

log = logging.getLogger(__name__)

TICK_SECONDS = 30
SETTLE_SECONDS = 0.1  # after a commit: let the live hub deliver first, and gather a burst of commits
# Documents' words are read once no request has been answered for QUIET_SECONDS, or at the
# latest after WAIT_FOR_QUIET_SECONDS: a document is found by its words a little later, and the
# pages being served meanwhile keep their speed (bench/bench_uploads.py: reading ten PDFs during
# a burst of uploads took the cached thread page's p99 from 1.6x idle to 2.3x).
QUIET_SECONDS = 0.2
WAIT_FOR_QUIET_SECONDS = 60.0


def never_busy() -> float:
    return float("inf")


class Scheduler:
    def __init__(self, svc: Services, quiet_for: Callable[[], float] = never_busy):
        self.svc = svc
        self.quiet_for = quiet_for  # seconds since the server last answered a request (0 while it does)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._extracting: asyncio.Task | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    @property
    def running(self) -> bool:
        """Started, not stopping, and its loop alive (it ends only on stop())."""
        return self._task is not None and not self._stopping and not self._task.done()

    async def stop(self, grace: float | None = None) -> None:
        """Let the step in progress finish (each is its own transaction; the steps after it
        stay due for the next start), then end. A document whose words are being read gets
        `grace` seconds (None: all it needs), then its reading is stopped: it stays waiting
        and is read again at the next start."""
        if self._task:
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
        if self._extracting:
            done, _ = await asyncio.wait({self._extracting}, timeout=grace)
            if not done:
                log.info("stopping while a document's words are read: it is read again at the next start")
                self._extracting.cancel()
                await asyncio.gather(self._extracting, return_exceptions=True)  # its process is killed
            self._extracting = None

    async def run_once(self) -> None:
        """All due work, now (the documents' words too, without waiting for a quiet moment)."""
        await self._due_work()
        while not self._stopping and await documents.extract_pending(self.svc):
            pass
        await documents.sweep_files(self.svc)

    async def _due_work(self, *, until_stopped: bool = False) -> None:
        for step in (news.publish_due,
                     signups.send_reminders,  # the day before an event: at the tick, a minute either way
                     groups.end_bans_due,  # a ban for a period: lifted at the tick after it ends
                     notifications.run_jobs, mailings.send_due_mail, mailings.send_due_digests,
                     search_index.index_queued, search_index.merge_index):
            if until_stopped and self._stopping:  # a shutdown waits for one step, not the whole round
                return
            await step(self.svc)

    def _extract_in_background(self) -> None:
        """Reading words out of new documents takes seconds (each in a process of its own, up
        to its time limit): it runs beside the rest, so mail and notifications never wait for it."""
        if self._extracting is None or self._extracting.done():
            self._extracting = asyncio.create_task(self._extract(), name="extract documents")

    async def _extract(self) -> None:
        # the longest wait counts from the moment words were first waiting, not per document:
        # past it the queue is read through, however busy the server (else a steady stream of
        # requests would let one document through a minute, and uploads pile up behind it)
        deadline = time.monotonic() + WAIT_FOR_QUIET_SECONDS
        try:
            while not self._stopping and await documents.has_pending_text(self.svc):
                await self._wait_for_quiet(deadline)
                if self._stopping or not await documents.extract_pending(self.svc, limit=1):
                    return
        except Exception:
            log.exception("reading documents' words failed")

    async def _wait_for_quiet(self, deadline: float) -> None:
        while not self._stopping and time.monotonic() < deadline:
            quiet = self.quiet_for()
            if quiet >= QUIET_SECONDS:
                return
            await asyncio.sleep(QUIET_SECONDS - quiet)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_round = loop.time() - TICK_SECONDS  # the first round is a full one: work left by an earlier run
        while not self._stopping:
            try:
                wait = min(last_round + TICK_SECONDS - loop.time(), await self._until_news_due())
                async with asyncio.timeout(max(0.0, wait)):
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
                    await self._due_work(until_stopped=True)
                    if not self._stopping:
                        self._extract_in_background()
                        await documents.sweep_files(self.svc)
                else:
                    if await news.publish_due(self.svc) + await notifications.run_jobs(self.svc):
                        # a commit or a news item's moment: fan out what it left
                        await mailings.send_due_mail(self.svc)  # "immediately" means now, not at the tick
                    await search_index.index_queued(self.svc)  # new posts' entries, many in one transaction
                    await search_index.merge_index(self.svc, budget_seconds=0.05)  # the segments they left
                    self._extract_in_background()
            except Exception:  # keep the clock running; the due work stays due
                log.exception("scheduled work failed")

    async def _until_news_due(self) -> float:
        try:
            due = await news.next_due_at(self.svc)
        except Exception:
            log.exception("could not read when news is due")
            return float(TICK_SECONDS)
        if due is None:
            return float(TICK_SECONDS)
        seconds = (datetime.fromisoformat(due.replace("Z", "+00:00")) - self.svc.clock()).total_seconds()
        # overdue means publishing it failed (it is logged): try again soon, not in a tight loop
        return seconds if seconds > 0 else 5.0
