"""The README's nginx configuration, against a running nginx (issue 13). Debian's nginx is started
as an unprivileged, foreground, self-contained instance whose http{} block is exactly the fenced
```nginx block of README.md ("Several processes (Redis) and a reverse proxy"), read at test time,
with only the listen address and the two upstream ports changed. Behind it: two forum processes
on one data directory and a redis-server of the test's own. Through nginx only: a page, a login
by the HTML form, a thread and a reply by the HTML forms, a live update over the websocket that
nginx upgrades, and the client's address as the rate limits see it."""
from __future__ import annotations

import asyncio
import grp
import os
import pwd
import re
import signal
import socket
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from forum import ROOT
from tests.conftest import PASSWORD, RedisServer
from tests.test_crash import free_port, member, wait_up
from tests.test_processes import new_session, next_frame, start_server, stop

NGINX = "/usr/sbin/nginx"
SECTION = "### Several processes (Redis) and a reverse proxy"


def readme_nginx_block() -> str:
    """The fenced ```nginx block of the README's section on several processes and a proxy."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    following = text.find("\n#", start + len(SECTION))  # the next heading ends the section
    section = text[start:following if following != -1 else len(text)]
    blocks = re.findall(r"^```nginx\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, "the README's section should hold one ```nginx block"
    return blocks[0]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the README's nginx block should contain {old!r} once"
    return text.replace(old, new)


def nginx_conf(directory: Path, port: int, upstreams: list[int]) -> str:
    block = readme_nginx_block()
    block = replace_once(block, "listen 80;", f"listen 127.0.0.1:{port};")
    block = replace_once(block, "server 127.0.0.1:8080;", f"server 127.0.0.1:{upstreams[0]};")
    block = replace_once(block, "server 127.0.0.1:8081;", f"server 127.0.0.1:{upstreams[1]};")
    # As root (in CI), workers would otherwise drop to "nobody", who cannot write in tmp_path.
    user = ""
    if os.geteuid() == 0:
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
    temp = "\n".join(f"    {kind}_temp_path {directory / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\n"
            f"pid {directory / 'nginx.pid'};\n"
            f"error_log {directory / 'error.log'} info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "    log_format upstreams '$request_method $uri $status $upstream_addr';\n"
            f"    access_log {directory / 'access.log'} upstreams;\n"
            f"{temp}\n"
            f"{block}"
            "}\n")


class Nginx:
    def __init__(self, directory: Path, upstreams: list[int]):
        self.directory = directory
        self.port = free_port()
        self.upstreams = upstreams
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logged(self) -> list[str]:
        """The access log: method, path, status and the process that answered, one a line."""
        path = self.directory / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    async def page_before(self, session: aiohttp.ClientSession, url: str, upstream: int) -> str:
        """A page, fetched (once more if need be) so that nginx's next request goes to `upstream`:
        with one worker and nothing else in flight, round robin over two servers takes turns."""
        for _ in range(4):
            before = len(self.logged())
            html = await page(session, url)
            deadline = time.monotonic() + 5
            while len(self.logged()) == before:  # nginx logs once the answer is out
                assert time.monotonic() < deadline, "nginx did not log the request"
                await asyncio.sleep(0.01)
            if not self.logged()[-1].endswith(f" 127.0.0.1:{upstream}"):
                return html
        raise AssertionError(f"nginx did not take turns:\n{chr(10).join(self.logged())}")

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nginx.conf"
        conf.write_text(nginx_conf(self.directory, self.port, self.upstreams), encoding="utf-8")
        command = [NGINX, "-p", str(self.directory), "-c", str(conf), "-e", str(self.directory / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, f"nginx refuses the configuration:\n{checked.stderr}\n{conf.read_text()}"
        with open(self.directory / "stderr.log", "ab") as out:
            # its own session: if it must be killed, its workers go with it (killpg of this pid)
            self.process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=out, stderr=out,
                                            start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"nginx stopped at once ({self.process.returncode}):\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nginx did not listen:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master stops its workers
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever of its own group is left
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.process = None


class Forms(HTMLParser):
    """The forms of a page: action, method, enctype and the values of their fields."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._open = {"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                          "enctype": attrs.get("enctype") or "application/x-www-form-urlencoded", "fields": {}}
            self.forms.append(self._open)
        elif self._open is not None and tag in ("input", "textarea") and attrs.get("name"):
            if attrs.get("type") not in ("file", "submit", "button", "checkbox", "radio"):  # none chosen
                self._open["fields"].setdefault(attrs["name"], attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None

    def find(self, action: str) -> dict:
        found = [form for form in self.forms if form["action"].split("#")[0] == action]
        assert len(found) >= 1, f"no form posting to {action}: {[f['action'] for f in self.forms]}"
        return found[0]


async def submit(session: aiohttp.ClientSession, url: str, form: dict, **values) -> aiohttp.ClientResponse:
    """Send a form as a browser would (its enctype), with its hidden fields and these values."""
    fields = {**form["fields"], **values}
    if form["enctype"] == "multipart/form-data":
        data = aiohttp.FormData()
        for name, value in fields.items():  # csrf_token first, as in the page
            data.add_field(name, value)
    else:
        data = fields
    return await session.post(url, data=data)


async def page(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as r:
        assert r.status == 200, (url, r.status)
        assert r.headers.get("Server", "").startswith("nginx")  # answered through the proxy
        return await r.text()


async def register(base: str, email: str, local_address: str, forged: str | None = None,
                   forwarded: str | None = None) -> int:
    """A registration by the JSON API from one source address; the status it got."""
    connector = aiohttp.TCPConnector(local_addr=(local_address, 0), force_close=True)
    headers = {"X-Forwarded-For": forged} if forged else {}
    if forwarded:  # nginx passes a client's own Forwarded header on untouched
        headers["Forwarded"] = forwarded
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(f"{base}/api/v1/register", headers=headers, json={
                "accept_terms": True, "email": email, "password": PASSWORD, "display_name": email.split("@")[0]}) as r:
            await r.read()
            return r.status


async def test_the_readme_nginx_configuration_serves_pages_forms_live_updates_and_client_addresses(tmp_path):
    assert Path(NGINX).exists(), "Debian's nginx is installed by the CI script (apt-get install nginx)"
    data = tmp_path / "data"
    data.mkdir()
    redis = RedisServer(tmp_path)
    upstreams = [free_port(), free_port()]
    proxy = Nginx(tmp_path / "nginx", upstreams)
    processes: list[subprocess.Popen] = []
    try:
        redis.start()
        proxy.start()
        extra = {"FORUM_TRUSTED_PROXIES": "127.0.0.1", "FORUM_SITE_URL": proxy.base,
                 "FORUM_LIMIT_REGISTER": "2/3600", "FORUM_BUS_POLL_SECONDS": "60"}  # live updates come over Redis
        async with new_session() as probe:
            # both at once on a new data directory, as --workers starts them
            processes += [start_server(data, port, redis.url, **extra) for port in upstreams]
            for port in upstreams:
                await wait_up(probe, f"http://127.0.0.1:{port}")
        base = proxy.base

        async with new_session() as browser:
            # a page, in Dutch
            home = await page(browser, f"{base}/")
            assert '<html lang="nl">' in home and "Inloggen" in home
            # every answer carries nginx's request id (32 hex digits), never one a client chose
            for _ in range(2):  # made, then kept (answered at the front door)
                async with browser.get(f"{base}/", headers={"X-Request-Id": "door-chosen-by-client"}) as r:
                    assert r.status == 200 and re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-Id"]), r.headers

            # an account by the JSON API (the first registration from 127.0.0.1 of the two allowed)
            async with new_session() as api:
                await member(api, base, "lid@example.nl", "Lid Achter Nginx")

            # a login by the HTML form; the session cookie works on the next page
            login = Forms(await page(browser, f"{base}/login")).find("/login")
            assert login["fields"]["csrf_token"]
            async with await submit(browser, f"{base}/login", login, email="lid@example.nl",
                                    password=PASSWORD) as r:
                assert r.status == 200 and r.url.path == "/", (r.status, r.url)
                assert "Lid Achter Nginx" in await r.text()
            group = await page(browser, f"{base}/groups/2")
            assert "Lid Achter Nginx" in group and "Uitloggen" in group

            # a new discussion by the group's form
            new = Forms(await page(browser, f"{base}/groups/2/threads/new")).find("")
            async with await submit(browser, f"{base}/groups/2/threads/new", new,
                                    title="Achter een proxy", body="Het eerste bericht.") as r:
                assert r.status == 200, r.status
                match = re.fullmatch(r"/threads/(\d+)", r.url.path)
                assert match, r.url
                shown = await r.text()
                assert "Achter een proxy" in shown and "Het eerste bericht." in shown
            thread_id = int(match.group(1))

            # a live update through nginx's upgraded socket, for a reply by the thread's form
            async with browser.ws_connect(f"{base.replace('http', 'ws', 1)}/api/v1/live", origin=base,
                                          timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
                await ws.send_json({"type": "subscribe", "channels": [f"thread:{thread_id}"]})
                subscribed = await next_frame(ws, "subscribed")
                assert subscribed["channels"] == [f"thread:{thread_id}"]
                for n in range(2):  # one reply written by each process, so one reaches the socket over Redis
                    html = await proxy.page_before(browser, f"{base}/threads/{thread_id}", upstreams[n])
                    reply = Forms(html).find(f"/threads/{thread_id}/reply")
                    words = f"Antwoord nummer {n} via het formulier."
                    async with await submit(browser, f"{base}/threads/{thread_id}/reply", reply, body=words) as r:
                        assert [h.status for h in r.history] == [303] and r.status == 200, (r.history, r.status)
                        assert r.url.path == f"/threads/{thread_id}", r.url
                        # the page after the redirect, from whichever process, already shows it
                        # (forum/web/freshness.py: the writer's cookie makes a process behind catch up)
                        assert words in await r.text()
                    event = await next_frame(ws, "event")
                    while event["kind"] != "post.created":
                        event = await next_frame(ws, "event")
                    assert event["channel"] == f"thread:{thread_id}" and words in str(event["data"]["post"]), event
            shown = await page(browser, f"{base}/threads/{thread_id}")
            assert "Antwoord nummer 0 via" in shown and "Antwoord nummer 1 via" in shown

        # which process answered what, as nginx logged it: each wrote one reply, and the socket
        # was on one of them, so the other's reply reached it over Redis (the timer is at 60 s)
        log = "\n".join(proxy.logged())
        replies = re.findall(rf"^POST /threads/{thread_id}/reply 303 (\S+)$", log, flags=re.MULTILINE)
        sockets = re.findall(r"^GET /api/v1/live 101 (\S+)$", log, flags=re.MULTILINE)
        assert sorted(replies) == sorted(f"127.0.0.1:{port}" for port in upstreams), log
        assert len(sockets) == 1 and sockets[0] in replies, log

        # A socket from another site's page is refused, also through nginx.
        async with new_session() as other:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await other.ws_connect(f"{base.replace('http', 'ws', 1)}/api/v1/live", origin="http://elders.example")
            assert refused.value.status == 403

        # The client's address. nginx appends the peer to X-Forwarded-For ($proxy_add_x_forwarded_for);
        # the forum reads right to left past trusted hops (127.0.0.1). A real client (here
        # 127.0.0.2, not a trusted address) is named by nginx's own entry, and what it wrote
        # itself to the left is never read: "1.2.3.4, 127.0.0.2" counts under 127.0.0.2.
        # Registrations are limited to 2 an hour per address, counted in Redis for both processes.
        assert await register(base, "twee-a@example.nl", "127.0.0.2") == 201
        assert await register(base, "twee-b@example.nl", "127.0.0.2") == 201
        assert await register(base, "twee-c@example.nl", "127.0.0.2") == 429
        assert await register(base, "twee-d@example.nl", "127.0.0.2", forged="1.2.3.4") == 429
        assert await register(base, "twee-e@example.nl", "127.0.0.2", forged="1.2.3.4, 9.9.9.9") == 429
        assert await register(base, "twee-f@example.nl", "127.0.0.2", forwarded="for=1.2.3.5") == 429
        # another client has its own allowance
        assert await register(base, "drie-a@example.nl", "127.0.0.3") == 201
        # A client on the proxy's own address (127.0.0.1, trusted as a hop) is a trusted hop itself:
        # "1.2.3.4, 127.0.0.1" skips 127.0.0.1 and names 1.2.3.4. So from 127.0.0.1 a forged entry
        # does get a fresh allowance; only someone who may already connect from a trusted proxy's
        # address can do that (as they could by sending to the forum directly).
        assert await register(base, "een-b@example.nl", "127.0.0.1") == 201  # the 2nd, after member()
        assert await register(base, "een-c@example.nl", "127.0.0.1") == 429
        assert await register(base, "een-d@example.nl", "127.0.0.1", forged="1.2.3.4") == 201
        assert await register(base, "een-e@example.nl", "127.0.0.1", forged="1.2.3.4") == 201
        assert await register(base, "een-f@example.nl", "127.0.0.1", forged="1.2.3.4") == 429
        for process in processes:
            assert process.poll() is None, "a forum process stopped"
        assert "[emerg]" not in proxy.log() and "[crit]" not in proxy.log(), proxy.log()
    finally:
        for process in processes:
            stop(process)
        proxy.stop()
        redis.stop()
