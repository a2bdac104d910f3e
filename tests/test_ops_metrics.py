"""GET /metrics (issue 15): Prometheus' text format, parsed back with prometheus_client's own
parser; real values move after real traffic (requests by route, an open websocket, events
delivered, mail sent, a rate-limit refusal, a client dropped for falling behind); only
FORUM_METRICS_ALLOW may read it, judged on the client a trusted proxy names and never on a
forwarding header from anyone else; route labels stay bounded whatever paths are asked for."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from forum.app import create_app
from forum.keys import hub_key, scheduler_key
from forum.limits import ALL_OFF
from forum.workers import WORKER_ENV
from tests.conftest import PASSWORD, open_group
from tests.test_live import connect, next_frame, silent_peer, until


def networks(text: str) -> tuple:
    return tuple(ipaddress.ip_network(part) for part in text.split())


async def scrape(client, headers=None) -> dict:
    """{(sample name, sorted labels): value} of one scrape, through Prometheus' own parser."""
    response = await client.get("/metrics", headers=headers or {})
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def limited(aiohttp_server, config, clock):
    """The app with the login limit on (two failures per account and address), the rest off."""
    app = create_app(replace(config, limits={**ALL_OFF, "LOGIN": (2, 300)}), clock=clock)
    return await aiohttp_server(app)


async def test_requests_are_counted_by_route_name_and_status_with_their_time(anonymous):
    visitor = await anonymous()
    before = await scrape(visitor.client)
    for _ in range(3):
        assert (await visitor.client.get("/groups")).status == 200
    assert (await visitor.client.get("/threads/999999")).status == 404
    after = await scrape(visitor.client)
    assert value(after, "forum_http_requests_total", route="groups", status="200") == \
        value(before, "forum_http_requests_total", route="groups", status="200") + 3
    assert value(after, "forum_http_requests_total", route="thread", status="404") == 1
    # the histogram has every answer of the route, whatever its status, and took some time
    assert value(after, "forum_http_request_duration_seconds_count", route="groups") == \
        value(after, "forum_http_requests_total", route="groups", status="200")
    assert value(after, "forum_http_request_duration_seconds_bucket", route="groups", le="+Inf") >= 3
    assert value(after, "forum_http_request_duration_seconds_sum", route="groups") > 0
    # the scrape before this one counts itself too
    assert value(after, "forum_http_requests_total", route="metrics", status="200") >= 1


async def test_a_websocket_its_subscription_and_the_events_it_gets_are_counted(admin, server):
    group = await open_group(admin, "Open werkgroep")
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Teller", "body": "start"},
                               expect=201))["thread"]["id"]
    before = await scrape(admin.client)
    assert value(before, "forum_live_sockets") == 0
    ws = await connect(admin)
    await ws.send_json({"type": "subscribe", "channels": [f"thread:{thread}"]})
    await next_frame(ws, "subscribed")
    opened = await scrape(admin.client)
    assert value(opened, "forum_live_sockets") == 1
    assert value(opened, "forum_live_subscriptions") == 1
    assert value(opened, "forum_http_requests_total", route="api.live", status="101") == 1  # the handshake
    await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "nieuw"}, expect=201)
    await next_frame(ws, "event", "post.created")
    after = await scrape(admin.client)
    assert value(after, "forum_live_deliveries_total") >= value(before, "forum_live_deliveries_total") + 1
    assert value(after, "forum_live_events_total") > value(before, "forum_live_events_total")
    assert value(after, "forum_live_event_lag") == 0  # the hub has dispatched all that was written
    await ws.close()
    await until(lambda: not server.app[hub_key].clients)
    assert value(await scrape(admin.client), "forum_live_sockets") == 0


async def test_a_client_dropped_for_falling_behind_is_counted(admin, server):
    hub = server.app[hub_key]
    hub.queue_frames, hub.close_seconds = 8, 0.5
    group = await open_group(admin, "Open werkgroep")
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Druk", "body": "start"},
                               expect=201))["thread"]["id"]
    channel = f"thread:{thread}"
    silent = await silent_peer(server, "/api/v1/live", {"type": "subscribe", "channels": [channel]})
    await until(lambda: len(hub.by_channel.get(channel, ())) == 1)
    stuck = next(iter(hub.by_channel[channel]))
    assert value(await scrape(admin.client), "forum_live_clients_dropped_total") == 0
    posted = 0
    while not stuck.closing and posted < 200:
        await admin.post(f"/api/v1/threads/{thread}/posts", {"body": f"{posted} " + "lang " * 8000}, expect=201)
        posted += 1
        await until(lambda: hub.delivered_id >= posted or stuck.closing)
    assert stuck.closing
    assert value(await scrape(admin.client), "forum_live_clients_dropped_total") == 1
    silent.close()


async def test_mail_waiting_and_sent_is_counted(admin, anonymous, svc):
    visitor = await anonymous()
    await svc.mailer.stop()  # the mail stays queued until this test sends it
    await visitor.post("/api/v1/password/forgot", {"email": admin.email}, expect=202)
    queued = await scrape(visitor.client)
    assert value(queued, "forum_mail_queued") == 1
    assert value(queued, "forum_mail_sent_total") == 0
    assert await svc.mailer.deliver_queued() == 1
    sent = await scrape(visitor.client)
    assert value(sent, "forum_mail_sent_total") == 1
    assert value(sent, "forum_mail_queued") == 0
    assert value(sent, "forum_mail_failures_total") == 0


async def test_scheduler_jobs_waiting_and_their_age(admin, server, clock):
    await server.app[scheduler_key].stop()  # the job waits until the test runs it
    group = await open_group(admin, "Werkgroep")
    assert value(await scrape(admin.client), "forum_scheduler_jobs_waiting") == 0
    # a new thread's notifications are fanned out by a durable job
    await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Fan-out", "body": "voor iedereen"},
                     expect=201)
    assert value(await scrape(admin.client), "forum_scheduler_jobs_waiting") == 1
    clock.advance(minutes=5)
    assert value(await scrape(admin.client), "forum_scheduler_oldest_job_age_seconds") >= 300
    await server.app[scheduler_key].run_once()
    done = await scrape(admin.client)
    assert value(done, "forum_scheduler_jobs_waiting") == 0
    assert value(done, "forum_scheduler_oldest_job_age_seconds") == 0


async def test_a_rate_limit_refusal_is_counted_by_name(limited, aiohttp_client, make_user):
    client = await aiohttp_client(limited)
    for _ in range(2):
        response = await client.post("/api/v1/login", json={"email": "niemand@example.nl", "password": "fout"})
        assert response.status in (401, 422), await response.text()
    response = await client.post("/api/v1/login", json={"email": "niemand@example.nl", "password": PASSWORD})
    assert response.status == 429
    samples = await scrape(client)
    assert value(samples, "forum_rate_limit_refusals_total", limit="LOGIN") == 1
    assert value(samples, "forum_http_requests_total", route="api.login", status="429") == 1


async def test_caches_count_hits_and_misses(anonymous):
    visitor = await anonymous()
    before = await scrape(visitor.client)
    for _ in range(3):
        assert (await visitor.client.get("/groups")).status == 200
    after = await scrape(visitor.client)
    # the first visit renders and keeps the page, the next two are answered from it
    assert value(after, "forum_cache_hits_total", cache="visitor_pages") - \
        value(before, "forum_cache_hits_total", cache="visitor_pages") == 2
    assert value(after, "forum_cache_misses_total", cache="visitor_pages") > \
        value(before, "forum_cache_misses_total", cache="visitor_pages")
    for cache in ("reader_pages", "reads", "sessions", "fragments"):
        assert ("forum_cache_hits_total", (("cache", cache),)) in after


async def test_database_write_waits_are_a_histogram(admin):
    before = await scrape(admin.client)
    await open_group(admin, "Nog een groep")
    after = await scrape(admin.client)
    assert value(after, "forum_db_write_wait_seconds_count") > value(before, "forum_db_write_wait_seconds_count")
    assert value(after, "forum_db_write_wait_seconds_bucket", le="+Inf") == \
        value(after, "forum_db_write_wait_seconds_count")


async def test_a_hundred_unknown_paths_make_one_label(anonymous):
    visitor = await anonymous()
    for number in range(100):
        assert (await visitor.client.get(f"/geen-pagina-{number}/x{number}")).status == 404
    response = await visitor.client.get("/metrics")
    text = await response.text()
    assert "geen-pagina" not in text  # never a raw path
    samples = await scrape(visitor.client)
    routes = {dict(labels)["route"] for (name, labels) in samples if name == "forum_http_requests_total"}
    assert value(samples, "forum_http_requests_total", route="unmatched", status="404") == 100
    assert routes <= {"unmatched", "metrics"}


async def test_a_scrape_answers_while_the_database_does_not(anonymous, monkeypatch):
    from forum.services import site_pages
    from forum.web import metrics

    async def away(*args, **kwargs):
        raise OSError("database away")
    visitor = await anonymous()
    monkeypatch.setattr(site_pages, "menus", away)  # every page reads the site's menus
    monkeypatch.setattr(metrics, "backlog", away)
    samples = await scrape(visitor.client)
    assert ("forum_live_sockets", ()) in samples  # what the process knows itself
    assert ("forum_mail_queued", ()) not in samples  # what it would have read is left out, not made up


async def test_the_process_says_who_it_is(anonymous, aiohttp_server, aiohttp_client, config, clock, monkeypatch):
    samples = await scrape((await anonymous()).client)
    assert value(samples, "target_info", pid=str(os.getpid()), worker="0") == 1
    assert value(samples, "process_resident_memory_bytes") > 0
    monkeypatch.setenv(WORKER_ENV, "3")  # as --workers starts its third process (forum/workers.py)
    worker = await aiohttp_client(await aiohttp_server(create_app(config, clock=clock)))
    assert value(await scrape(worker), "target_info", pid=str(os.getpid()), worker="3") == 1


# --- who may read it -------------------------------------------------------------------------


async def metrics_app(aiohttp_server, aiohttp_client, config, clock, **settings):
    app = create_app(replace(config, **settings), clock=clock)
    return await aiohttp_client(await aiohttp_server(app))


async def test_an_address_outside_the_allow_list_gets_403(aiohttp_server, aiohttp_client, config, clock):
    client = await metrics_app(aiohttp_server, aiohttp_client, config, clock, metrics_allow=networks("10.9.0.0/16"))
    response = await client.get("/metrics")
    assert response.status == 403
    text = await response.text()
    assert "FORUM_METRICS_ALLOW" in text and "127.0.0.1" in text
    assert "forum_http_requests_total" not in text


async def test_behind_a_trusted_proxy_the_client_it_names_decides(aiohttp_server, aiohttp_client, config, clock):
    client = await metrics_app(aiohttp_server, aiohttp_client, config, clock,
                               trusted_proxies=networks("127.0.0.1/32"), metrics_allow=networks("10.1.2.0/24"))
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})).status == 200
    refused = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert refused.status == 403 and "203.0.113.9" in await refused.text()
    # a client's own X-Forwarded-For entry, which nginx keeps on the left, gains nothing
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3, 203.0.113.9"})).status == 403
    # the proxy itself, on loopback, is no scraper: without a forwarded client it is not in the list
    assert (await client.get("/metrics")).status == 403


async def test_a_forwarding_header_from_an_untrusted_peer_never_passes(aiohttp_server, aiohttp_client, config,
                                                                      clock):
    # no trusted proxies: the header is a forgery, and the peer's own address is not allowed
    client = await metrics_app(aiohttp_server, aiohttp_client, config, clock, metrics_allow=networks("10.1.2.0/24"))
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})).status == 403
    # the peer (loopback) is allowed, but the request says it came through a proxy nobody
    # declared (nginx on loopback without FORUM_TRUSTED_PROXIES): who sent it is unknown
    client = await metrics_app(aiohttp_server, aiohttp_client, config, clock)
    assert (await client.get("/metrics")).status == 200
    for header, forged in (("X-Forwarded-For", "127.0.0.1"), ("Forwarded", "for=127.0.0.1"),
                           ("X-Real-IP", "127.0.0.1")):
        response = await client.get("/metrics", headers={header: forged})
        assert response.status == 403, header
        assert "FORUM_TRUSTED_PROXIES" in await response.text()
    # a trusted proxy elsewhere does not make loopback's forwarded request believable
    client = await metrics_app(aiohttp_server, aiohttp_client, config, clock, trusted_proxies=networks("10.0.0.0/8"))
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})).status == 403
