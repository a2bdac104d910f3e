"""Accessibility of every kind of page, in real headless Chromium (Debian's, driven by Playwright):
axe-core's WCAG 2.0/2.1 A and AA rules, and reflow at 320 CSS pixels (WCAG 1.4.10), for a
visitor, a member, a group's moderator and the site's admin, in Dutch and in English. Each page is
checked for the people who see it differently: every page for the admin (who sees the most
controls), public pages for a visitor and a member too, a group's moderation pages for its
moderator, members' pages for a member.

The site is built once for the module: the real app on a real port (in a thread of its own, so
the many page checks share one browser and one set of data), with an admin, a moderator who owns
a group, members, a group with threads and replies, a reported post, news, an event, documents
and site pages. Each (page, role, language) is a test of its own, so a failure names the page and
lists the rules it breaks, each with the offending elements; one visit serves both checks (axe at
desktop width, then the same page narrowed to 320 px for reflow).

axe-core comes from the PyPI package axe-playwright-python (it ships axe.min.js); set AXE_JS to
another axe.min.js (the npm package axe-core's) to run that one instead. axe is evaluated in the
page (page.evaluate), which the site's Content-Security-Policy does not block, unlike a script tag.
Set A11Y_RESULTS to a file name to have every result written there as JSON lines."""
from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import aiohttp
import pytest
from aiohttp import web
from playwright.sync_api import sync_playwright

from forum.app import create_app
from forum.config import Config
from forum.keys import scheduler_key, services_key
from forum.limits import ALL_OFF
from forum.services import accounts
from tests.conftest import PASSWORD, ApiUser, Clock, postgres_schema, verify_email
from tests.helpers_browser import ARGS, CHROMIUM, make_admin

from axe_playwright_python.sync_playwright import Axe

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 320, "height": 640}   # WCAG 1.4.10: 1280 px at 400 % zoom
LANGS = ("nl", "en")
BROWSER_LOCALE = {"nl": "nl-NL", "en": "en-GB"}

VISITOR, MEMBER, MODERATOR, ADMIN = "visitor", "member", "moderator", "admin"
ALL = (VISITOR, ADMIN)  # the least and the most a public page shows (a moderator's is a member's with links more)
READERS = (VISITOR, MEMBER, ADMIN)  # pages whose member's view has controls of its own
USERS = (MEMBER, ADMIN)
MODS = (MODERATOR, ADMIN)


# ---------------------------------------------------------------- the pages

def submit_invalid(form_field: str, fills: dict[str, str]) -> Callable:
    """An action: fill a form (browser validation off, as a screen reader user who submits past
    it would meet the server's own messages), send it, and land on the page with its errors."""
    def act(page, base: str, path: str) -> None:
        page.goto(base + path)
        page.locator(form_field).evaluate("e => { e.form.noValidate = true }")
        for selector, value in fills.items():
            page.fill(selector, value)
        form = page.locator(form_field).locator("xpath=ancestor::form")
        with page.expect_navigation():
            form.locator("button[type=submit]").first.click()
        assert page.locator("p.error, [aria-invalid=true]").count() > 0, f"{path}: no error shown"
    return act


def submit_file(field_selector: str, filename: str, content: bytes) -> Callable:
    """An action: choose a file that is refused and send its form; land on the page with the reason."""
    def act(page, base: str, path: str) -> None:
        page.goto(base + path)
        page.set_input_files(field_selector, files=[{"name": filename, "mimeType": "application/octet-stream",
                                                      "buffer": content}])
        with page.expect_navigation():
            page.locator(field_selector).locator("xpath=ancestor::form").locator("button[type=submit]").click()
        assert page.locator("p.error").count() > 0, f"{path}: no error shown"
    return act


def click_to(button: str, expect: str, then: Callable | None = None, submit: str | None = None) -> Callable:
    """An action: press a button that leads to another page (a confirmation) and wait for it;
    `then` fills that page and `submit` sends it (to meet its errors)."""
    def act(page, base: str, path: str) -> None:
        page.goto(base + path)
        with page.expect_navigation():
            page.locator(button).first.click()
        page.wait_for_selector(expect)
        if then is not None:
            then(page)
            with page.expect_navigation():
                page.locator(submit).first.click()
            assert page.locator("p.error").count() > 0, f"{path}: no error shown"
    return act


@dataclass(frozen=True)
class Spec:
    name: str
    path: str                      # formatted with the world's ids
    roles: tuple = ALL
    status: int = 200
    action: Callable | None = None  # instead of a plain visit

    def url_path(self, world: dict) -> str:
        return self.path.format(**world)


SPECS = [
    Spec("home", "/", READERS),
    Spec("groups", "/groups"),
    Spec("groups-welcome", "/groups?welcome=1", USERS),
    Spec("group", "/groups/{group}", READERS),
    Spec("group-members", "/groups/{group}/members", USERS),
    Spec("group-documents", "/groups/{group}/documents", USERS),
    Spec("group-new", "/groups/new", (ADMIN,)),
    Spec("group-edit", "/groups/{group}/edit", MODS),
    Spec("thread", "/threads/{thread}", READERS),
    Spec("thread-new", "/groups/{group}/threads/new", USERS),
    Spec("thread-new-error", "/groups/{group}/threads/new", USERS, action=submit_invalid(
        "#f-title", {"#f-title": "", "#f-body": "Alleen een bericht, geen onderwerp."})),
    Spec("thread-edit", "/threads/{thread}/edit", MODS),
    Spec("post-edit", "/posts/{reply}/edit", MODS),
    Spec("post-revisions", "/posts/{first_post}/revisions", MODS),
    Spec("post-report", "/posts/{reply}/report", (MEMBER,)),
    Spec("login", "/login", (VISITOR,)),
    Spec("login-error", "/login", (VISITOR,), action=submit_invalid(
        "#f-email", {"#f-email": "lid@example.nl", "#f-password": "niet het wachtwoord"})),
    Spec("register", "/register", (VISITOR,)),
    Spec("register-error", "/register", (VISITOR,), action=submit_invalid(
        "#f-email", {"#f-email": "geen-adres", "#f-display_name": "", "#f-password": "kort"})),
    Spec("password-forgot", "/password/forgot", (VISITOR,)),
    Spec("search-form", "/search"),
    Spec("search-results", "/search?q=regiodeal"),
    Spec("search-none", "/search?q=zzxqjw"),
    Spec("notifications", "/notifications", USERS),
    Spec("settings-profile", "/settings/profile", USERS),
    Spec("settings-profile-error", "/settings/profile", USERS, action=submit_invalid(
        "#f-display_name", {"#f-display_name": ""})),
    Spec("settings-password", "/settings/password", USERS),
    Spec("settings-notifications", "/settings/notifications", USERS),
    Spec("settings-calendar", "/settings/calendar", USERS),
    Spec("profile", "/users/{member_id}", USERS),
    Spec("moderation", "/moderation", MODS),
    Spec("audit", "/audit", MODS),
    Spec("admin-users", "/admin/users", (ADMIN,)),
    Spec("admin-settings", "/admin/settings", (ADMIN,)),
    Spec("admin-pages", "/admin/pages", (ADMIN,)),
    Spec("admin-page-new", "/admin/pages/new", (ADMIN,)),
    Spec("admin-page-edit", "/admin/pages/over", (ADMIN,)),
    Spec("admin-outbox", "/admin/outbox", (ADMIN,)),
    Spec("admin-mail", "/admin/outbox/{mail}", (ADMIN,)),
    Spec("news", "/news"),
    Spec("news-item", "/news/{news}", READERS),
    Spec("news-new", "/news/new", (ADMIN,)),
    Spec("news-edit", "/news/{news}/edit", (ADMIN,)),
    Spec("news-revisions", "/news/{news}/revisions", (ADMIN,)),
    Spec("events", "/events"),
    Spec("events-month", "/events?view=month&month=2026-12"),
    Spec("event", "/events/{event}", READERS),
    Spec("event-new", "/events/new", (ADMIN,)),
    Spec("event-edit", "/events/{event}/edit", (ADMIN,)),
    Spec("event-attendees", "/events/{event}/attendees", (ADMIN,)),
    Spec("library", "/library"),
    Spec("document", "/documents/{document}"),
    Spec("group-document", "/documents/{group_document}", USERS),
    Spec("site-page", "/pages/over"),
    Spec("people", "/people", USERS),
    Spec("people-none", "/people?q=zzxqjw", (MEMBER,)),
    Spec("settings-photo-error", "/settings/profile", (MEMBER,), action=submit_file(
        "#f-photo", "cv.pdf", b"%PDF-1.4\n%%EOF\n")),
    Spec("confirm-owner", "/groups/{group}/members", MODS, action=click_to(
        "tr:has-text('Lies Lid') form:has(input[value=owner]) button, "
        "tr:has-text('Mark Member') form:has(input[value=owner]) button", "button[value=role].danger")),
    Spec("confirm-ban", "/groups/{group}/members", MODS, action=click_to(
        "tr:has-text('Lies Lid') button[value=ban], tr:has-text('Mark Member') button[value=ban]", "#f-reason")),
    Spec("confirm-ban-error", "/groups/{group}/members", MODS, action=click_to(
        "tr:has-text('Lies Lid') button[value=ban], tr:has-text('Mark Member') button[value=ban]", "#f-reason",
        then=lambda page: (page.select_option("#f-days", "1"), page.fill("#f-reason", "x" * 501),
                           page.locator("#f-reason").evaluate("e => { e.form.noValidate = true }")),
        submit="button[value=ban]")),
    Spec("confirm-thread-delete", "/threads/{doomed}", MODS, action=click_to(
        "button[value=delete]", "#f-reason")),
    Spec("confirm-post-delete", "/threads/{thread}", MODS, action=click_to(
        "li.post:has-text('Ik zet het op de agenda') form[action$='/delete'] button", "blockquote")),
    Spec("confirm-suspend", "/admin/users", (ADMIN,), action=click_to(
        "tr:has-text('Lies Lid') button[value=suspend], tr:has-text('Mark Member') button[value=suspend]",
        "#f-until")),
    Spec("confirm-queue-delete", "/moderation", MODS, action=click_to("li[id^=item-] button[value=delete]",
                                                                    "blockquote")),
    Spec("audit-error", "/audit?since=gisteren", MODS, status=400),
    Spec("site-page-privacy", "/pages/privacy"),
    Spec("site-page-accessibility", "/pages/toegankelijkheid", (VISITOR,)),
    Spec("not-found", "/bestaat-niet", status=404),
    Spec("thread-not-found", "/threads/999999", status=404),
]

PARAMS = [pytest.param(spec, role, lang, id=f"{spec.name}-{role}-{lang}")
          for spec in SPECS for role in spec.roles for lang in LANGS]


# ---------------------------------------------------------------- the site

class ServedSite:
    """The real app on a real port, run by an event loop in a thread of its own."""

    def __init__(self, data_dir: Path, database_url: str | None = None):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = Config(data_dir=data_dir, bcrypt_rounds=4, secret_key="a11y-secret-key",
                             site_url=self.url, limits=dict(ALL_OFF), database_url=database_url)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="a11y-site", daemon=True)

    def run(self, coro, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        self.app = create_app(self.config, clock=Clock())
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        try:
            self.run(self.runner.cleanup())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


PEOPLE = {  # (role, language): (e-mail, name)
    (ADMIN, "nl"): ("beheer@example.nl", "Beheerder Bakker"),
    (ADMIN, "en"): ("admin@example.nl", "Admin Adams"),
    (MODERATOR, "nl"): ("mo@example.nl", "Mo Moderator"),
    (MODERATOR, "en"): ("mona@example.nl", "Mona Moderator"),
    (MEMBER, "nl"): ("lid@example.nl", "Lies Lid"),
    (MEMBER, "en"): ("member@example.nl", "Mark Member"),
}


async def build_world(site: ServedSite) -> dict:
    """A site as people use it; returns the ids the pages need."""
    svc = site.app[services_key]
    sessions, users = [], {}
    try:
        async def person(key) -> ApiUser:
            email, name = PEOPLE[key]
            if key[0] == ADMIN:
                await make_admin(svc, email, name)
            else:
                user_id = (await accounts.register(svc, email=email, password=PASSWORD, display_name=name,
                                                   accepted_terms=True, send_confirmation=False))["id"]
                await verify_email(svc, user_id)
            session = aiohttp.ClientSession(base_url=site.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
            sessions.append(session)
            user = ApiUser(session, email)
            await user.login()
            await user.patch("/api/v1/me", {"display_name": name, "locale": key[1], "bio": f"{name} werkt bij de provincie."})
            return user

        for key in PEOPLE:
            users[key] = await person(key)
        admin, admin_en = users[(ADMIN, "nl")], users[(ADMIN, "en")]
        mo, mona = users[(MODERATOR, "nl")], users[(MODERATOR, "en")]
        lies, mark = users[(MEMBER, "nl")], users[(MEMBER, "en")]

        group = (await admin.post("/api/v1/groups", {
            "name": "Werkgroep Energie", "kind": "werkgroep", "visibility": "open",
            "description": "Gemeenten en provincie werken samen aan de **energietransitie** in de regio."},
            expect=201))["group"]["id"]
        for user in (mo, mona, lies, mark):
            await admin.post(f"/api/v1/groups/{group}/invitations", {"user_id": user.id}, expect=201)
            await user.post(f"/api/v1/groups/{group}/join")
        await admin.patch(f"/api/v1/groups/{group}/members/{mo.id}", {"role": "owner"})
        await admin.patch(f"/api/v1/groups/{group}/members/{mona.id}", {"role": "owner"})
        await admin_en.post("/api/v1/groups", {"name": "Besloten overleg", "kind": "werkgroep", "visibility": "closed",
                                               "description": "Alleen voor genodigden."}, expect=201)

        started = await lies.post(f"/api/v1/groups/{group}/threads", {
            "title": "Regiodeal Noordoost: wie doet mee?",
            "body": "De **regiodeal** is rond. Wie doet mee met de werkgroep?\n\n- planning\n- budget\n\n"
                    "Zie [de brief](https://example.nl/brief)."}, expect=201)
        thread, first_post = started["thread"]["id"], started["post"]["id"]
        reply = (await mo.post(f"/api/v1/threads/{thread}/posts", {
            "body": "Ik doe mee, @lies-lid. Zullen we in december afspreken?", "parent_id": first_post},
            expect=201))["post"]["id"]
        await mark.post(f"/api/v1/threads/{thread}/posts", {"body": "Count me in, @mo-moderator.",
                                                            "parent_id": reply}, expect=201)
        await mona.post(f"/api/v1/threads/{thread}/posts", {"body": "Ik zet het op de agenda."}, expect=201)
        await lies.patch(f"/api/v1/posts/{first_post}", {"body": "De **regiodeal** is rond. Wie doet mee?\n\n"
                                                                 "(aangevuld)"})
        for n in range(3):
            await mo.post(f"/api/v1/groups/{group}/threads", {"title": f"Verslag overleg {n + 1}",
                                                             "body": f"Het verslag van overleg {n + 1}."}, expect=201)
        doomed = (await lies.post(f"/api/v1/groups/{group}/threads", {"title": "Dubbel gepost", "body": "Oeps."},
                                  expect=201))["thread"]["id"]  # its delete button leads to the confirmation
        await mark.post(f"/api/v1/posts/{reply}/reports", {"reason": "off_topic", "text": "Hoort niet hier."},
                        expect=201)

        news = (await admin.post("/api/v1/news", {"title": "Werkconferentie Maak verschil",
                                                  "summary": "Schrijf je in voor de conferentie.",
                                                  "body": "Op **12 december** in Zwolle.", "tags": ["conferentie"]},
                                 expect=201))["news"]["id"]
        await admin.patch(f"/api/v1/news/{news}", {"body": "Op **12 december** in Zwolle. Aanmelden kan nu."})
        await admin.post("/api/v1/news", {"title": "Nieuws uit de werkgroep", "body": "De regiodeal is rond.",
                                          "group_id": group}, expect=201)

        event = (await admin.post("/api/v1/events", {
            "title": "Werkconferentie Maak verschil", "description": "Een dag over **samenwerken**.",
            "starts_at": "2026-12-12T09:30", "ends_at": "2026-12-12T16:00", "location": "Provinciehuis Zwolle",
            "capacity": 50, "questions": ["Dieetwensen"]}, expect=201))["event"]["id"]
        await mo.post("/api/v1/events", {"title": "Overleg werkgroep", "starts_at": "2026-12-03T14:00",
                                         "group_id": group, "location": "Online"}, expect=201)
        await lies.put(f"/api/v1/events/{event}/rsvp", {"answer": "going", "answers": {"0": "vegetarisch"}})

        async def upload(user, path, **fields):
            data = aiohttp.FormData()
            for name, value in fields.items():
                data.add_field(name, value)
            data.add_field("file", b"Rapport Maak verschil: samenwerking in de regio.\n", filename="rapport.txt",
                           content_type="text/plain")
            response = await user.client.post(path, data=data, headers={"X-CSRF-Token": user.csrf})
            body = await response.json()
            assert response.status == 201, body
            return body["document"]["id"]

        document = await upload(admin, "/api/v1/documents", title="Rapport Maak verschil", visibility="public",
                                description="Het eindrapport.")
        group_document = await upload(lies, f"/api/v1/groups/{group}/documents", title="Verslag werkgroep")

        await admin.post("/api/v1/pages", {"slug": "over", "title": "Over het programma",
                                           "body": "Maak verschil is een programma van **BZK**.",
                                           "menu": "header", "menu_order": 1}, expect=201)
        await users[(ADMIN, "nl")].client.post("/api/v1/password/forgot", json={"email": PEOPLE[(MEMBER, "nl")][0]})

        await site.app[scheduler_key].run_once()  # fan-out: notifications, search index
        async with svc.db.read() as conn:
            mail = (await conn.execute_fetchall("SELECT id FROM outbox ORDER BY id LIMIT 1"))[0][0]
        return {"group": group, "thread": thread, "doomed": doomed, "first_post": first_post, "reply": reply, "news": news,
                "event": event, "document": document, "group_document": group_document, "mail": mail,
                "member_id": lies.id}
    finally:
        for session in sessions:
            await session.close()


# ---------------------------------------------------------------- the browser

# What sticks out past the right edge at this width. A box counts where its parent still fits
# (the parent is then not the cause); content counts where an element's own text or inline
# content runs past the edge (a long word, a URL, white-space: nowrap) and no child box does.
# Inside a scrolling box (overflow-x auto/scroll/hidden) nothing counts, except an absolutely
# positioned element whose containing block lies outside that box: it still widens the page.
REFLOW_JS = """() => {
  const doc = document.documentElement, limit = doc.clientWidth + 1;
  const clipped = e => {
    let pos = getComputedStyle(e).position;
    if (pos === 'fixed') return false;
    let abs = pos === 'absolute';
    for (let p = e.parentElement; p && p !== doc && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (!abs && s.overflowX !== 'visible') return true;
      if (abs && s.position !== 'static') { abs = false; if (s.overflowX !== 'visible') return true; }
    }
    return false; };
  const path = e => { const parts = []; for (let n = e; n && n !== document.body && parts.length < 5; n = n.parentElement) {
      let s = n.tagName.toLowerCase(); if (n.id) { s += '#' + n.id; parts.unshift(s); break; }
      if (n.classList.length) s += '.' + [...n.classList].join('.'); parts.unshift(s); } return parts.join(' > '); };
  const boxOut = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > limit; };
  const contentOut = e => { const r = e.getBoundingClientRect();
      return r.width > 0 && getComputedStyle(e).overflowX === 'visible' && r.left + e.scrollWidth > limit; };
  const out = [];
  for (const e of document.body.querySelectorAll('*')) {
    if (clipped(e)) continue;
    const p = e.parentElement, r = e.getBoundingClientRect();
    let why = null;
    if (boxOut(e) && !(p && p !== document.body && boxOut(p) && !clipped(p))) why = 'box';
    else if (!boxOut(e) && contentOut(e) && ![...e.children].some(c => boxOut(c) || contentOut(c))) why = 'content';
    if (!why) continue;
    const cs = getComputedStyle(e);
    out.push({selector: path(e), why, right: Math.round(why === 'box' ? r.right : r.left + e.scrollWidth),
              width: Math.round(r.width), position: cs.position, whiteSpace: cs.whiteSpace, minWidth: cs.minWidth,
              html: e.outerHTML.replace(/\\s+/g, ' ').slice(0, 160)});
  }
  out.sort((a, b) => b.right - a.right);
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, culprits: out.slice(0, 8)};
}"""


# WCAG 1.4.12: line height 1.5, paragraphs 2 em apart, letters 0.12 em, words 0.16 em. Set on each
# element through the CSSOM (the site's CSP refuses an injected <style>, not this).
TEXT_SPACING_JS = """() => { for (const e of document.querySelectorAll('body, body *')) {
  e.style.setProperty('line-height', '1.5', 'important'); e.style.setProperty('letter-spacing', '0.12em', 'important');
  e.style.setProperty('word-spacing', '0.16em', 'important');
  if (e.tagName === 'P') e.style.setProperty('margin-bottom', '2em', 'important'); } }"""

# ... and nothing is cut off by it: no box that hides its overflow holds more text than it shows
# (a visually hidden text, 1 px by design, is not shown at all and does not count)
CLIPPED_JS = """() => { const out = [];
  for (const e of document.body.querySelectorAll('*')) {
    const s = getComputedStyle(e), r = e.getBoundingClientRect();
    if (s.display === 'none' || s.visibility === 'hidden' || r.width <= 2 || r.height <= 2) continue;
    const hidesY = ['hidden', 'clip'].includes(s.overflowY), hidesX = ['hidden', 'clip'].includes(s.overflowX);
    if ((hidesY && e.scrollHeight > e.clientHeight + 2) || (hidesX && e.scrollWidth > e.clientWidth + 2)) {
      if ((e.innerText || '').trim()) out.push(e.outerHTML.replace(/\\s+/g, ' ').slice(0, 160)); } }
  return out.slice(0, 8); }"""


class Harness:
    def __init__(self, site: ServedSite, world: dict, browser, axe: Axe):
        self.site, self.world, self.browser, self.axe = site, world, browser, axe
        self.contexts: dict = {}
        self.results = os.environ.get("A11Y_RESULTS")

    def context(self, role: str, lang: str):
        if (role, lang) not in self.contexts:
            context = self.browser.new_context(locale=BROWSER_LOCALE[lang], viewport=DESKTOP)
            if role != VISITOR:
                page = context.new_page()
                page.goto(f"{self.site.url}/login")
                page.fill("#f-email", PEOPLE[(role, lang)][0])
                page.fill("#f-password", PASSWORD)
                page.click("form[action='/login'] button[type=submit]")
                page.wait_for_url(f"{self.site.url}/")
                page.close()
            self.contexts[(role, lang)] = context
        return self.contexts[(role, lang)]

    def open(self, spec: Spec, role: str, lang: str, viewport: dict):
        page = self.context(role, lang).new_page()
        page.set_viewport_size(viewport)
        path = spec.url_path(self.world)
        if spec.action:
            spec.action(page, self.site.url, path)
        else:
            response = page.goto(self.site.url + path)
            assert response.status == spec.status, f"{path} as {role}: HTTP {response.status}"
        page.wait_for_load_state("load")
        assert page.get_attribute("html", "lang") == lang, f"{path} as {role}: not in {lang}"
        return page

    def record(self, kind: str, spec: Spec, role: str, lang: str, url: str, found) -> None:
        if self.results:
            with open(self.results, "a", encoding="utf-8") as out:
                out.write(json.dumps({"kind": kind, "page": spec.name, "role": role, "lang": lang,
                                      "url": url, "found": found}) + "\n")


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    axe_js = os.environ.get("AXE_JS")
    axe = Axe.from_file(axe_js) if axe_js else Axe()
    with postgres_schema() as database_url:  # on PostgreSQL when the suite runs there
        site = ServedSite(tmp_path_factory.mktemp("a11y") / "data", database_url)
        site.start()
        try:
            world = site.run(build_world(site))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    yield Harness(site, world, browser, axe)
                finally:
                    browser.close()
        finally:
            site.stop()


def describe(violations: list) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{v['helpUrl'].split('?')[0]}]")
        for node in v["nodes"][:6]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      ")[:400])
        if len(v["nodes"]) > 6:
            lines.append(f"    ... and {len(v['nodes']) - 6} more")
    return "\n".join(lines)


@pytest.mark.parametrize("spec, role, lang", PARAMS)
def test_no_wcag21_aa_violation_and_reflow_at_320_css_pixels(harness, spec, role, lang):
    page = harness.open(spec, role, lang, DESKTOP)
    try:
        results = harness.axe.run(page, options={"runOnly": {"type": "tag", "values": TAGS},
                                                 "resultTypes": ["violations"]}).response
        violations = [{"id": v["id"], "impact": v["impact"], "help": v["help"], "helpUrl": v["helpUrl"],
                       "tags": v["tags"],
                       "nodes": [{"target": n["target"], "html": n["html"], "failureSummary": n.get("failureSummary")}
                                 for n in v["nodes"]]}
                      for v in results["violations"]]
        harness.record("axe", spec, role, lang, page.url, violations)
        page.set_viewport_size(PHONE)  # the same page, narrowed: its layout follows
        found = page.evaluate(REFLOW_JS)
        harness.record("reflow", spec, role, lang, page.url, found)
        if found["scrollWidth"] <= found["clientWidth"] + 1:  # and with WCAG 1.4.12's text spacing on top
            page.evaluate(TEXT_SPACING_JS)
            found = page.evaluate(REFLOW_JS)
            found["spacing"] = True
            found["clipped"] = page.evaluate(CLIPPED_JS)
            harness.record("spacing", spec, role, lang, page.url, found)
    finally:
        page.close()
    assert not violations, f"{spec.name} as {role} ({lang}), {page.url}:\n{describe(violations)}"
    culprits = "\n".join(f"    {c['selector']} ({c['why']}, {c['position']}) right={c['right']} width={c['width']}"
                         f" white-space={c['whiteSpace']}"
                         f" min-width={c['minWidth']}: {c['html']}" for c in found["culprits"])
    assert found["scrollWidth"] <= found["clientWidth"] + 1, \
        (f"{spec.name} as {role} ({lang}): {found['scrollWidth']} px wide at {found['clientWidth']} px"
         f"{' with text spacing' if found.get('spacing') else ''}\n{culprits}")
    assert not found.get("clipped"), f"{spec.name} as {role} ({lang}): text cut off with text spacing: {found['clipped']}"


# ---------------------------------------------------------------- by keyboard alone

FOCUS_SHOWN_JS = """() => { const e = document.activeElement, s = getComputedStyle(e);
  return e !== document.body && (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 || s.boxShadow !== 'none'); }"""


def tab_to(page, selector: str, most: int = 120) -> None:
    """Press Tab until the element is focused (as someone without a mouse does), checking on the
    way that every stop shows where the focus is."""
    target = page.locator(selector).first
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            assert page.evaluate(FOCUS_SHOWN_JS), f"{selector}: focused but not visibly"
            return
    raise AssertionError(f"never reached {selector} by Tab on {page.url}")


def follow(page) -> None:
    """Enter on the focused link or button, and the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _header_fits(page, width: int) -> dict:
    page.set_viewport_size({"width": width, "height": 800})
    page.reload()
    return page.evaluate("""() => {
        const header = document.querySelector('header.site'), items = [...header.children]
            .filter(e => e.getBoundingClientRect().height > 0 && getComputedStyle(e).position !== 'absolute');
        const boxes = items.map(e => e.getBoundingClientRect());  // one row: every box spans a common line
        const oneRow = Math.max(...boxes.map(b => b.top)) < Math.min(...boxes.map(b => b.bottom));
        return {height: header.getBoundingClientRect().height, rows: oneRow ? 1 : 2,
                wide: document.documentElement.scrollWidth > innerWidth,
                brand: document.querySelector('header.site .brand').textContent.trim()};
    }""")


def test_the_phone_header_stays_one_row_with_a_long_name_and_a_logo(harness):
    """Name, bell and menu on one row on a phone, also with a site name of 80 characters and a
    logo (the name then stays the link's text); and the settings put back as they were."""
    import io

    from PIL import Image
    admin = harness.context(ADMIN, "nl")
    api = admin.request
    token = api.get(harness.site.url + "/api/v1/me").json()["csrf_token"]
    as_json = {"X-CSRF-Token": token, "Content-Type": "application/json"}
    before = api.get(harness.site.url + "/api/v1/admin/settings").json()["settings"]
    member = harness.context(MEMBER, "nl").new_page()
    try:
        member.goto(harness.site.url + "/")
        for width in (320, 390):
            shape = _header_fits(member, width)
            assert shape["rows"] == 1 and shape["height"] < 80 and not shape["wide"], (width, shape)
        long_name = "Samenwerkingsplatform Maak verschil voor alle proeftuinen en werkgroepen van NL"
        picture = io.BytesIO()
        Image.new("RGB", (400, 120), "navy").save(picture, "PNG")
        logo = api.post(harness.site.url + "/api/v1/documents", headers={"X-CSRF-Token": token}, multipart={
            "title": "Logo", "visibility": "public",
            "file": {"name": "logo.png", "mimeType": "image/png", "buffer": picture.getvalue()}})
        assert logo.status == 201, logo.text()
        for fields in ({"site_name": long_name}, {"site_name": long_name,
                                                  "logo_document_id": logo.json()["document"]["id"]}):
            changed = api.put(harness.site.url + "/api/v1/admin/settings", headers=as_json,
                              data=json.dumps({**before, **fields}))
            assert changed.status == 200, changed.text()
            for width in (320, 390):
                shape = _header_fits(member, width)
                assert shape["rows"] == 1 and shape["height"] < 80 and not shape["wide"], (width, fields, shape)
                assert shape["brand"] == long_name  # what a screen reader reads: the whole name
    finally:
        api.put(harness.site.url + "/api/v1/admin/settings", headers=as_json,
                data=json.dumps({**before, "logo_document_id": None}))
        member.close()


def test_a_thread_reads_in_order_in_the_accessibility_tree_on_a_phone(harness):
    """What a screen reader walks through on a phone (Chromium's accessibility tree, as
    Playwright snapshots it): the header's landmarks and named controls, one page heading, each
    post an article named by its writer with its actions naming whom they are about, and the
    reply box under its own heading with its label."""
    page = harness.context(MEMBER, "nl").new_page()
    try:
        page.set_viewport_size(PHONE)
        page.goto(f"{harness.site.url}/threads/{harness.world['thread']}")
        tree = page.locator("body").aria_snapshot()  # YAML: a line with [...] comes quoted
        for line in (r'- banner:', r'- link "Maak verschil"', r'- link "Meldingen', r'- group: Menu',
                     r'- main:', r"heading \"Regiodeal Noordoost: wie doet mee\?\" \[level=1\]",
                     r'- article "Lies Lid"', r'- link "Reageren ?, bericht van Mo Moderator"',
                     r"heading \"Reageer op de discussie\" \[level=2\]", r'- textbox "Uw reactie"',
                     r'- contentinfo:', r'- navigation "Over deze site"'):
            assert re.search(line, tree), f"{line!r} not in the tree:\n{tree}"
        assert tree.count("[level=1]") == 1  # one page heading
        order = [tree.index(line) for line in ("- banner:", "- main:", "- contentinfo:")]
        assert order == sorted(order)
    finally:
        page.close()



def test_register_join_and_reply_to_a_post_by_keyboard_on_a_phone(harness):
    """A newcomer, keyboard only, on a phone: registers (accepting the terms), lands on the
    welcome, joins the werkgroep from its page, and answers a post with "Reageren", which puts
    the focus in the reply box."""
    world, base = harness.world, harness.site.url
    context = harness.browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{base}/register")
        for selector, words in (("#f-email", "nieuw.lid@example.nl"), ("#f-display_name", "Nina Nieuw"),
                                ("#f-password", PASSWORD)):
            tab_to(page, selector)
            page.keyboard.type(words)
        tab_to(page, "#f-accept_terms")
        page.keyboard.press("Space")
        tab_to(page, "main form:not(.notice) button[type=submit]")
        follow(page)
        assert "/groups?welcome=1" in page.url and page.is_visible("#welcome-h")
        page.goto(f"{base}/groups/{world['group']}")
        tab_to(page, "form[action$='/join'] button[type=submit]")
        follow(page)
        assert "U bent lid van deze groep" in page.text_content("main")
        page.goto(f"{base}/threads/{world['thread']}")
        tab_to(page, f"#post-{world['reply']} a[href*='reply_to=']")
        follow(page)
        assert page.evaluate("document.activeElement.name") == "body"  # the focus is in the reply box
        page.keyboard.type("Ik doe ook mee.")
        tab_to(page, "form.reply button[type=submit]")
        follow(page)
        assert page.locator("li.post", has_text="Ik doe ook mee.").count() == 1
    finally:
        context.close()

def test_report_resolve_ban_suspend_and_mention_by_keyboard_on_a_phone(harness):
    """Runs last: it changes the site the page checks read. Every step by keyboard, on a phone."""
    world, base = harness.world, harness.site.url

    def page_of(role: str):
        page = harness.context(role, "nl").new_page()
        page.set_viewport_size({"width": 390, "height": 844})
        return page

    member = page_of(MEMBER)  # Lies reports Mona's post as spam
    member.goto(f"{base}/threads/{world['thread']}")
    tab_to(member, "li.post:has-text('Ik zet het op de agenda') a[href$='/report']")
    follow(member)
    tab_to(member, "input[name=reason][value=spam]")
    member.keyboard.press("Space")
    tab_to(member, "main form button[type=submit]")
    follow(member)
    assert "Een moderator bekijkt uw melding" in member.text_content("main")

    # and starts a discussion that mentions a moderator, choosing from the suggestions
    member.goto(f"{base}/groups/{world['group']}/threads/new")
    tab_to(member, "#f-title")
    member.keyboard.type("Vraag over de planning")
    tab_to(member, "textarea[name=body]")
    member.keyboard.type("Wat vind jij, @mo")
    member.wait_for_selector(".mention-list li[aria-selected=true]")
    member.keyboard.press("Enter")
    assert "@mo-moderator " in member.input_value("textarea[name=body]")
    tab_to(member, "main form button[type=submit]")
    follow(member)
    assert member.locator("a.mention", has_text="@mo-moderator").count() == 1
    member.close()

    moderator = page_of(MODERATOR)  # Mo hides it from the group's queue, with a reason
    moderator.goto(f"{base}/moderation?group_id={world['group']}")
    item = moderator.locator("li[id^=item-]", has_text="Ik zet het op de agenda")
    field_id = item.locator("input[name=reason]").get_attribute("id")
    tab_to(moderator, f"#{field_id}")
    moderator.keyboard.type("Reclame")
    tab_to(moderator, f"li:has(#{field_id}) button[value=hide]")
    follow(moderator)
    assert "het bericht is verborgen" in moderator.text_content("main")

    # and bans Mark for a week, on the page that asks first
    moderator.goto(f"{base}/groups/{world['group']}/members")
    tab_to(moderator, "tr:has-text('Mark Member') button[value=ban]")
    follow(moderator)
    tab_to(moderator, "#f-reason")
    moderator.keyboard.type("Herhaald buiten het onderwerp")
    tab_to(moderator, "#f-days")
    moderator.select_option("#f-days", "7")  # a select's choice by keyboard is the browser's own
    tab_to(moderator, "button[value=ban]")
    follow(moderator)
    assert "Mark Member" in moderator.text_content("section[aria-labelledby=bans-h]")
    moderator.close()

    admin = page_of(ADMIN)  # the admin suspends Lies until a date, with a reason
    admin.goto(f"{base}/admin/users")
    tab_to(admin, "tr:has-text('Lies Lid') button[value=suspend]")
    follow(admin)
    tab_to(admin, "#f-reason")
    admin.keyboard.type("Even rust")
    tab_to(admin, "button[value=suspend]")
    follow(admin)
    assert "geschorst: Even rust" in admin.text_content("main")
    admin.close()


def test_the_phone_menu_opens_and_works_by_keyboard(harness):
    page = harness.context(VISITOR, "nl").new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(harness.site.url + "/")
        header = page.locator("header.site").bounding_box()
        assert header["height"] < 80  # one row: name, menu
        assert not page.is_visible("header nav")
        tab_to(page, "#site-menu > summary")
        page.keyboard.press("Enter")
        assert page.is_visible("header nav a[href='/groups']")
        page.keyboard.press("Escape")  # closes, the focus back on its button
        assert not page.is_visible("header nav") and page.evaluate("document.activeElement.tagName") == "SUMMARY"
        page.keyboard.press("Enter")
        tab_to(page, "#site-menu a.language")  # its last stop; one more Tab leaves it, and it closes
        page.keyboard.press("Tab")
        assert not page.is_visible("header nav")  # nothing focused hides under an open panel
        page.locator("#site-menu > summary").focus()
        page.keyboard.press("Enter")
        tab_to(page, "header nav a[href='/groups']")
        follow(page)
        assert page.url.endswith("/groups")
        page.set_viewport_size({"width": 1280, "height": 800})  # wide: the menu stands in the row
        assert page.is_visible("header nav a[href='/groups']") and not page.is_visible("#site-menu > summary")
    finally:
        page.close()

