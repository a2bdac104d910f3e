"""create_app(config): the only place where the forum is wired together. run.py and every
test use it."""
from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp_jinja2
import jinja2
from aiohttp import web

from forum import ROOT
from forum.config import Config
from forum.db import Database
from forum.keys import (config_key, hub_key, page_cache_key, reader_page_cache_key, readiness_key, scheduler_key,
                        services_key, traffic_key)
from forum.limits import RedisRateLimiter
from forum.live.bus import LocalBus, RedisBus, site_prefix
from forum.live.hub import Hub
from forum.mail import Mailer
from forum.scheduler import Scheduler
from forum.services import Services, iso, setup, site_pages, system_clock, upkeep
from forum.web import metrics, templating
from forum.web.middleware import (csrf_middleware, error_middleware, security_headers, session_middleware,
                                  site_menus_middleware)
from forum.web.page_cache import PageCache, open_front_door, page_cache_middleware
from forum.web.freshness import FRESHNESS, freshness_middleware, new_state
from forum.web.health import Readiness
from forum.web.request_info import front_middleware
from forum.web.routes import setup_routes
from forum.web.traffic import Traffic, traffic_middleware

log = logging.getLogger(__name__)


def create_app(config: Config, *, clock=system_clock, announce_setup: bool = True) -> web.Application:
    """The application; `announce_setup=False` for a command that makes the admin itself
    (`create-admin`), which must not first print a setup link it is about to spend."""
    config = config.with_secret()
    requests: dict = {}  # answers by route and status, for /metrics (forum/web/request_info.py)
    app = web.Application(
        # the site's name and menus are read before the form check, so a refused form's page
        # wears them too
        # a visitor's kept page is answered before any of these (open_front_door below); the first
        # gives the request its id and the client's address behind a proxy (forum/web/request_info.py)
        middlewares=[front_middleware(requests), traffic_middleware, error_middleware, freshness_middleware,
                     session_middleware, page_cache_middleware, site_menus_middleware, csrf_middleware],
        client_max_size=config.max_body_bytes,
    )
    app[config_key] = config
    app[FRESHNESS] = new_state()

    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(ROOT / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=config.reload_templates,  # off in production: no stat() per render
    )
    templating.configure(env)

    # with Redis, other processes may share the database: every write counts itself, and each
    # process hears of the others' (forum/live/bus.py)
    bus = RedisBus(config.redis_url, config.secret_key, config.bus_poll_seconds) if config.redis_url else LocalBus()
    if config.database_url:
        from forum.postgres import PostgresDatabase
        db = PostgresDatabase(config.database_url, shared=bus.shared)
    else:
        db = Database(config.db_path, shared=bus.shared)
    mailer = Mailer(config, db, now=lambda: iso(clock()))
    # several processes count the rate limits together, or each would allow the whole limit
    limiter = (RedisRateLimiter(config.limits, config.redis_url, site_prefix(config.secret_key), config.secret_key)
               if config.redis_url else None)
    app[services_key] = Services(db=db, config=config, mailer=mailer, clock=clock, limiter=limiter)
    app[page_cache_key] = PageCache(db, max_entries=config.page_cache_entries, max_bytes=config.page_cache_bytes)
    app[reader_page_cache_key] = PageCache(db, max_entries=config.reader_page_cache_entries,
                                           max_bytes=config.page_cache_bytes)

    hub = Hub(app[services_key], bus)
    app[hub_key] = hub
    app[traffic_key] = Traffic()
    scheduler = Scheduler(app[services_key], quiet_for=app[traffic_key].quiet_for)
    app[scheduler_key] = scheduler
    readiness = app[readiness_key] = Readiness()
    stop_by: float | None = None  # when a shutdown's time is up (loop time)

    async def resources(app: web.Application):
        try:
            async with db.starting():  # processes started together: one migrates and tidies, then the next
                await db.open()
                db.on_commit(mailer.wake)
                db.on_commit(hub.wake)
                db.on_commit(scheduler.wake)
                db.on_commit(bus.announce)
                await upkeep.give_handles(app[services_key])
                if announce_setup:
                    await setup.prepare(app[services_key])  # prints the one-time link while there is no admin
                await upkeep.rerender_stored_posts(app[services_key])  # once per rendering: as new posts read
                await upkeep.index_for_search(app[services_key])  # once: what was written before search existed
                await site_pages.write_starting_pages(app[services_key])  # once: the footer's privacy, accessibility, ...
            mailer.start()
            mailer.wake()  # mail left queued by an earlier run goes out now
            await hub.start()
            scheduler.start()
            scheduler.wake()  # work left by an earlier run is taken up now
        except BaseException:
            # stopped while starting (a signal, a database away): what started is let go, or the
            # database's threads would keep the process alive for ever
            await _let_go()
            raise
        readiness.started = True
        yield
        await _let_go()

    async def _let_go():
        try:
            # a document being read gets what is left of the shutdown's time after the requests
            await scheduler.stop(grace=max(0.0, stop_by - asyncio.get_running_loop().time()) if stop_by is not None
                                 else config.shutdown_seconds)
            await hub.stop()
            await mailer.stop()
        finally:  # whatever happened above, the database and Redis are let go
            await db.close()
            if limiter is not None:
                await limiter.close()
            if readiness.stopping:
                log.info("stopped")

    async def close_sockets(app: web.Application):
        # on_shutdown: the listening socket and idle connections are closed, the requests in
        # flight not yet waited for (aiohttp's web_runner.py BaseRunner.cleanup): from here
        # /readyz says "shutting down"
        nonlocal stop_by
        readiness.stopping = True
        stop_by = asyncio.get_running_loop().time() + config.shutdown_seconds
        # so the log shows a stop was a graceful one, and how long it took
        log.info("stopping: no new connections; requests in flight get up to %ss", config.shutdown_seconds)
        # stopping now: a second signal (a process group signalled twice, Ctrl+C again) must not
        # cut the shutdown off halfway, leaving the database's threads running for ever
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(number, lambda: None)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        await hub.close_all()

    app.cleanup_ctx.append(resources)
    app.on_shutdown.append(close_sockets)
    app.on_response_prepare.append(security_headers)
    setup_routes(app)
    metrics.setup(app, requests)  # GET /metrics, and the app's own Prometheus registry
    open_front_door(app, requests)  # last: it finds the routes it answers for
    return app
