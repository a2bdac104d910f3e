"""End to end in real headless Chromium (Debian's, driven by Playwright): two people in two
browsers; one replies, the other sees it arrive without reloading; the second one's network
is cut, three replies are posted, the network comes back and all three show exactly once,
in their place. And: a mention picked from the suggestions lights the other's bell live; he
reads it, mutes the thread in two clicks, and hears nothing more."""
from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import pytest
from playwright.async_api import async_playwright

from forum.app import create_app
from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture
async def site(aiohttp_server, config, clock):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # the site URL must be the address the browser uses: the websocket checks its Origin
    app = create_app(replace(config, site_url=f"http://127.0.0.1:{port}"), clock=clock)
    await aiohttp_server(app, host="127.0.0.1", port=port)
    return f"http://127.0.0.1:{port}"


async def log_in(context, base: str, email: str):
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base}/")
    return page


async def register(context, base: str, email: str, name: str):
    page = await context.new_page()
    await page.goto(f"{base}/register")
    await page.fill("#f-email", email)
    await page.fill("#f-display_name", name)
    await page.fill("#f-password", PASSWORD)
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{base}/groups")
    return page


async def test_two_people_see_each_others_replies_live_across_a_dropped_connection(site):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            anna_ctx = await browser.new_context(locale="nl-NL")
            bert_ctx = await browser.new_context(locale="nl-NL")
            anna = await register(anna_ctx, site, "anna@example.nl", "Anna")
            bert = await register(bert_ctx, site, "bert@example.nl", "Bert")
            # Anna joins Regio Zwolle and starts a discussion, all in the browser
            await anna.goto(f"{site}/groups/2")
            await anna.click("text=Lid worden van deze groep")
            await anna.click("text=Nieuwe discussie")
            await anna.fill("#f-title", "Regiodeal")
            await anna.fill("#f-body", "Wie doet mee?")
            await anna.click("main form button[type=submit]")
            await anna.wait_for_selector("h1:has-text('Regiodeal')")
            thread_url = anna.url
            first_post = await anna.get_attribute("ol.posts li.post", "data-post-id")

            await bert.goto(f"{site}/groups/2")
            await bert.click("text=Lid worden van deze groep")
            bert_group = await bert_ctx.new_page()  # a second tab on the group's list
            await bert_group.goto(f"{site}/groups/2")
            await bert.goto(thread_url)
            await bert.evaluate("window.__notReloaded = true")
            await bert.wait_for_function("document.getElementById('live') !== null")

            # Anna replies to her own opening post; Bert sees it without reloading
            await anna.goto(f"{thread_url}?reply_to={first_post}")
            await anna.fill("#reply textarea", "Eerste reactie, live")
            await anna.click("#reply button[type=submit]")
            await bert.wait_for_selector("text=Eerste reactie, live", timeout=5000)
            assert await bert.evaluate("window.__notReloaded === true")
            live_reply = bert.locator("li.post", has_text="Eerste reactie, live")
            assert await live_reply.get_attribute("data-parent-id") == first_post
            assert "indent-1" in await live_reply.get_attribute("class")
            assert "Nieuw bericht van Anna" in await bert.text_content("#live-activity")

            # Bert's network goes; three replies are posted; it comes back
            await bert_ctx.set_offline(True)
            await bert.wait_for_timeout(300)
            for n in range(3):
                await anna.goto(thread_url)
                await anna.fill("#reply textarea", f"Gemiste reactie {n}")
                await anna.click("#reply button[type=submit]")
                await anna.wait_for_selector(f"text=Gemiste reactie {n}")
            await bert_ctx.set_offline(False)
            for n in range(3):
                await bert.wait_for_selector(f"text=Gemiste reactie {n}", timeout=20000)
            await bert.wait_for_timeout(500)
            for n in range(3):
                assert await bert.locator("li.post", has_text=f"Gemiste reactie {n}").count() == 1
            order = await bert.eval_on_selector_all("ol.posts li.post", "els => els.map(e => e.innerText)")
            assert [i for i, t in enumerate(order) if "Gemiste reactie" in t] == [2, 3, 4]
            assert await bert.evaluate("window.__notReloaded === true")

            # Anna (the first account, so admin) renames and locks the thread from its page;
            # Bert's thread tab and group tab follow without reloading
            await anna.goto(thread_url)
            await anna.click("text=Titel wijzigen")
            await anna.fill("#f-title", "Regiodeal: besluit")
            await anna.click("main form button[type=submit]")
            await anna.click("#thread-lock")
            await anna.wait_for_selector("#thread-locked:not([hidden])")
            await bert.wait_for_selector("h1:has-text('Regiodeal: besluit')", timeout=5000)
            await bert.wait_for_selector("#thread-locked:not([hidden])", timeout=5000)
            assert await bert.is_hidden("#reply")
            assert "Regiodeal: besluit" in await bert.title()
            row = bert_group.locator("#thread-rows tr", has_text="Regiodeal: besluit")
            await row.wait_for(timeout=5000)
            assert "Gesloten" in await row.inner_text() and "4" in await row.inner_text()
            assert await bert.evaluate("window.__notReloaded === true")
        finally:
            await browser.close()


async def test_a_member_is_told_live_of_a_mention_and_tunes_it_in_two_clicks(site):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            anna = await register(await browser.new_context(locale="nl-NL"), site, "anna@example.nl", "Anna Jansen")
            bert = await register(await browser.new_context(locale="nl-NL"), site, "bert@example.nl", "Bert de Wit")
            for page in (anna, bert):
                await page.goto(f"{site}/groups/3")
                await page.click("text=Lid worden van deze groep")
            await anna.click("text=Nieuwe discussie")
            await anna.fill("#f-title", "Energieplan")
            await anna.fill("#f-body", "Eerste versie")
            await anna.click("main form button[type=submit]")
            await anna.wait_for_selector("h1:has-text('Energieplan')")
            thread_url = anna.url

            await bert.goto(f"{site}/")  # any page: the bell listens
            await bert.wait_for_timeout(300)
            assert await bert.is_hidden("#bell-count")

            # Anna mentions Bert, picking him from the suggestions with the keyboard
            await anna.click("#reply textarea")
            await anna.keyboard.type("Wat vind jij, @be")
            await anna.wait_for_selector("[role=option]:has-text('Bert de Wit')")
            assert await anna.get_attribute("#reply textarea", "aria-activedescendant")
            await anna.keyboard.press("Enter")
            assert await anna.input_value("#reply textarea") == "Wat vind jij, @bert-de-wit "
            await anna.click("#reply button[type=submit]")

            await bert.wait_for_selector("#bell-count:not([hidden])", timeout=5000)
            assert (await bert.text_content("#bell-count")).startswith("1")
            assert "Anna Jansen noemde u in Energieplan" in await bert.text_content("#notification-live")
            await bert.click("#bell")
            await bert.click("text=Anna Jansen noemde u in Energieplan")
            await bert.wait_for_selector("h1:has-text('Energieplan')")
            await bert.wait_for_selector("#bell-count[hidden]", state="attached")  # read by seeing it

            # two clicks: choose "Negeren", save
            await bert.select_option("#level-select", "muted")
            await bert.click("form.level button[type=submit]")
            await bert.wait_for_selector("#level-select option[value=muted][selected]", state="attached")
            await anna.goto(thread_url)
            await anna.fill("#reply textarea", "Nog een vraag, @bert-de-wit?")
            await anna.click("#reply button[type=submit]")
            await anna.wait_for_selector("text=Nog een vraag")
            await bert.wait_for_timeout(800)
            assert await bert.is_hidden("#bell-count")  # muted: nothing
        finally:
            await browser.close()


XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>'


async def test_no_script_runs_from_anything_users_write(site):
    """An XSS corpus through every field people fill in, on every page that shows it and in
    live updates: nothing runs, and the text shows as text."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            dialogs = []
            contexts = [await browser.new_context(locale="nl-NL") for _ in range(2)]
            api = []
            for n, context in enumerate(contexts):
                email = f"xss{n}@example.nl"
                await context.request.post(f"{site}/api/v1/register", data={
                    "email": email, "password": PASSWORD, "display_name": f"{XSS}{n}"})
                login = await context.request.post(f"{site}/api/v1/login", data={"email": email, "password": PASSWORD})
                api.append({"X-CSRF-Token": (await login.json())["csrf_token"]})
            first, second = contexts

            async def call(context, headers, method, path, body=None):
                response = await context.request.fetch(f"{site}{path}", method=method, data=body, headers=headers)
                assert response.status < 300, (path, response.status, await response.text())
                return await response.json()

            group = (await call(first, api[0], "POST", "/api/v1/groups", {
                "name": XSS, "kind": "werkgroep", "visibility": "open", "description": XSS}))["group"]
            created = await call(first, api[0], "POST", f"/api/v1/groups/{group['id']}/threads", {
                "title": XSS, "body": f"{XSS} [klik](javascript:alert(3)) <iframe src=javascript:alert(4)>"})
            thread_id, post_id = created["thread"]["id"], created["post"]["id"]
            await call(second, api[1], "POST", f"/api/v1/groups/{group['id']}/join")
            await call(second, api[1], "POST", f"/api/v1/threads/{thread_id}/posts",
                       {"body": f"{XSS} @xss0", "parent_id": post_id})
            await call(second, api[1], "POST", f"/api/v1/posts/{post_id}/reports", {"reason": "other", "text": XSS})
            await call(first, api[0], "PATCH", f"/api/v1/threads/{thread_id}", {"locked": True})

            page = await first.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())))
            for path in ("/", "/groups", f"/groups/{group['id']}", f"/threads/{thread_id}",
                         f"/groups/{group['id']}/members", "/users/1", "/users/2", "/notifications", "/moderation",
                         "/audit", "/admin/users", f"/posts/{post_id}/revisions"):
                response = await page.goto(f"{site}{path}")
                assert response.status == 200, path
                await page.wait_for_timeout(100)
                assert await page.evaluate("document.querySelectorAll('main script, main img[src=x], main iframe').length") == 0, path
                assert XSS in await page.inner_text("body"), path  # shown as the text it is
            # and live: a reply arrives while the thread is open
            await page.goto(f"{site}/threads/{thread_id}")
            await call(first, api[0], "PATCH", f"/api/v1/threads/{thread_id}", {"locked": False, "title": XSS + "!"})
            await call(second, api[1], "POST", f"/api/v1/threads/{thread_id}/posts", {"body": f"live {XSS}"})
            await page.wait_for_selector("text=live <img", timeout=5000)
            await page.wait_for_timeout(300)
            assert await page.evaluate("document.querySelectorAll('main script, main img[src=x]').length") == 0
            assert dialogs == []
        finally:
            await browser.close()
