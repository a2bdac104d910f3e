"""What the front door (forum/web/page_cache.py open_front_door) must not break, found by an
attacker's review of it: a request it cannot answer, or one aiohttp refuses before any route is
chosen, still gets the site's own error answer with the security headers and an access-log line;
and the door is opened without the warning aiohttp's debug mode gives for a custom attribute."""
from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys

from forum import ROOT
from forum.keys import page_cache_key
from forum.web.access_log import RedactingAccessLogger


def _access_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]


def _errors(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def test_a_request_refused_before_routing_is_logged_without_breaking_the_logger(aiohttp_server, app, caplog):
    """aiohttp answers a request it cannot parse (400) with no route chosen, and its Request.app
    then asserts instead of raising AttributeError: the logger lost the line and wrote a
    traceback ("Unhandled exception") for every such request."""
    caplog.set_level(logging.INFO)
    server = await aiohttp_server(app, access_log_class=RedactingAccessLogger)
    answer = await _raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nCookie: \x01\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer[:60]
    await asyncio.sleep(0.05)
    assert not any("Unhandled exception" in message for message in _errors(caplog)), _errors(caplog)
    lines = _access_lines(caplog)
    assert len(lines) == 1 and '" 400 ' in lines[0], lines


async def test_a_front_door_that_fails_takes_the_long_way_instead_of_aiohttps_bare_500(
        aiohttp_server, aiohttp_client, app, caplog):
    """Whatever goes wrong at the door happens outside every middleware: it answered aiohttp's own
    "500 Internal Server Error" (no Content-Security-Policy, nosniff or Referrer-Policy; the
    connection closed) and broke the access log. Falling back to the long way answers as the site
    would had the door not been there."""
    caplog.set_level(logging.INFO)
    server = await aiohttp_server(app, access_log_class=RedactingAccessLogger)
    visitor = await aiohttp_client(server)
    kept = await (await visitor.get("/")).text()
    cache = app[page_cache_key]
    real_get = cache.get
    broken = []

    def failing_get(key, default=None, **counting):
        if isinstance(key, tuple) and len(key) == 2 and not broken:  # the door's lookup, once
            broken.append(key)
            raise RuntimeError("the door's lookup failed")
        return real_get(key, default, **counting)

    cache.get = failing_get
    response = await visitor.get("/", headers={"Accept": "text/html"})
    assert broken == [("/", "nl")]
    assert response.status == 200 and await response.text() == kept
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        assert name in response.headers, name
    await asyncio.sleep(0.05)
    assert not any("Unhandled exception" in message for message in _errors(caplog)), _errors(caplog)
    assert any("front door" in message for message in _errors(caplog))  # said, not swallowed
    assert len(_access_lines(caplog)) == 2


def test_the_door_opens_without_a_warning_in_aiohttps_debug_mode(tmp_path):
    """aiohttp's debug mode (python -X dev, PYTHONASYNCIODEBUG=1) warns of any Application
    attribute it does not list; with warnings as errors (the test suite's setting) every
    create_app failed there."""
    script = ("import warnings; warnings.simplefilter('error')\n"
              "from forum.app import create_app\n"
              "from forum.config import Config\n"
              f"create_app(Config(data_dir=__import__('pathlib').Path({str(tmp_path / 'data')!r}),"
              " secret_key='k', site_url='http://127.0.0.1:1'), announce_setup=False)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT.parent, capture_output=True, text=True,
                          env={**os.environ, "PYTHONASYNCIODEBUG": "1"}, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


async def test_a_page_answered_at_the_door_has_its_id_in_its_log_line_and_is_counted_once(
        aiohttp_server, aiohttp_client, app, caplog):
    """The operator's review: the id a visitor quotes must be in the log (it was only in the
    header), and a kept page's lookup counted once (the door's miss and the long way's were
    both counted, and every scrape of /metrics added a miss)."""
    import io
    import json

    from forum.logs import JsonFormatter
    from tests.test_ops_metrics import scrape, value

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("aiohttp.access")
    access.addHandler(handler)
    caplog.set_level(logging.INFO, logger="aiohttp.access")  # before the connection: it asks once
    try:
        server = await aiohttp_server(app, access_log_class=RedactingAccessLogger)
        visitor = await aiohttp_client(server)
        before = await scrape(visitor)
        answers = [await visitor.get("/over-ons-onbekend-maar-404") for _ in range(1)]
        pages = [await visitor.get("/") for _ in range(5)]  # one made, four kept
        after = await scrape(visitor)
        await asyncio.sleep(0.05)  # a line is written once its answer has gone
    finally:
        access.removeHandler(handler)
    assert value(after, "forum_cache_hits_total", cache="visitor_pages") - \
        value(before, "forum_cache_hits_total", cache="visitor_pages") == 4
    assert value(after, "forum_cache_misses_total", cache="visitor_pages") - \
        value(before, "forum_cache_misses_total", cache="visitor_pages") == 2  # the first "/" and the 404
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ids = {line.get("request_id") for line in lines}
    for response in answers + pages:
        assert response.headers["X-Request-Id"] in ids
    assert len({response.headers["X-Request-Id"] for response in pages}) == 5
