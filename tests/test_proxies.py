"""Behind a reverse proxy (issue 13): the client's address comes from X-Forwarded-For or
Forwarded only when the connection comes from a trusted proxy (FORUM_TRUSTED_PROXIES), read
from the right past our own hops, so rate limits key on real clients and nobody can pick the
address they are counted under."""
from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest
from multidict import CIMultiDict

from forum.config import from_env, parse_networks
from forum.limits import ALL_OFF
from forum.web.proxies import client_address, client_scheme

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.5 2001:db8::/32")


def headers(**values) -> CIMultiDict:
    return CIMultiDict({name.replace("_", "-"): value for name, value in values.items()})


def test_the_address_is_read_from_the_right_past_trusted_hops():
    chain = headers(X_Forwarded_For="203.0.113.9, 198.51.100.7, 10.1.2.3")
    assert client_address("10.0.0.1", chain, PROXIES) == "198.51.100.7"  # the left one could be forged
    assert client_address("192.168.1.5", headers(X_Forwarded_For="203.0.113.9"), PROXIES) == "203.0.113.9"
    assert client_address("10.0.0.1", headers(X_Forwarded_For="10.9.9.9, 10.1.1.1"), PROXIES) == "10.9.9.9"
    forwarded = headers(Forwarded='for=198.51.100.7;proto=https, for="[2001:db8::1]:443"')
    assert client_address("10.0.0.1", forwarded, PROXIES, "forwarded") == "198.51.100.7"
    assert client_scheme("10.0.0.1", forwarded, PROXIES, "forwarded") == "https"
    assert client_address("10.0.0.1", headers(Forwarded="for=198.51.100.7:8080"), PROXIES, "forwarded") == "198.51.100.7"
    assert client_scheme("10.0.0.1", headers(X_Forwarded_Proto="https"), PROXIES) == "https"
    assert client_address("::ffff:10.0.0.1", headers(X_Forwarded_For="203.0.113.9"), PROXIES) == "203.0.113.9"


def test_only_the_header_the_proxy_writes_is_read():
    # nginx sets X-Forwarded-For and passes the client's own Forwarded through untouched
    sent = headers(Forwarded="for=203.0.113.77;proto=https", X_Forwarded_For="198.51.100.7")
    assert client_address("10.0.0.1", sent, PROXIES) == "198.51.100.7"
    assert client_scheme("10.0.0.1", sent, PROXIES) is None
    # and the other way round, for a proxy that writes Forwarded
    sent = headers(Forwarded="for=198.51.100.7", X_Forwarded_For="203.0.113.77", X_Forwarded_Proto="https")
    assert client_address("10.0.0.1", sent, PROXIES, "forwarded") == "198.51.100.7"
    assert client_scheme("10.0.0.1", sent, PROXIES, "forwarded") is None


def test_headers_from_anyone_else_are_ignored():
    forged = headers(X_Forwarded_For="1.2.3.4", Forwarded="for=1.2.3.4", X_Forwarded_Proto="https")
    assert client_address("198.51.100.7", forged, PROXIES) == "198.51.100.7"
    assert client_scheme("198.51.100.7", forged, PROXIES) is None
    assert client_address("10.0.0.1", forged, ()) == "10.0.0.1"  # no proxies trusted: nobody's headers count
    # what a trusted proxy passes on that is not an address: the proxy is what we know
    for junk in ("unknown", "<script>", "1.2.3.4.5", "", "_hidden"):
        assert client_address("10.0.0.1", headers(X_Forwarded_For=junk), PROXIES) == "10.0.0.1"
    assert client_scheme("10.0.0.1", headers(X_Forwarded_Proto="javascript"), PROXIES) is None
    assert client_address("10.0.0.1", headers(), PROXIES) == "10.0.0.1"


def test_the_list_comes_from_the_environment_and_bad_entries_stop_the_start():
    config = from_env({"FORUM_TRUSTED_PROXIES": "127.0.0.1, ::1 10.0.0.0/8"})
    assert ipaddress.ip_address("10.200.0.1") in config.trusted_proxies[2]
    with pytest.raises(ValueError, match="FORUM_TRUSTED_PROXIES"):
        from_env({"FORUM_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example.nl"})
    with pytest.raises(ValueError, match="FORUM_REDIS_URL"):
        from_env({"FORUM_REDIS_URL": "localhost:6379"})
    with pytest.raises(ValueError, match="FORUM_PROXY_HEADER"):
        from_env({"FORUM_PROXY_HEADER": "x-real-ip"})
    assert from_env({"FORUM_PROXY_HEADER": "Forwarded"}).proxy_header == "forwarded"


@pytest.fixture
def config(config):
    return replace(config, trusted_proxies=parse_networks("127.0.0.1"), limits={**ALL_OFF, "REGISTER": (2, 3600)})


async def register(client, name: str, forwarded_for: str | None):
    extra = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post("/api/v1/register", headers=extra, json={
        "accept_terms": True, "email": f"{name}@example.nl", "password": "een lang wachtwoord", "display_name": name})


async def test_rate_limits_count_the_clients_behind_the_proxy(aiohttp_client, server):
    client = await aiohttp_client(server)
    for name in ("een", "twee"):
        assert (await register(client, name, "198.51.100.7")).status == 201
    refused = await register(client, "drie", "198.51.100.7")
    assert refused.status == 429 and "Retry-After" in refused.headers
    assert (await register(client, "vier", "203.0.113.9")).status == 201  # another client behind the same proxy
    # the live socket works through the proxy's request too
    ws = await client.ws_connect("/api/v1/live", headers={"X-Forwarded-For": "203.0.113.9"})
    await ws.send_json({"type": "subscribe", "channels": ["site"]})
    assert (await ws.receive_json())["type"] in ("subscribed", "error")
    await ws.close()


async def test_without_trusted_proxies_the_header_changes_nothing(aiohttp_client, config):
    from forum.app import create_app
    untrusted = create_app(replace(config, trusted_proxies=()))
    from aiohttp.test_utils import TestServer
    client = await aiohttp_client(TestServer(untrusted))
    assert (await register(client, "een", "198.51.100.1")).status == 201
    assert (await register(client, "twee", "198.51.100.2")).status == 201
    assert (await register(client, "drie", "198.51.100.3")).status == 429  # all three came from 127.0.0.1


async def test_the_access_log_names_the_client_not_the_proxy(aiohttp_server, aiohttp_client, app, caplog):
    import logging

    from forum.web.access_log import RedactingAccessLogger
    server = await aiohttp_server(app, access_log_class=RedactingAccessLogger)
    client = await aiohttp_client(server)
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        await client.get("/", headers={"X-Forwarded-For": "198.51.100.7"})
        await client.get("/over", headers={"X-Forwarded-For": "garbage"})
    lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]
    assert lines[0].startswith('198.51.100.7 "GET / ') and lines[1].startswith('127.0.0.1 "GET /over')
