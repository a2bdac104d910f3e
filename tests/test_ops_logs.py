"""Logs and request ids (issue 15): every answer carries an X-Request-Id (a trusted proxy's
own when it is sane, never a forged one echoed), its log lines and its error answers name
it; FORUM_LOG_FORMAT=json writes one JSON object per line, the access log and tracebacks
included; and no password, token or message body reaches a log line, whichever way the
request went (a login, a reset link, a post, an error in the middle of a post)."""
from __future__ import annotations

import asyncio
import email.policy
import ipaddress
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import replace
from email import message_from_bytes
from io import StringIO

import aiohttp
import pytest

from forum import ROOT
from forum.app import create_app
from forum.keys import services_key
from forum.logs import JsonFormatter, TextFormatter
from forum.services import accounts
from forum.web.access_log import RedactingAccessLogger
from tests.conftest import PASSWORD, ApiUser, open_group
from tests.test_crash import wait_up

GENERATED = re.compile(r"[0-9a-f]{8}-[0-9]+")
BODY = "Vertrouwelijk-zinsdeel-7Q4 over de begroting"
NEW_PASSWORD = "een geheel nieuwe wachtwoordzin 9Z"


def networks(text: str) -> tuple:
    return tuple(ipaddress.ip_network(part) for part in text.split())


@pytest.fixture
def captured():
    """Every log record of the test, as FORUM_LOG_FORMAT=json writes it (forum/logs.py)."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines_of(stream: StringIO) -> list[dict]:
    lines = stream.getvalue().splitlines()
    assert lines
    return [json.loads(line) for line in lines]  # each line is one JSON object


# --- the id on every answer ---------------------------------------------------------------


async def test_every_answer_carries_a_request_id_a_visitors_kept_page_too(anonymous):
    visitor = await anonymous()
    seen = set()
    for path in ("/groups", "/groups", "/api/v1/groups", "/nergens", "/static/style.css"):
        response = await visitor.client.get(path)
        request_id = response.headers["X-Request-Id"]
        assert GENERATED.fullmatch(request_id), (path, request_id)
        seen.add(request_id)
    assert len(seen) == 5  # one per request
    # a redirect (log in first) carries one as well
    redirect = await visitor.client.get("/settings/profile", allow_redirects=False)
    assert redirect.status == 303 and GENERATED.fullmatch(redirect.headers["X-Request-Id"])


async def test_the_id_is_in_the_api_error_and_on_the_error_page(anonymous):
    visitor = await anonymous()
    response = await visitor.client.get("/api/v1/threads/999999")
    assert response.status == 404
    assert (await response.json())["error"]["request_id"] == response.headers["X-Request-Id"]
    page = await visitor.client.get("/threads/999999")
    assert page.status == 404
    text = await page.text()
    assert "Foutcode" in text and f"<code>{page.headers['X-Request-Id']}</code>" in text
    english = await visitor.client.get("/threads/999999", headers={"Accept-Language": "en"})
    assert "Error reference" in await english.text()


async def test_a_server_error_shows_its_id_to_the_user(anonymous, monkeypatch):
    from forum.services import site_pages

    async def broken(svc):
        raise RuntimeError("stuk")
    monkeypatch.setattr(site_pages, "menus", broken)
    visitor = await anonymous()
    response = await visitor.client.get("/groups")
    assert response.status == 500
    assert f"Foutcode / reference: {response.headers['X-Request-Id']}" in await response.text()


async def test_a_trusted_proxys_sane_id_is_kept_and_anything_else_replaced(aiohttp_server, aiohttp_client, config,
                                                                          clock):
    proxied = await aiohttp_client(await aiohttp_server(
        create_app(replace(config, trusted_proxies=networks("127.0.0.1/32")), clock=clock)))
    sane = "nginx-7f3a9c01b2e4/42"
    assert (await proxied.get("/groups", headers={"X-Request-Id": sane})).headers["X-Request-Id"] == sane
    for bad in ("met spatie", "x" * 129, "é-niet-ascii", ""):
        answered = (await proxied.get("/groups", headers={"X-Request-Id": bad})).headers["X-Request-Id"]
        assert GENERATED.fullmatch(answered), bad
    # from anyone who is not a trusted proxy, even a sane id is not taken
    direct = await aiohttp_client(await aiohttp_server(create_app(config, clock=clock)))
    answered = (await direct.get("/groups", headers={"X-Request-Id": sane})).headers["X-Request-Id"]
    assert answered != sane and GENERATED.fullmatch(answered)


async def raw_get(server, header_value: bytes) -> bytes:
    """A request written byte by byte, as no client library would send it."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /groups HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: " + header_value + b"\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


@pytest.mark.parametrize("forged", [b"abc\x01def", b"abc\x7fdef", b"abc\tdef", b"abc\x1b[31mrood",
                                    b"abc\rSet-Cookie: x=1"])
async def test_a_forged_id_with_control_characters_is_never_echoed(aiohttp_server, config, clock, forged):
    server = await aiohttp_server(create_app(replace(config, trusted_proxies=networks("127.0.0.1/32")), clock=clock))
    answer = await raw_get(server, forged)
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert forged not in answer and b"Set-Cookie: x=1" not in head
    ids = re.findall(rb"X-Request-Id: ([^\r\n]*)", head, re.IGNORECASE)
    # answered by the forum with an id of its own, or refused by the HTTP parser before it
    assert all(GENERATED.fullmatch(value.decode()) for value in ids), ids


# --- what the log lines hold -----------------------------------------------------------------


async def test_json_lines_name_the_request_and_hold_no_secret(aiohttp_server, aiohttp_client, app, captured,
                                                               monkeypatch):
    server = await aiohttp_server(app, access_log_class=RedactingAccessLogger)  # as forum/cli.py serves
    email = "beheerder@example.nl"
    await accounts.create_admin(server.app[services_key], email=email, password=PASSWORD, display_name="Beheerder")
    user = ApiUser(await aiohttp_client(server), email)
    await user.login()  # the password goes in a JSON body
    login_form = await aiohttp_client(server)  # and by a form (refused: its token is wrong)
    refused = await login_form.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": "x"})
    assert refused.status == 403
    group = await open_group(user, "Werkgroep")
    thread = (await user.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Begroting", "body": BODY},
                              expect=201))["thread"]["id"]
    await user.post(f"/api/v1/threads/{thread}/posts", {"body": BODY}, expect=201)
    visitor = ApiUser(await aiohttp_client(server), "")
    await visitor.post("/api/v1/password/forgot", {"email": email}, expect=202)
    async with server.app[services_key].db.read() as conn:
        mail = (await conn.execute_fetchall("SELECT body_text FROM outbox ORDER BY id DESC LIMIT 1"))[0][0]
    token = re.search(r"/password/reset/(\S+)", mail).group(1)
    assert (await visitor.client.get(f"/password/reset/{token}")).status == 200
    await visitor.post("/api/v1/password/reset", {"token": token, "password": NEW_PASSWORD})
    # an error in the middle of a post: a traceback is logged, the post's words are not
    from forum.services import discussions

    async def broken(*args, **kwargs):
        raise RuntimeError("de opslag weigerde")
    monkeypatch.setattr(discussions, "reply", broken)
    await user.login(NEW_PASSWORD)
    failed = await user.client.post(f"/api/v1/threads/{thread}/posts", json={"body": BODY},
                                    headers={"X-CSRF-Token": user.csrf})
    assert failed.status == 500
    failed_id = failed.headers["X-Request-Id"]
    await asyncio.sleep(0.05)  # the access log line follows the answer

    text = captured.getvalue()
    for secret in (PASSWORD, NEW_PASSWORD, token, BODY, BODY.split()[0]):
        assert secret not in text, secret
    lines = lines_of(captured)
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
    access = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert access and all({"request_id", "route", "status", "duration", "path"} <= line.keys() for line in access)
    assert any(line["path"] == "/password/reset/…" and line["route"] == "password.reset" for line in access)
    # a logged-in user's requests name them
    assert any(line.get("user_id") == user.id and line["route"] == "api.thread.reply" for line in access)
    # the error's traceback is in a field of the line of its own request, as is its access line
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["request_id"] == failed_id and error["route"] == "api.thread.reply"
    assert "Traceback" in error["exception"] and "de opslag weigerde" in error["exception"]
    assert any(line["request_id"] == failed_id and line["status"] == 500 for line in access)


def test_text_lines_end_with_the_request_id():
    from forum.logs import RequestInfo, current_request

    record = logging.LogRecord("forum.test", logging.WARNING, __file__, 1, "iets %s", ("mis",), None)
    assert TextFormatter().format(record).endswith("forum.test: iets mis")
    current_request.set(RequestInfo("abc-1", None, 0.0))
    try:
        assert TextFormatter().format(record).endswith("forum.test: iets mis [request abc-1]")
    finally:
        current_request.set(None)


# --- the real server process, FORUM_LOG_FORMAT=json ----------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def reset_token(outbox) -> str:
    """The token of the reset link the server wrote to its outbox directory (no SMTP set)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in outbox.glob("*.eml"):
            body = message_from_bytes(path.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
            found = re.search(r"/password/reset/(\S+)", body)
            if found:
                return found.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError("no reset mail")


async def test_a_server_process_writes_only_json_lines_without_secrets(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_file, out_file = tmp_path / "server.log", tmp_path / "server.out"
    env = {**os.environ, "FORUM_DATA_DIR": str(tmp_path / "data"), "FORUM_PORT": str(port), "FORUM_HOST": "127.0.0.1",
           "FORUM_BCRYPT_ROUNDS": "4", "FORUM_LOG_LEVEL": "INFO", "FORUM_LOG_FORMAT": "json"}
    with open(log_file, "wb") as log, open(out_file, "wb") as out:
        server = subprocess.Popen([sys.executable, str(ROOT / "run.py")], env=env, stdout=out, stderr=log)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            await wait_up(session, base)
            email = "schrijver@example.nl"
            async with session.post(f"{base}/api/v1/register", json={
                    "accept_terms": True, "email": email, "password": PASSWORD, "display_name": "Schrijver"}) as r:
                assert r.status == 201
            async with session.post(f"{base}/api/v1/login", json={"email": email, "password": PASSWORD}) as r:
                headers = {"X-CSRF-Token": (await r.json())["csrf_token"]}
            async with session.post(f"{base}/api/v1/groups/2/join", headers=headers) as r:
                assert r.status == 200
            async with session.post(f"{base}/api/v1/groups/2/threads", headers=headers,
                                    json={"title": "Begroting", "body": BODY}) as r:
                assert r.status == 201, await r.text()
            async with session.post(f"{base}/api/v1/password/forgot", headers=headers, json={"email": email}) as r:
                assert r.status == 202
            token = await reset_token(tmp_path / "data" / "outbox")
            async with session.get(f"{base}/password/reset/{token}") as r:
                assert r.status == 200
            async with session.post(f"{base}/api/v1/password/reset", headers=headers,
                                    json={"token": token, "password": NEW_PASSWORD}) as r:
                assert r.status == 200
            async with session.get(f"{base}/nergens") as r:
                assert r.status == 404
                missing_id = r.headers["X-Request-Id"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log_file.read_text()
    for secret in (PASSWORD, NEW_PASSWORD, token, BODY):
        assert secret not in text + out_file.read_text(), secret
    # the log (stderr): every line is JSON; standard output has aiohttp's "Running on" lines alone
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line for line in out_file.read_text().splitlines() if line.strip()] == \
        [f"======== Running on http://127.0.0.1:{port} ========", "(Press CTRL+C to quit)"]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    access = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert any(line.get("request_id") == missing_id and line["route"] == "unmatched" and line["status"] == 404
               for line in access)
    assert any(line["path"] == "/password/reset/…" for line in access)
