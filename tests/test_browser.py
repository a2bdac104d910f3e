"""End to end in real headless Chromium (Debian's, driven by Playwright): two people in two
browsers; one replies, the other sees it arrive without reloading; the server drops the second
one's socket with 4000 ("fell behind: resume"), replies are posted while he is away and after
he is back, and each shows exactly once, in its place. A mention picked from the suggestions
lights the other's bell live; he reads it, mutes the thread in two clicks, and hears nothing
more. And an XSS corpus through every field people fill in, judged in the DOM."""
from __future__ import annotations

from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from forum.keys import hub_key, scheduler_key
from forum.services import accounts, discussions
from forum.web.cookies import SESSION_COOKIE
from tests.conftest import PASSWORD
from tests.helpers_browser import (ALL, ARGS, CHROMIUM, PAYLOADS, TEMPLATE, api_user, assert_clean,
                                   close_all, log_in, make_admin, packed)


async def register(context, base: str, email: str, name: str):
    page = await context.new_page()
    await page.goto(f"{base}/register")
    await page.fill("#f-email", email)
    await page.fill("#f-display_name", name)
    await page.fill("#f-password", PASSWORD)
    await page.check("#f-accept_terms")  # the terms and privacy statement, linked beside it
    await page.click("main form:not(.notice) button[type=submit]")
    await page.wait_for_url(f"{base}/groups?welcome=1")
    assert await page.is_visible("#welcome-h")  # what to do first
    return page


async def post_ids(page) -> list[str]:
    return await page.eval_on_selector_all("ol.posts li.post", "els => els.map(e => e.dataset.postId)")


async def test_two_people_see_each_others_replies_live_across_a_dropped_connection(site, clock):
    base, svc, hub = site.url, site.svc, site.app[hub_key]
    clock.advance(days=9)  # 7 December: a day of one digit, which the server writes without a 0
    await make_admin(svc, "anna@example.nl", "Anna")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            anna_ctx = await browser.new_context(locale="nl-NL")
            bert_ctx = await browser.new_context(locale="nl-NL")
            anna = await log_in(anna_ctx, base, "anna@example.nl")
            bert = await register(bert_ctx, base, "bert@example.nl", "Bert")
            # Anna joins Regio Zwolle and starts a discussion, all in the browser
            await anna.goto(f"{base}/groups/2")
            await anna.click("text=Lid worden van deze groep")
            await anna.click("text=Nieuwe discussie")
            await anna.fill("#f-title", "Regiodeal")
            await anna.fill("#f-body", "Wie doet mee?")
            await anna.click("main form:not(.notice) button[type=submit]")
            await anna.wait_for_selector("h1:has-text('Regiodeal')")
            thread_url = anna.url
            thread_id = int(thread_url.rstrip("/").rsplit("/", 1)[1])
            first_post = await anna.get_attribute("ol.posts li.post", "data-post-id")

            await bert.goto(f"{base}/groups/2")
            await bert.click("text=Lid worden van deze groep")
            bert_group = await bert_ctx.new_page()  # a second tab on the group's list
            await bert_group.goto(f"{base}/groups/2")
            await bert.goto(thread_url)
            await bert.evaluate("window.__notReloaded = true")
            await bert.wait_for_function("document.getElementById('live') !== null")

            # Anna replies to her own opening post; Bert sees it without reloading
            await anna.goto(thread_url)
            # "Reageren" under the opening post answers the discussion itself (by its link, as a
            # reader does): nested under it, every answer would end up behind "Nog N reacties"
            await anna.click(f"#post-{first_post} a:text('Reageren')")
            await anna.wait_for_url(f"{thread_url}#body-thread")
            # the keyboard starts in the reply box, not at the top of the page
            assert await anna.evaluate("document.activeElement.name") == "body", await anna.evaluate(
                "[location.href, document.activeElement.outerHTML.slice(0, 80), !!document.querySelector('#reply textarea[name=body]')]")
            for attempt in range(20):  # typing is told once her page's socket is open
                await anna.fill("#reply textarea", "Eerste reactie, live" + " " * attempt)
                try:
                    await bert.wait_for_selector("#live-status:has-text('Anna typt')", timeout=500)
                    break
                except PlaywrightTimeout:
                    continue
            else:
                raise AssertionError("Bert never saw Anna typing")
            await anna.click("#reply button[type=submit]")
            await bert.wait_for_selector("text=Eerste reactie, live", timeout=5000)
            assert "typt" not in await bert.text_content("#live-status")  # her reply ends her typing
            assert await bert.evaluate("window.__notReloaded === true")
            live_reply = bert.locator("li.post", has_text="Eerste reactie, live")
            assert await live_reply.get_attribute("data-parent-id") == ""
            assert "indent-0" in await live_reply.get_attribute("class")
            assert "Nieuw bericht van Anna" in await bert.text_content("#live-activity")

            # The server drops Bert's sockets with 4000, as it does when a client falls
            # behind; three replies commit before his page can be back (it waits >= 375 ms)
            async with svc.db.read() as conn:
                bert_id = (await conn.execute_fetchall("SELECT id FROM users WHERE email = ?",
                                                       ("bert@example.nl",)))[0][0]
            token = next(c["value"] for c in await anna_ctx.cookies() if c["name"] == SESSION_COOKIE)
            anna_actor, _ = await accounts.actor_for_session(svc, token)
            dropped = [client for client in hub.clients if client.user_id == bert_id]
            assert len(dropped) == 2  # the thread tab and the group tab
            for client in dropped:
                client.close_soon(4000, "resume")
            for n in range(3):
                await discussions.reply(svc, anna_actor, thread_id, body=f"Gemiste reactie {n}")
            assert all(client.closing for client in hub.clients if client.user_id == bert_id), \
                "Bert's page was back before the replies: they were not missed"
            for n in range(3):  # only a resume from last_event_id brings these
                await bert.wait_for_selector(f"text=Gemiste reactie {n}", timeout=15000)
            for n in range(2):  # and the new socket carries what comes after
                await discussions.reply(svc, anna_actor, thread_id, body=f"Na terugkomst {n}")
            await bert.wait_for_selector("text=Na terugkomst 1", timeout=5000)
            await anna.goto(thread_url)
            expected = await post_ids(anna)  # the server's own page: every post once, in order
            assert len(expected) == 7
            shown = await post_ids(bert)
            assert shown == expected and len(set(shown)) == len(shown)
            for text in [f"Gemiste reactie {n}" for n in range(3)] + ["Na terugkomst 0", "Na terugkomst 1"]:
                assert await bert.locator("li.post", has_text=text).count() == 1
            assert await bert.evaluate("window.__notReloaded === true")
            # a post inserted live shows its time as the server shows it (one format everywhere)
            live_times = await bert.eval_on_selector_all("li.post time", "els => els.map(e => e.textContent)")
            served_times = await anna.eval_on_selector_all("li.post time", "els => els.map(e => e.textContent)")
            assert live_times == served_times, (live_times, served_times)
            assert all(time.startswith("7 ") for time in live_times), live_times
            # and offers the same actions as the server's page for the same reader (a member:
            # reply to and report Anna's posts), each link naming its post
            served = await bert_ctx.new_page()
            await served.goto(thread_url)
            actions = "els => els.map(e => [e.closest('li.post').dataset.postId, e.getAttribute('href'), e.textContent])"
            live_actions = await bert.eval_on_selector_all("li.post .actions a", actions)
            assert live_actions == await served.eval_on_selector_all("li.post .actions a", actions)
            assert sum("Melden" in text for _, _, text in live_actions) == 7
            await served.close()
            # Bert replies; on Anna's page (an admin: she moderates every group) his post arrives
            # with the edit and delete a moderator has on the server's page
            bert_token = next(c["value"] for c in await bert_ctx.cookies() if c["name"] == SESSION_COOKIE)
            bert_actor, _ = await accounts.actor_for_session(svc, bert_token)
            await discussions.reply(svc, bert_actor, thread_id, body="Bert doet mee")
            await anna.wait_for_selector("li.post:has-text('Bert doet mee') .actions", timeout=5000)
            served = await anna_ctx.new_page()
            await served.goto(thread_url)
            controls = ("els => els.map(e => [e.closest('li.post').dataset.postId, e.tagName,"
                        " e.getAttribute('href') || e.closest('form').getAttribute('action'), e.textContent])")
            bert_post = "li.post:has-text('Bert doet mee') .actions a, li.post:has-text('Bert doet mee') .actions button"
            live_controls = await anna.eval_on_selector_all(bert_post, controls)
            assert live_controls == await served.eval_on_selector_all(bert_post, controls)
            assert [c[3].split(",")[0] for c in live_controls] == ["Bewerken", "Verwijderen", "Reageren", "Melden"]
            await served.close()

            # Anna (an admin) renames and locks the thread from its page; Bert's thread tab
            # and group tab follow without reloading (the group tab resumed too)
            await anna.click("text=Titel wijzigen")
            await anna.fill("#f-title", "Regiodeal: besluit")
            await anna.click("main form:not(.notice) button[type=submit]")
            await anna.click("#thread-lock")  # asks first, on a page of its own, for a reason to tell the author
            await anna.fill("#f-reason", "Besloten in de stuurgroep")
            await anna.click("main form button[value=lock]")
            await anna.wait_for_selector("#thread-locked:not([hidden])")
            await bert.wait_for_selector("h1:has-text('Regiodeal: besluit')", timeout=5000)
            await bert.wait_for_selector("#thread-locked:not([hidden])", timeout=5000)
            assert await bert.is_hidden("#reply")
            assert "Regiodeal: besluit" in await bert.title()
            row = bert_group.locator("#thread-rows tr", has_text="Regiodeal: besluit")
            await row.wait_for(timeout=5000)
            assert "Gesloten" in await row.inner_text() and "\t7\t" in await row.inner_text()  # replies
            assert await bert.evaluate("window.__notReloaded === true")
        finally:
            await browser.close()


async def test_a_member_is_told_live_of_a_mention_and_tunes_it_in_two_clicks(site):
    base = site.url
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            anna = await register(await browser.new_context(locale="nl-NL"), base, "anna@example.nl", "Anna Jansen")
            bert = await register(await browser.new_context(locale="nl-NL"), base, "bert@example.nl", "Bert de Wit")
            for page in (anna, bert):
                await page.goto(f"{base}/groups/3")
                await page.click("text=Lid worden van deze groep")
            await anna.click("text=Nieuwe discussie")
            await anna.fill("#f-title", "Energieplan")
            await anna.fill("#f-body", "Eerste versie")
            await anna.click("main form:not(.notice) button[type=submit]")
            await anna.wait_for_selector("h1:has-text('Energieplan')")
            thread_url = anna.url

            await bert.goto(f"{base}/")  # any page: the bell listens
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
            # a marker: a mention in another thread, told after anything the muted one could have
            # caused; when it is announced the bell shows the whole unread count, which is 1
            await anna.goto(f"{base}/groups/3")
            await anna.click("text=Nieuwe discussie")
            await anna.fill("#f-title", "Tweede plan")
            await anna.fill("#f-body", "Ook voor @bert-de-wit")
            await anna.click("main form:not(.notice) button[type=submit]")
            await anna.wait_for_selector("h1:has-text('Tweede plan')")
            await bert.wait_for_selector("#notification-live:has-text('Anna Jansen noemde u in Tweede plan')",
                                         state="attached", timeout=5000)
            count = await bert.eval_on_selector("#bell-count", "el => el.firstChild.nodeValue")
            assert count == "1"  # muted: the mention in Energieplan told him nothing
        finally:
            await browser.close()


async def test_no_script_runs_from_anything_users_write(site):
    """Every payload of the corpus through every field people fill in, on every page that shows
    it (lists, profiles, edit forms, moderation, audit, mail) and in live updates; judged in the
    DOM: no handler attribute, no script URL, no style or script from user text, the flag never
    set, and the words shown as the text they are (template syntax literally, never evaluated).
    Names hold one payload each; longer fields hold the corpus packed, to keep page loads few."""
    base, svc, sessions = site.url, site.svc, []
    await make_admin(svc, "beheer@example.nl", "Beheerder")
    try:
        admin = await api_user(site, sessions, "beheer@example.nl")
        shown = []  # (path, text it must show, or the form field that must hold it exactly)
        groups = []
        for n, (payload, description) in enumerate(zip(PAYLOADS, packed(500) * len(PAYLOADS))):
            group = (await admin.post("/api/v1/groups", {"name": payload, "kind": "werkgroep", "visibility": "open",
                                                         "description": description}, expect=201))["group"]["id"]
            groups.append(group)
            shown += [(f"/groups/{group}/edit", payload, "#f-name"), (f"/groups/{group}/edit", description, "#f-description")]
        home = groups[0]
        threads = [(await admin.post(f"/api/v1/groups/{home}/threads", {"title": title, "body": ALL}, expect=201))
                   for title in packed(200)]
        thread, post = threads[0]["thread"]["id"], threads[0]["post"]["id"]
        for created, title in zip(threads, packed(200)):
            shown += [(f"/threads/{created['thread']['id']}", title, None),
                      (f"/threads/{created['thread']['id']}/edit", title, "#f-title")]
        authors = []
        for n, payload in enumerate(PAYLOADS):
            author = await api_user(site, sessions, f"xss{n}@example.nl", payload)
            await author.patch("/api/v1/me", {"display_name": payload, "bio": ALL})
            await author.post(f"/api/v1/groups/{home}/join")
            await author.post(f"/api/v1/threads/{thread}/posts", {"body": f"{payload} @beheerder", "parent_id": post},
                              expect=201)
            authors.append(author)
        await admin.patch(f"/api/v1/posts/{post}", {"body": f"{ALL}\n\n(2)"})
        await authors[0].post(f"/api/v1/posts/{post}/reports", {"reason": "other", "text": ALL}, expect=201)
        item = (await admin.get("/api/v1/moderation/queue"))["items"][0]
        await admin.post(f"/api/v1/moderation/queue/{item['id']}/resolve", {"action": "warn", "reason": packed(500)[0]})
        await admin.post(f"/api/v1/groups/{home}/bans", {"user_id": authors[-1].id, "reason": packed(500)[1]}, expect=201)
        await admin.post(f"/api/v1/admin/users/{authors[-1].id}/suspend", {"reason": packed(500)[0]})
        shown += [(f"/threads/{thread}", payload, None) for payload in PAYLOADS]
        shown += [(f"/posts/{post}/edit", f"{ALL}\n\n(2)", "#f-body"), (f"/posts/{post}/revisions", None, None),
                  (f"/groups/{home}", PAYLOADS[0], None), (f"/groups/{home}/members", PAYLOADS[1], None),
                  (f"/users/{authors[0].id}", PAYLOADS[0], None), ("/", None, None), ("/notifications", None, None),
                  ("/moderation", None, None), ("/audit", packed(500)[1], None), ("/admin/users", PAYLOADS[3], None),
                  ("/admin/outbox", None, None)]
        shown += [("/groups", payload, None) for payload in PAYLOADS]

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = await browser.new_context(locale="nl-NL")
                page = await log_in(context, base, "beheer@example.nl")
                for path, text, field in shown:
                    if page.url != f"{base}{path}":
                        response = await page.goto(f"{base}{path}")
                        assert response.status == 200, path
                        await assert_clean(page, path)
                    if field:
                        assert await page.input_value(field) == text, (path, field)
                    elif text:
                        assert text in await page.inner_text("main"), (path, text)

                # a member's own settings form holds each payload as the value it is
                member = await api_user(site, sessions, "vorm@example.nl", "Vorm")
                own = await log_in(await browser.new_context(locale="nl-NL"), base, "vorm@example.nl")
                for payload in PAYLOADS:
                    await member.patch("/api/v1/me", {"display_name": payload, "bio": ALL})
                    await own.goto(f"{base}/settings/profile")
                    await assert_clean(own, f"settings: {payload}")
                    assert await own.input_value("#f-display_name") == payload
                    assert await own.input_value("#f-bio") == ALL

                # and live: a reply, a new thread and a renamed one arrive on open pages
                await member.post(f"/api/v1/groups/{groups[1]}/join")
                await page.goto(f"{base}/threads/{thread}")
                listing = await context.new_page()
                await listing.goto(f"{base}/groups/{groups[1]}")
                await member.post(f"/api/v1/groups/{home}/join")
                await member.post(f"/api/v1/threads/{thread}/posts", {"body": f"live\n\n{ALL}\n\n@beheerder"},
                                  expect=201)
                await member.post(f"/api/v1/groups/{groups[1]}/threads", {"title": PAYLOADS[2], "body": TEMPLATE},
                                  expect=201)
                await admin.patch(f"/api/v1/threads/{thread}", {"title": PAYLOADS[11]})
                await page.locator("li.post", has_text="live").wait_for(timeout=5000)
                await page.wait_for_function("t => document.querySelector('h1').textContent.includes(t)",
                                             arg=PAYLOADS[11], timeout=5000)
                await listing.locator("#thread-rows tr", has_text=PAYLOADS[2]).wait_for(timeout=5000)
                text = await page.locator("li.post", has_text="live").inner_text()
                for payload in PAYLOADS:
                    if not payload.startswith("!["):  # markdown makes that one an image (of a harmless URL)
                        assert payload in text
                await assert_clean(page, "live thread")
                await assert_clean(listing, "live group list")
            finally:
                await browser.close()
    finally:
        await close_all(sessions)


async def test_news_appears_live_on_actueel_and_the_group_page_and_an_editor_schedules_on_a_phone(site, clock):
    base, svc = site.url, site.svc
    await make_admin(svc, "eva@example.nl", "Eva Redacteur")
    sessions: list = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            member_ctx = await browser.new_context(locale="nl-NL")
            member = await register(member_ctx, base, "bert@example.nl", "Bert")
            await member.goto(f"{base}/groups/3")
            await member.click("text=Lid worden van deze groep")
            group_page = await member_ctx.new_page()
            await group_page.goto(f"{base}/groups/3")
            assert await group_page.is_hidden("#news-list")  # no news yet, but a place for it
            await member.goto(f"{base}/")
            assert "Nog geen nieuws." in await member.text_content("main")
            eva = await api_user(site, sessions, "eva@example.nl")
            await eva.post("/api/v1/news", {"title": "Werkconferentie PROEF VERSCHIL", "summary": "Schrijf je in",
                                            "body": "Op 12 maart."}, expect=201)
            await member.wait_for_selector("#news-list a:has-text('Werkconferentie PROEF VERSCHIL')", timeout=5000)
            await eva.post("/api/v1/news", {"title": "Nieuws uit Regio Zwolle", "body": "x", "group_id": 3},
                           expect=201)
            await group_page.wait_for_selector("#news-list a:has-text('Nieuws uit Regio Zwolle')", timeout=5000)
            await member.wait_for_selector("#news-list a:has-text('Nieuws uit Regio Zwolle')", timeout=5000)

            # the editor, on a phone, schedules tomorrow's news with the keyboard-friendly form
            phone = await browser.new_context(locale="nl-NL", viewport={"width": 375, "height": 740})
            editor = await log_in(phone, base, "eva@example.nl")
            await editor.goto(f"{base}/news/new")
            width = await editor.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, width  # nothing sticks out sideways
            await editor.fill("#f-title", "Morgen: het rapport")
            await editor.fill("#f-body", "Het **rapport** verschijnt.")
            await editor.fill("#f-tags", "rapport, kabinet")
            await editor.fill("#f-publish_at", "2026-11-29T09:00")
            await editor.click("main form button[type=submit]")
            await editor.wait_for_selector("h1:has-text('Morgen: het rapport')")
            assert "Gepland" in await editor.text_content("main")
            await member.goto(f"{base}/news")
            assert "Morgen: het rapport" not in await member.text_content("main")
            clock.advance(days=1)
            await site.app[scheduler_key].run_once()
            await member.reload()
            await member.wait_for_selector("#news-list a:has-text('Morgen: het rapport')")
        finally:
            await close_all(sessions)
            await browser.close()


async def _tab_to(page, selector: str, presses: int = 80) -> None:
    """Tab forward until the element matching selector has the focus, as a keyboard user does."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} never got the focus by Tab")


async def test_on_a_phone_by_keyboard_one_signs_up_the_other_moves_up_and_uploads_the_report(site, tmp_path):
    base, svc = site.url, site.svc
    await make_admin(svc, "eva@example.nl", "Eva Redacteur")
    sessions: list = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            eva = await api_user(site, sessions, "eva@example.nl")
            event = (await eva.post("/api/v1/events", {
                "title": "Werkconferentie PROEF VERSCHIL", "starts_at": "2027-03-12T09:30", "capacity": 1,
                "questions": ["Dieetwensen"], "location": "Provinciehuis", "location_for_attendees_only": True},
                expect=201))["event"]
            phone = {"width": 390, "height": 844}
            anna_ctx = await browser.new_context(locale="nl-NL", viewport=phone)
            bert_ctx = await browser.new_context(locale="nl-NL", viewport=phone)
            anna = await register(anna_ctx, base, "anna@example.nl", "Anna")
            bert = await register(bert_ctx, base, "bert@example.nl", "Bert")
            for page in (anna, bert):
                await page.goto(f"{base}/events/{event['id']}")
                assert await page.evaluate("document.documentElement.scrollWidth") <= 390
                assert "Provinciehuis" not in await page.text_content("main")
            # Anna, by keyboard only: to the answers, Space picks "Ik kom", then her answer, then Enter
            await _tab_to(anna, "input[name=answer]")
            await anna.keyboard.press("Space")
            await _tab_to(anna, "#f-q0")
            await anna.keyboard.type("vegetarisch")
            await anna.keyboard.press("Enter")
            await anna.wait_for_selector("text=U bent aangemeld.")
            assert "Provinciehuis" in await anna.text_content("main")   # the place, now hers to see
            # Bert watches the counts live, then signs up and waits
            for _ in range(100):  # live, without a reload (wait_for_function's string is against the CSP)
                if await bert.text_content("#event-counts [data-count=going]") == "1":
                    break
                await bert.wait_for_timeout(50)
            assert await bert.text_content("#event-counts [data-count=going]") == "1"
            await bert.check("input[name=answer][value=going]")
            await bert.click("#rsvp button[type=submit]")
            await bert.wait_for_selector("text=U staat op de wachtlijst, op plaats 1")
            # Anna cannot come after all: Bert moves up and his bell says so, without a reload
            await anna.check("input[name=answer][value=no]")
            await anna.click("#rsvp button[type=submit]")
            await bert.wait_for_selector("#bell-count:not([hidden])", timeout=5000)
            await bert.reload()
            assert "U bent aangemeld." in await bert.text_content("main")
            # the month on a phone: a list of days, nothing sideways
            await bert.goto(f"{base}/events?view=month&month=2027-03")
            assert await bert.evaluate("document.documentElement.scrollWidth") <= 390
            assert await bert.is_visible("table.month a:has-text('Werkconferentie')")
            # Bert joins Regio Zwolle and uploads the report to its library through the page
            await bert.goto(f"{base}/groups/3")
            await bert.click("text=Lid worden van deze groep")
            await bert.goto(f"{base}/groups/3/documents")
            report = tmp_path / "Rapport Maak verschil.txt"
            report.write_text("Rapport Maak verschil: samenwerking in de regio.\n")
            await bert.set_input_files("#f-file", str(report))
            await bert.fill("#f-title", "Rapport Maak verschil")
            await bert.click("form[enctype='multipart/form-data'] button[type=submit]")
            await bert.wait_for_selector("h1:has-text('Rapport Maak verschil')")
            async with bert.expect_download() as download:
                await bert.click("a.button:has-text('Downloaden')")
            saved = await (await download.value).path()
            assert Path(saved).read_text(encoding="utf-8").startswith("Rapport Maak verschil")
            assert (await download.value).suggested_filename == "Rapport Maak verschil.txt"
        finally:
            await close_all(sessions)
            await browser.close()


async def test_a_member_attaches_a_report_and_a_described_image_while_writing(site, tmp_path):
    from PIL import Image
    base, svc = site.url, site.svc
    await make_admin(svc, "eva@example.nl", "Eva Redacteur")
    sessions: list = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(locale="nl-NL")
            anna = await register(context, base, "anna@example.nl", "Anna")
            await anna.goto(f"{base}/groups/3")
            await anna.click("text=Lid worden van deze groep")
            await anna.goto(f"{base}/groups/3/threads/new")
            report = tmp_path / "verslag.txt"
            report.write_text("Verslag van het overleg.\n")
            await anna.set_input_files("[data-attach-group] input[type=file]", str(report))
            await anna.wait_for_selector("text=Toegevoegd aan de documenten")
            assert "[verslag](/documents/" in await anna.input_value("#f-body")
            picture = tmp_path / "kaart.png"
            Image.new("RGB", (8, 8), "blue").save(picture)
            await anna.set_input_files("[data-attach-group] input[type=file]", str(picture))
            for _ in range(100):  # (wait_for_function evaluates a string, which the site's CSP forbids)
                if "![" in await anna.input_value("#f-body"):
                    break
                await anna.wait_for_timeout(50)
            # the placeholder is selected: posting it as it is gets the description asked for
            await anna.fill("#f-title", "Het overleg")
            await anna.click("main form button[type=submit]:has-text('Plaatsen')")
            await anna.wait_for_selector("#e-body")
            assert "beschrijving" in await anna.text_content("#e-body")
            body = await anna.input_value("#f-body")
            await anna.fill("#f-body", body.replace("beschrijf wat erop staat", "De kaart van de regio"))
            await anna.click("main form button[type=submit]:has-text('Plaatsen')")
            await anna.wait_for_selector("h1:has-text('Het overleg')")
            assert await anna.get_attribute("ol.posts img", "alt") == "De kaart van de regio"
            assert await anna.evaluate("document.querySelector('ol.posts img').naturalWidth") == 8
            assert await anna.is_visible("ol.posts a:has-text('verslag')")
            # without JavaScript the reply form's own file field sends the file with the text
            plain = await log_in(await browser.new_context(locale="nl-NL", java_script_enabled=False), base,
                                 "anna@example.nl")
            await plain.goto(anna.url)
            assert await plain.locator("button.attach").count() == 0
            notes = tmp_path / "notulen.txt"
            notes.write_text("Notulen van het overleg.\n")
            await plain.fill("#body-thread", "De notulen staan erbij.")
            await plain.set_input_files("#attachment-thread", str(notes))
            await plain.click("form.reply button[type=submit]")
            await plain.wait_for_selector("ol.posts a:has-text('notulen')")
            assert "De notulen staan erbij." in await plain.text_content("ol.posts")
            # with it, that field gives way to the button
            assert await anna.locator("#attachment-thread").count() == 0
            # an editor attaches to members-only site news: the file goes to the site's library, for members
            eva = await log_in(await browser.new_context(locale="nl-NL"), base, "eva@example.nl")
            await eva.goto(f"{base}/news/new")
            await eva.check("input[name=visibility][value=members]")
            statement = tmp_path / "statement.txt"
            statement.write_text("Statement aan het kabinet.\n")
            await eva.set_input_files("[data-attach-where] input[type=file]", str(statement))
            await eva.wait_for_selector("text=Toegevoegd aan de documenten")
            assert "[statement](/documents/" in await eva.input_value("#f-body")
            editor = await api_user(site, sessions, "eva@example.nl")
            site_docs = (await editor.get("/api/v1/documents"))["documents"]
            assert [(d["title"], d["visibility"]) for d in site_docs] == [("statement", "members")]
        finally:
            await close_all(sessions)
            await browser.close()


async def anna_asks_bert_joins(site, sessions: list):
    """Anna (an admin) starts a discussion in Regio Zwolle; Bert (@bert) is a member there."""
    await make_admin(site.svc, "anna@example.nl", "Anna")
    anna_api = await api_user(site, sessions, "anna@example.nl")
    bert_api = await api_user(site, sessions, "bert@example.nl", "Bert")
    await bert_api.post("/api/v1/groups/2/join")
    await bert_api.patch("/api/v1/me", {"display_name": "Bert", "handle": "bert", "locale": "nl"})
    thread = (await anna_api.post("/api/v1/groups/2/threads", {"title": "Regiodeal", "body": "Wie doet mee?"},
                                  expect=201))["thread"]["id"]
    return anna_api, bert_api, thread


async def test_words_typed_survive_a_new_login_in_another_tab_and_a_lock_meanwhile(site):
    """Logging out and in again in a second tab makes the first tab's form tokens stale: coming
    back to the first tab renews them, so the reply typed there is sent, not refused as an
    expired form. And a reply being typed while a moderator locks the discussion stays on the
    screen."""
    base = site.url
    sessions: list = []
    try:
        anna_api, _, thread = await anna_asks_bert_joins(site, sessions)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = await browser.new_context(locale="nl-NL")
                first = await log_in(context, base, "bert@example.nl")
                await first.goto(f"{base}/threads/{thread}")
                await first.fill("#reply textarea[name=body]", "Ik doe mee, na een nieuwe login")
                second = await context.new_page()  # the other tab: out and in again, a new session
                await second.goto(f"{base}/")
                await second.click("button:has-text('Uitloggen')")
                await second.goto(f"{base}/login")
                await second.fill("#f-email", "bert@example.nl")
                await second.fill("#f-password", PASSWORD)
                await second.click("form[action='/login'] button[type=submit]")
                await second.wait_for_url(f"{base}/")
                stale = await first.input_value("#reply input[name=csrf_token]")
                await first.bring_to_front()
                await first.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
                for _ in range(50):  # the tab fetches the session's token
                    if await first.input_value("#reply input[name=csrf_token]") != stale:
                        break
                    await first.wait_for_timeout(100)
                await first.click("#reply button[type=submit]")
                await first.wait_for_selector("li.post:has-text('na een nieuwe login')")
                assert "Geen toegang" not in await first.content()
                # typing while the discussion is locked: the words stay, with the notice
                await first.fill("#reply textarea[name=body]", "Nog een gedachte")
                await anna_api.patch(f"/api/v1/threads/{thread}", {"locked": True})
                await first.wait_for_selector("#thread-locked:not([hidden])")
                assert await first.is_visible("#reply textarea[name=body]")
                assert await first.input_value("#reply textarea[name=body]") == "Nog een gedachte"
                await first.click("#reply button[type=submit]")  # sent anyway: the words come back
                await first.wait_for_selector("#unsent")
                assert await first.input_value("#unsent") == "Nog een gedachte"
                # and removed while he types: the words stay on the screen to be copied, not sent
                other = (await anna_api.post("/api/v1/groups/2/threads", {"title": "Tweede", "body": "Nog een"},
                                             expect=201))["thread"]["id"]
                await first.goto(f"{base}/threads/{other}")
                await first.fill("#reply textarea[name=body]", "Een antwoord in wording")
                await anna_api.delete(f"/api/v1/threads/{other}")
                await first.wait_for_selector("#thread-locked:not([hidden])")
                assert await first.is_visible("#reply textarea[name=body]")
                assert await first.input_value("#reply textarea[name=body]") == "Een antwoord in wording"
                assert await first.is_disabled("#reply button[type=submit]")
            finally:
                await browser.close()
    finally:
        await close_all(sessions)


LISTEN_JS = """() => { window.__heard = [];
  const regions = ['live-status', 'live-activity', 'notification-live'].map(id => document.getElementById(id));
  new MutationObserver(records => {
    const changed = new Set(records.map(r => regions.find(region => region.contains(r.target))).filter(Boolean));
    for (const region of changed) window.__heard.push([region.id, region.textContent.trim()]);
  }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


async def test_live_changes_are_announced_politely_once_and_never_take_the_focus(site):
    """What a screen reader hears while someone writes a reply: Anna typing (once, however long
    she goes on), each of her new posts (once each), the bell when she mentions him (once), and
    nothing of it moves his focus or touches his words."""
    base = site.url
    sessions: list = []
    try:
        anna_api, _, thread = await anna_asks_bert_joins(site, sessions)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                bert = await log_in(await browser.new_context(locale="nl-NL"), base, "bert@example.nl")
                anna = await log_in(await browser.new_context(locale="nl-NL"), base, "anna@example.nl")
                for page in (bert, anna):
                    await page.goto(f"{base}/threads/{thread}")
                await bert.wait_for_selector("#live-status:has-text('2 lezen mee')")  # both sockets subscribed
                await bert.evaluate(LISTEN_JS)
                await bert.focus("#reply textarea[name=body]")
                await bert.keyboard.type("Mijn concept")
                for words in ("Ik ", "doe ", "mee"):  # typing on for more than one notice
                    await anna.locator("#reply textarea[name=body]").press_sequentially(words)
                    await anna.wait_for_timeout(1600)
                await anna.click("#reply button[type=submit]")
                await bert.wait_for_selector("li.post:has-text('Ik doe mee')")
                await anna_api.post(f"/api/v1/threads/{thread}/posts", {"body": "En jij, @bert?"}, expect=201)
                await bert.wait_for_selector("li.post:has-text('En jij')")
                await site.app[scheduler_key].run_once()  # the mention's notification
                for _ in range(50):
                    heard = await bert.evaluate("window.__heard")
                    if any(region == "notification-live" for region, _ in heard):
                        break
                    await bert.wait_for_timeout(100)
                heard = await bert.evaluate("window.__heard")
                typing = [text for region, text in heard if region == "live-status" and "typt" in text]
                posts = [text for region, text in heard if region == "live-activity" and text]
                bell = [text for region, text in heard if region == "notification-live" and text]
                assert typing == ["2 lezen mee · Anna typt…"], heard  # once, not again with every notice
                assert posts == ["Nieuw bericht van Anna", "Nieuw bericht van Anna"], heard  # one for each
                assert bell == ["Anna noemde u in Regiodeal"], heard
                assert await bert.evaluate("document.activeElement.name") == "body"  # his focus stayed
                assert await bert.input_value("#reply textarea[name=body]") == "Mijn concept"
            finally:
                await browser.close()
    finally:
        await close_all(sessions)
