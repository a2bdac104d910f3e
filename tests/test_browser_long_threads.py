"""A long thread in real headless Chromium, on a phone-sized screen: a reader on the first page
of several sees a reply arrive live under the post it answers, but not a new top-level post (it
belongs on the last page: the page says one arrived elsewhere); a reader on the last page sees
it arrive at the end; the pages are walked by keyboard, their links big enough for a thumb."""
from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import async_playwright

from forum.services import thread_pages
from tests.helpers_browser import ARGS, CHROMIUM, ApiUser, close_all, make_admin
from tests.test_long_threads import shown_ids

PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(thread_pages, "ROOTS_PER_PAGE", 3)
    monkeypatch.setattr(thread_pages, "PAGE_POSTS", 5)
    monkeypatch.setattr(thread_pages, "POSTS_PER_PAGE", 4)


async def test_new_posts_arrive_live_only_where_their_page_shows_them(site):
    base, sessions = site.url, []
    await make_admin(site.svc, "anna@example.nl", "Anna")
    session = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    sessions.append(session)
    anna = ApiUser(session, "anna@example.nl")
    await anna.login()
    created = await anna.post("/api/v1/groups/2/threads", {"title": "Conferentiedag", "body": "Vragen hier"},
                              expect=201)
    thread, first = created["thread"]["id"], created["post"]["id"]
    roots = [first]
    for n in range(2, 8):  # seven top-level posts: pages of three, three and one
        roots.append((await anna.post(f"/api/v1/threads/{thread}/posts", {"body": f"vraag {n}"}, expect=201))["post"]["id"])
    shown_under_first = [(await anna.post(f"/api/v1/threads/{thread}/posts", {"body": f"antwoord {n}", "parent_id": first},
                                          expect=201))["post"]["id"] for n in range(3)][:2]  # the third is cut off

    async def reply(body, parent=None):
        return (await anna.post(f"/api/v1/threads/{thread}/posts", {"body": body, **({"parent_id": parent} if parent else {})},
                                expect=201))["post"]["id"]

    async def order(page):
        return await page.eval_on_selector_all("ol.posts li.post", "els => els.map(e => +e.dataset.postId)")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(locale="nl-NL", viewport=PHONE)
            first_page, last_page = await context.new_page(), await context.new_page()
            await first_page.goto(f"{base}/threads/{thread}")
            await last_page.goto(f"{base}/threads/{thread}?page=3")
            assert shown_ids(await first_page.content()) == [first, *shown_under_first, *roots[1:3]]
            assert await first_page.is_visible("li.more-replies:has-text('Nog 1 reactie')")
            await first_page.evaluate("window.__notReloaded = true")

            answer = await reply("Antwoord op de tweede", roots[1])  # under a post shown here
            await first_page.wait_for_selector(f"#post-{answer}", timeout=5000)
            assert await order(first_page) == [first, *shown_under_first, roots[1], answer, roots[2]]
            # past the cut ("Nog 1 reactie"): said, visibly and with a link, not shown
            behind = await reply("Nog een antwoord op de eerste", first)
            notice = first_page.locator("#live-elsewhere")
            await notice.wait_for(state="visible", timeout=5000)
            assert "op een andere pagina" in await notice.text_content()
            assert await notice.locator("a").get_attribute("href") == f"/threads/{thread}?post={behind}#post-{behind}"
            assert await first_page.query_selector(f"#post-{behind}") is None
            # new questions belong on the last page, while it has room (three a page)
            newest, fourth, fifth = [await reply(f"Nieuwe vraag {n}") for n in range(3)]
            await last_page.wait_for_selector(f"#post-{fourth}", timeout=5000)
            await last_page.locator("#live-elsewhere a[href$='#post-%d']" % fifth).wait_for(timeout=5000)
            assert await order(last_page) == [roots[6], newest, fourth]
            await first_page.wait_for_function(
                "document.getElementById('live-activity').textContent.includes('op een andere pagina')", timeout=5000)
            assert await first_page.query_selector(f"#post-{newest}") is None
            assert await first_page.evaluate("window.__notReloaded === true")

            # by keyboard: the next page's link, then back; on a phone nothing is wider than the screen
            await first_page.focus("nav.pager a[rel=next]")
            await first_page.keyboard.press("Enter")
            await first_page.wait_for_url(f"{base}/threads/{thread}?page=2#posts")
            assert shown_ids(await first_page.content()) == roots[3:6]
            assert await first_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            sizes = await first_page.eval_on_selector_all(
                "nav.pager a", "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])")
            assert sizes and all(w >= 44 and h >= 44 for w, h in sizes), sizes
            assert await first_page.get_attribute("nav.pager a[aria-current=page]", "href") == f"/threads/{thread}?page=2#posts"
            await first_page.focus("nav.pager a[rel=prev]")
            await first_page.keyboard.press("Enter")
            await first_page.wait_for_url(f"{base}/threads/{thread}#posts")
            # a link to a post on another page lands on that page, at the post
            await first_page.goto(f"{base}/posts/{newest}")
            await first_page.wait_for_selector(f"#post-{newest}")
            assert first_page.url.endswith(f"/threads/{thread}?post={newest}#post-{newest}")
            assert "Pagina 3 van 4" in await first_page.text_content("nav.pager")  # the fifth question began a page
        finally:
            await browser.close()
            await close_all(sessions)
