"""GET /metrics: the server's numbers in Prometheus' text format, for the addresses in
FORUM_METRICS_ALLOW only.

Nothing here is updated per event: the places that do the work keep plain counts (requests by
route and status, forum/web/request_info.py; the hub's deliveries; the mailer's sends; cache
hits; rate-limit refusals; the database's write waits, forum/tally.py), and a scrape reads
them, with the gauges (sockets open, subscriptions, jobs and mail waiting, the event log's lag)
computed from the hub, the caches and one read of the database at that moment. Each app has a
registry of its own (tests make many apps in one process), and each process reports its own
numbers: under --workers, whichever process the kernel hands the scrape's connection to.

Who may scrape: the client's address as forum/web/proxies.py knows it, that is the TCP peer,
or, when the peer is a trusted proxy (FORUM_TRUSTED_PROXIES), the client that proxy names.
Behind the README's nginx every request's peer is 127.0.0.1, inside the default allow list:
the peer alone would open /metrics to anyone on the internet. A request that carries a
forwarding header from a peer that is not a trusted proxy is refused whatever its peer: it
came through a proxy nobody declared, and who sent it cannot be known.
"""
from __future__ import annotations

import logging
import os

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from forum.keys import config_key, hub_key, metrics_key, page_cache_key, reader_page_cache_key, services_key
from forum.logs import route_label
from forum.services.backlog import backlog
from forum.tally import Durations
from forum.web.fragment_cache import fragment_cache_key
from forum.web.proxies import in_networks, named_client
from forum.workers import WORKER_ENV

log = logging.getLogger(__name__)

FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


class Metrics:
    """One app's registry and its request counts ((matched resource, status) → Durations)."""

    def __init__(self, app: web.Application, requests: dict):
        self.requests: dict[tuple[object, int], Durations] = requests  # forum/web/request_info.py counts here
        # which process answered: under --workers the scrape reaches any one of them
        self.registry = CollectorRegistry(target_info={"worker": os.environ.get(WORKER_ENV, "0"),
                                                       "pid": str(os.getpid())})
        self.collector = ForumCollector(app, self)
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)  # CPU seconds, memory, open files of this process


class ForumCollector:
    def __init__(self, app: web.Application, metrics: Metrics):
        self.app = app
        self.metrics = metrics
        self.backlog: dict | None = None  # read from the database just before each scrape

    async def refresh(self) -> None:
        try:
            self.backlog = await backlog(self.app[services_key])
        except Exception:  # the database away: the rest is still worth reporting
            log.warning("metrics: could not read the backlog from the database", exc_info=True)
            self.backlog = None

    def collect(self):
        yield from self._requests()
        yield from self._live()
        yield from self._work()
        yield from self._caches()
        svc = self.app[services_key]
        limits = CounterMetricFamily("forum_rate_limit_refusals", "Attempts refused by a rate limit (429), by limit name",
                                     labels=["limit"])
        for name, refused in sorted(svc.limiter.refused.items()):
            limits.add_metric([name], refused)
        yield limits
        waits = HistogramMetricFamily("forum_db_write_wait_seconds",
                                      "How long each write waited for the site's one writer, until its transaction began")
        waits.add_metric([], svc.db.write_waits.cumulative(), svc.db.write_waits.sum)
        yield waits

    def _requests(self):
        counts = CounterMetricFamily("forum_http_requests", "Requests answered, by route name and status",
                                     labels=["route", "status"])
        by_route: dict[str, Durations] = {}
        by_status: dict[tuple[str, int], int] = {}
        for (resource, status), durations in list(self.metrics.requests.items()):
            route = route_label(resource)  # two resources without a name may share a pattern
            by_status[route, status] = by_status.get((route, status), 0) + durations.count
            total = by_route.get(route)
            if total is None:
                total = by_route[route] = Durations(durations.bounds)
            total.add(durations)
        for (route, status), answered in sorted(by_status.items()):
            counts.add_metric([route, str(status)], answered)
        yield counts
        latency = HistogramMetricFamily("forum_http_request_duration_seconds",
                                        "Time to produce an answer (middlewares and handler), by route name",
                                        labels=["route"])
        for route, durations in by_route.items():
            latency.add_metric([route], durations.cumulative(), durations.sum)
        yield latency

    def _live(self):
        hub = self.app[hub_key]
        yield GaugeMetricFamily("forum_live_sockets", "Live websockets open", value=len(hub.clients))
        yield GaugeMetricFamily("forum_live_subscriptions", "Channels subscribed to, over all open websockets",
                                value=sum(len(watchers) for watchers in hub.by_channel.values()))
        yield CounterMetricFamily("forum_live_events", "Events read from the event log and dispatched",
                                  value=hub.events_dispatched)
        yield CounterMetricFamily("forum_live_deliveries", "Events handed to a websocket watching their channel",
                                  value=hub.deliveries)
        yield CounterMetricFamily("forum_live_clients_dropped",
                                  "Websockets closed for falling behind (told to reconnect and resume)",
                                  value=hub.dropped)
        if self.backlog is not None:
            yield GaugeMetricFamily("forum_live_event_lag",
                                    "Events written but not yet dispatched by this process (newest id minus delivered id)",
                                    value=max(0, self.backlog["newest_event"] - hub.delivered_id))

    def _work(self):
        svc = self.app[services_key]
        yield CounterMetricFamily("forum_mail_sent", "Mails sent (SMTP) or written to the outbox directory by this process",
                                  value=svc.mailer.sent)
        yield CounterMetricFamily("forum_mail_failures", "Mail attempts that failed in this process (each is retried)",
                                  value=svc.mailer.failed)
        if self.backlog is None:
            return
        backlog = self.backlog
        yield GaugeMetricFamily("forum_mail_queued", "Mails waiting in the outbox to be sent", value=backlog["mail_queued"])
        yield GaugeMetricFamily("forum_mail_failed", "Mails given up on, waiting for an admin to retry them",
                                value=backlog["mail_failed"])
        yield GaugeMetricFamily("forum_scheduler_jobs_waiting", "Scheduler jobs (notification fan-out) waiting",
                                value=backlog["jobs"])
        yield GaugeMetricFamily("forum_scheduler_oldest_job_age_seconds", "How long the oldest waiting job has waited",
                                value=backlog["oldest_job_seconds"])

    def _caches(self):
        app, svc = self.app, self.app[services_key]
        caches = {"visitor_pages": app[page_cache_key], "reader_pages": app[reader_page_cache_key],
                  "reads": svc.reads, "sessions": svc.sessions, "fragments": app.get(fragment_cache_key)}
        hits = CounterMetricFamily("forum_cache_hits", "Lookups answered from a cache", labels=["cache"])
        misses = CounterMetricFamily("forum_cache_misses", "Lookups a cache could not answer (absent or stale)",
                                     labels=["cache"])
        for name, cache in caches.items():
            if cache is not None:
                hits.add_metric([name], cache.hits)
                misses.add_metric([name], cache.misses)
        yield hits
        yield misses


def setup(app: web.Application, requests: dict) -> None:
    """The app's registry, reading `requests` (the dict its request_info_middleware counts in)."""
    app[metrics_key] = Metrics(app, requests)
    app.router.add_get("/metrics", metrics, name="metrics")


def _refusal(request: web.Request) -> str | None:
    """Why this request may not read /metrics, or None."""
    config = request.app[config_key]
    transport = request.transport
    peername = transport.get_extra_info("peername") if transport is not None else None
    peer = peername[0] if isinstance(peername, tuple) else None
    networks = config.trusted_proxies
    if networks and in_networks(peer, networks):
        address = named_client(request.headers, networks, config.proxy_header)
        if address is None:
            if any(name in request.headers for name in FORWARDING_HEADERS):
                # a proxy that names its client in another header than FORUM_PROXY_HEADER's (nginx
                # with X-Real-IP only), or as "unknown": the client is not the proxy's own address
                return (f"403: /metrics refused: this request came through the proxy at {peer}, which names"
                        f" no client in the header FORUM_PROXY_HEADER reads ({config.proxy_header})\n")
            address = peer  # the proxy's host itself, asking directly
    elif any(name in request.headers for name in FORWARDING_HEADERS):
        return (f"403: /metrics refused: this request came through a proxy at {peer}, which is not in"
                " FORUM_TRUSTED_PROXIES, so who sent it cannot be known\n")
    else:
        address = peer
    if not in_networks(address, config.metrics_allow):
        return f"403: /metrics is only for the addresses in FORUM_METRICS_ALLOW, and {address} is not one of them\n"
    return None


async def metrics(request: web.Request) -> web.Response:
    refusal = _refusal(request)
    if refusal is not None:
        return web.Response(status=403, text=refusal)
    state = request.app[metrics_key]
    await state.collector.refresh()
    return web.Response(body=generate_latest(state.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
