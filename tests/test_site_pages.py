"""The site's own pages: admins write them in Markdown and place them in the header or footer
menu; everyone reads them; edits keep the version they replace; bad addresses and bad input
are refused with the field named and change nothing."""
from __future__ import annotations

import re

import pytest

from tests.conftest import snapshot

PRIVACY = {"slug": "privacyverklaring", "title": "Privacyverklaring", "body": "Wij bewaren **weinig**.",
           "menu": "footer", "menu_order": 2}


async def test_a_page_is_marked_with_the_language_it_is_written_in(admin, anonymous):
    """An English reader gets the Dutch starting pages marked as Dutch (WCAG 3.1.2), in the
    footer and on the page, so a screen reader speaks them as Dutch; a Dutch reader needs no mark."""
    english = await anonymous()
    english.client.session.headers["Accept-Language"] = "en"
    home = await (await english.client.get("/")).text()
    footer = home[home.index("<footer"):home.index("</footer>")]
    assert '<html lang="en">' in home and 'href="/pages/privacy" lang="nl">' in footer
    page = await (await english.client.get("/pages/privacy")).text()
    assert '<h1 lang="nl">' in page and '<div class="body" lang="nl">' in page
    dutch = await (await (await anonymous()).client.get("/pages/privacy")).text()
    assert '<h1>' in dutch and 'lang="nl">' not in dutch.split("<main", 1)[1]
    # a page written in English says so, and is marked for a Dutch reader
    await admin.post("/api/v1/pages", {"slug": "about", "title": "About", "body": "In English.", "lang": "en",
                                       "menu": "footer"}, expect=201)
    assert (await admin.get("/api/v1/pages/about"))["page"]["lang"] == "en"
    assert '<div class="body" lang="en">' in await (await (await anonymous()).client.get("/pages/about")).text()
    await admin.patch("/api/v1/pages/about", {"lang": "fr"}, expect=422)
    from tests.test_pages import csrf_of  # a form that leaves the language out leaves it as it was
    form = await (await admin.client.get("/admin/pages/about")).text()
    await admin.client.post("/admin/pages/about", data={"csrf_token": csrf_of(form), "title": "About us",
                                                        "body": "In English.", "menu": "footer", "menu_order": "0"})
    page = (await admin.get("/api/v1/pages/about"))["page"]
    assert page["title"] == "About us" and page["lang"] == "en"
    await admin.post("/api/v1/pages", {"slug": "x", "title": "X", "body": "x", "lang": 1}, expect=422)


async def test_admins_write_pages_that_everyone_reads_in_the_menus(admin, anonymous, make_user):
    for slug in ("voorwaarden", "privacy", "toegankelijkheid", "contact"):  # the starting pages: this site writes its own
        await admin.delete(f"/api/v1/pages/{slug}")
    created = await admin.post("/api/v1/pages", PRIVACY, expect=201)
    assert created["page"]["body_html"] == "<p>Wij bewaren <strong>weinig</strong>.</p>\n"
    await admin.post("/api/v1/pages", {"slug": "over", "title": "Over het programma", "body": "Maak verschil.",
                                       "menu": "header", "menu_order": 1}, expect=201)
    await admin.post("/api/v1/pages", {"slug": "contact", "title": "Contact", "body": "Mail ons.",
                                       "menu": "footer", "menu_order": 1}, expect=201)
    await admin.post("/api/v1/pages", {"slug": "verborgen-uit-menu", "title": "Los", "body": "x"}, expect=201)
    visitor = await anonymous()
    page = await (await visitor.client.get("/pages/privacyverklaring")).text()
    assert "<strong>weinig</strong>" in page and "<h1>Privacyverklaring</h1>" in page
    home = await (await visitor.client.get("/")).text()
    header = home[home.index("<header"):home.index("</header>")]
    footer = home[home.index("<footer"):home.index("</footer>")]
    assert 'href="/pages/over"' in header and "privacyverklaring" not in header
    assert footer.index('href="/pages/contact"') < footer.index('href="/pages/privacyverklaring"')  # menu order
    assert "verborgen-uit-menu" not in home
    listed = await visitor.get("/api/v1/pages")
    assert {p["slug"] for p in listed["pages"]} == {"privacyverklaring", "over", "contact", "verborgen-uit-menu"}
    member = await make_user("Lid")
    assert (await member.get("/api/v1/pages/over"))["page"]["title"] == "Over het programma"


async def test_only_admins_write_and_others_meet_nothing(admin, make_user, anonymous, svc):
    await admin.post("/api/v1/pages", PRIVACY, expect=201)
    member = await make_user("Lid")
    visitor = await anonymous()
    before = await snapshot(svc)
    for user in (member, visitor):
        await user.post("/api/v1/pages", {**PRIVACY, "slug": "andere"}, expect=404)
        await user.patch("/api/v1/pages/privacyverklaring", {"title": "Gekaapt"}, expect=404)
        await user.delete("/api/v1/pages/privacyverklaring", expect=404)
        assert (await user.client.get("/admin/pages", allow_redirects=False)).status in (303, 404)
        assert (await user.client.get("/admin/pages/privacyverklaring", allow_redirects=False)).status in (303, 404)
    assert await snapshot(svc) == before


@pytest.mark.parametrize("slug", ["a/b", "../etc", "privacy.html", "", "Hoofdletters", "met spatie", "x" * 61,
                                  "-begin", "new", "a\\b", "%2e%2e"])
async def test_a_bad_address_is_refused_with_the_field_named(admin, svc, slug):
    before = await snapshot(svc)
    body = await admin.post("/api/v1/pages", {**PRIVACY, "slug": slug}, expect=422)
    assert "slug" in body["error"]["fields"]
    assert await snapshot(svc) == before


async def test_bad_page_input_changes_nothing(admin, svc):
    await admin.post("/api/v1/pages", PRIVACY, expect=201)
    before = await snapshot(svc)
    for payload, field in (({**PRIVACY, "slug": "x", "menu": "zijkant"}, "menu"),
                           ({**PRIVACY, "slug": "x", "title": ""}, "title"),
                           ({**PRIVACY, "slug": "x", "body": "x" * 50_001}, "body"),
                           ({**PRIVACY, "slug": "x", "menu_order": 10**6}, "menu_order")):
        body = await admin.post("/api/v1/pages", payload, expect=422)
        assert field in body["error"]["fields"], payload
    await admin.post("/api/v1/pages", {**PRIVACY, "menu_order": "1"}, expect=422)  # strict JSON types
    await admin.post("/api/v1/pages", PRIVACY, expect=409)  # the address is taken
    await admin.patch("/api/v1/pages/privacyverklaring", {"menu": "overal"}, expect=422)
    for missing in ("/api/v1/pages/bestaat-niet", "/api/v1/pages/a.b", "/api/v1/pages/..%2Fx"):
        await admin.get(missing, expect=404)
    assert await snapshot(svc) == before


async def test_an_edit_keeps_the_version_it_replaces(admin, anonymous):
    await admin.post("/api/v1/pages", PRIVACY, expect=201)
    visitor = await anonymous()
    assert "weinig" in await (await visitor.client.get("/pages/privacyverklaring")).text()  # now in the cache
    updated = await admin.patch("/api/v1/pages/privacyverklaring", {"body": "Wij bewaren *niets*."})
    assert "<em>niets</em>" in updated["page"]["body_html"]
    page = await (await visitor.client.get("/pages/privacyverklaring")).text()
    assert "niets" in page and "weinig" not in page  # the visitors' cache followed the write
    editor = await (await admin.client.get("/admin/pages/privacyverklaring")).text()
    assert "Eerdere versies" in editor and "<strong>weinig</strong>" in editor and "Beheerder" in editor
    await admin.patch("/api/v1/pages/privacyverklaring", {"menu": "header"})  # the menu alone: no new version
    editor = await (await admin.client.get("/admin/pages/privacyverklaring")).text()
    assert editor.count("<details>") == 1


async def test_markdown_on_pages_is_sanitised(admin, anonymous):
    await admin.post("/api/v1/pages", {**PRIVACY, "body": '<script>window.x=1</script> [a](javascript:alert(1))'
                                                          ' ![kaart](https://elders.test/k.png)'}, expect=201)
    page = await (await (await anonymous()).client.get("/pages/privacyverklaring")).text()
    body = page[page.index('<div class="body">'):page.index("</div>", page.index('<div class="body">'))]
    assert "<script" not in body and 'href="javascript:' not in body and 'src="https://elders.test' not in body
    assert "&lt;script&gt;" in body  # shown as text


async def test_admins_manage_pages_through_the_pages(admin, svc):
    page = await (await admin.client.get("/admin/pages/new")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = await admin.client.post("/admin/pages/new", data={
        "csrf_token": token, "slug": "wcag-verklaring", "title": "Toegankelijkheidsverklaring",
        "body": "We volgen WCAG 2.1 AA.", "menu": "footer", "menu_order": "3"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/pages/wcag-verklaring"
    response = await admin.client.post("/admin/pages/new", data={
        "csrf_token": token, "slug": "slecht/adres", "title": "", "body": "x", "menu": "footer"})
    assert response.status == 422
    text = await response.text()
    assert 'aria-invalid="true"' in text and "slecht/adres" in text  # the input is kept, the fields marked
    listing = await (await admin.client.get("/admin/pages")).text()
    assert "Toegankelijkheidsverklaring" in listing
    response = await admin.client.post("/admin/pages/wcag-verklaring", data={
        "csrf_token": token, "title": "Toegankelijkheid", "body": "Nieuw.", "menu": "footer", "menu_order": "3"},
        allow_redirects=False)
    assert response.status == 303
    response = await admin.client.post("/admin/pages/wcag-verklaring", data={"csrf_token": token,
                                                                               "action": "delete"},
                                       allow_redirects=False)
    assert response.status == 303
    assert (await admin.client.get("/pages/wcag-verklaring")).status == 404
    audit = await admin.get("/api/v1/audit")
    assert [e["action"] for e in audit["entries"][:3]] == ["page.delete", "page.edit", "page.create"]


async def test_odd_menu_orders_in_the_form_are_named_not_500(admin, make_user):
    page = await (await admin.client.get("/admin/pages/new")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for odd in ("²", "--5", "1e3", "99999999"):
        response = await admin.client.post("/admin/pages/new", data={
            "csrf_token": token, "slug": "x", "title": "t", "body": "b", "menu": "none", "menu_order": odd})
        assert response.status == 422, odd
    member = await make_user("Lid")
    response = await member.client.post("/admin/pages/new", data={
        "csrf_token": member.csrf, "slug": "x", "title": "t", "body": "b", "menu": "none", "menu_order": "²"})
    assert response.status == 404


async def test_a_site_starts_with_its_footer_pages_and_registration_accepts_the_terms(admin, anonymous, svc):
    from tests.test_pages import csrf_of
    visitor = await anonymous()
    home = await (await visitor.client.get("/")).text()
    footer = home[home.index("<footer"):home.index("</footer>")]
    for slug in ("voorwaarden", "privacy", "toegankelijkheid", "contact"):
        assert f'href="/pages/{slug}"' in footer
        assert (await visitor.client.get(f"/pages/{slug}")).status == 200
    contact = await (await visitor.client.get("/pages/contact")).text()  # this test site mails from localhost:
    assert "@localhost" not in contact and "vul het hier in" in contact  # no address no one reads
    from forum.services.site_pages import _contact_address
    assert _contact_address("Maak verschil <forum@zeeland.nl>") == "Maak verschil <forum@zeeland.nl>"
    page = await (await visitor.client.get("/register")).text()
    assert 'name="accept_terms"' in page and 'href="/pages/voorwaarden"' in page and 'href="/pages/privacy"' in page
    fields = {"csrf_token": csrf_of(page), "email": "nieuw@example.nl", "display_name": "Nieuw Lid",
              "password": "een heel lang wachtwoord"}
    refused = await visitor.client.post("/register", data=fields)
    again = await refused.text()  # the same form, what was typed kept, the box marked
    assert refused.status == 422 and 'id="e-accept_terms"' in again and 'value="nieuw@example.nl"' in again
    await visitor.post("/api/v1/register", {k: v for k, v in fields.items() if k != "csrf_token"}, expect=422)
    done = await visitor.client.post("/register", data={**fields, "accept_terms": "1"}, allow_redirects=False)
    assert done.status == 303
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT terms_accepted_at FROM users WHERE email = 'nieuw@example.nl'")
    assert rows[0][0] is not None
    # an admin who deletes both pages takes the question away; one deleted is not written again
    for slug in ("voorwaarden", "privacy"):
        await admin.delete(f"/api/v1/pages/{slug}")
    assert 'name="accept_terms"' not in await (await visitor.client.get("/register")).text()
    from forum.services import site_pages
    assert await site_pages.write_starting_pages(svc) == 0


async def test_admins_name_the_site_and_give_it_a_logo_from_the_sites_library(admin, anonymous):
    from tests.test_documents import png, upload
    from tests.test_pages import csrf_of
    logo = await upload(admin, None, png(), "logo.png", title="Logo Maak verschil", visibility="public")
    report = await upload(admin, None, b"%PDF-1.4\n%%EOF\n", "verslag.pdf", title="Verslag", visibility="public")
    members_only = await upload(admin, None, png(), "intern.png", title="Intern", visibility="members")
    page = await (await admin.client.get("/admin/settings")).text()
    assert f'<option value="{logo["id"]}">Logo Maak verschil</option>' in page
    assert "Intern" not in page and "Verslag" not in page  # only public images may be a logo
    base = {"csrf_token": csrf_of(page), "registration_mode": "open"}
    for bad in (str(members_only["id"]), "abc", str(report["id"]), "999999"):
        refused = await admin.client.post("/admin/settings", data={**base, "site_name": "Zeeland Samen",
                                                                    "logo_document_id": bad})
        again = await refused.text()  # the same page, the name kept, the choice marked
        assert refused.status == 422 and 'id="e-logo_document_id"' in again and 'value="Zeeland Samen"' in again
    empty = await admin.client.post("/admin/settings", data={**base, "site_name": " ", "logo_document_id": ""})
    assert empty.status == 422 and 'id="e-site_name"' in await empty.text()
    done = await admin.client.post("/admin/settings", allow_redirects=False, data={
        **base, "site_name": "Zeeland Samen", "logo_document_id": str(logo["id"])})
    assert done.status == 303
    visitor = await anonymous()
    home = await (await visitor.client.get("/")).text()
    assert "<title>" in home and "· Zeeland Samen</title>" in home
    assert (f'<img src="/documents/{logo["id"]}/download" alt="" class="logo"><span class="brand-name">Zeeland Samen'
            '</span></a>') in home
    assert (await visitor.client.get(f"/documents/{logo['id']}/download")).status == 200
    settings = (await admin.get("/api/v1/admin/settings"))["settings"]
    assert settings["site_name"] == "Zeeland Samen" and settings["logo_document_id"] == logo["id"]
    assert "Het gekozen logo wordt niet meer getoond" not in await (await admin.client.get("/admin/settings")).text()
    await admin.delete(f"/api/v1/documents/{logo['id']}")  # a deleted logo leaves the header, not a broken image
    assert 'class="logo"' not in await (await visitor.client.get("/")).text()
    # and the admin is told why, rather than finding 'Geen logo' chosen
    assert "Het gekozen logo wordt niet meer getoond" in await (await admin.client.get("/admin/settings")).text()
    await admin.put("/api/v1/admin/settings", {"registration_mode": "open", "members_create_werkgroepen": False,
                                               "logo_document_id": 0}, expect=422)
