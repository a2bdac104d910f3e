"""The Dutch web interface as a person uses it without JavaScript: Lid worden, log in, join a
proeftuin, start a discussion, reply in the tree, edit; English on request; every string translated."""
from __future__ import annotations

import re

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from forum import ROOT
from forum.i18n import LOCALE_DIR, translations
from tests.conftest import PASSWORD


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_a_new_member_does_everything_in_the_browser(admin, anonymous):
    person = await anonymous()
    client = person.client
    page = await (await client.get("/register")).text()
    assert "<h1>Lid worden</h1>" in page and 'lang="nl"' in page
    # bad input: kept, with a message at the field
    response = await client.post("/register", data={"csrf_token": csrf_of(page), "accept_terms": "1", "email": "fout",
                                                     "display_name": "Jan de Vries", "password": "kort"})
    assert response.status == 422
    page = await response.text()
    assert 'value="Jan de Vries"' in page
    assert 'id="e-email"' in page and "Vul een geldig e-mailadres in." in page
    assert "minstens 12 tekens" in page and 'aria-invalid="true"' in page
    response = await client.post("/register", data={"csrf_token": csrf_of(page), "accept_terms": "1", "email": "jan@example.nl",
                                                    "display_name": "Jan de Vries", "password": PASSWORD})
    assert str(response.url).endswith("/groups?welcome=1")
    page = await response.text()
    assert "Jan de Vries" in page and "Regio Zwolle" in page and "Uitloggen" in page
    assert "Welkom, Jan de Vries" in page and 'href="/settings/notifications"' in page  # what to do first
    assert "Welkom" not in await (await client.get("/groups")).text()
    # join the proeftuin of my region
    zwolle = re.search(r'href="/groups/(\d+)">Regio Zwolle', page).group(1)
    page = await (await client.get(f"/groups/{zwolle}")).text()
    response = await client.post(f"/groups/{zwolle}/join", data={"csrf_token": csrf_of(page)})
    page = await response.text()
    assert "U bent lid van deze groep." in page and "Nieuwe discussie" in page
    # start a discussion
    page = await (await client.get(f"/groups/{zwolle}/threads/new")).text()
    response = await client.post(f"/groups/{zwolle}/threads/new", data={
        "csrf_token": csrf_of(page), "title": "", "body": "zonder onderwerp"})
    assert response.status == 422 and "zonder onderwerp" in await response.text()
    response = await client.post(f"/groups/{zwolle}/threads/new", data={
        "csrf_token": csrf_of(page), "title": "Regiodeal Zwolle", "body": "Wie doet **mee**?"})
    page = await response.text()
    thread_id = re.search(r"/threads/(\d+)", str(response.url)).group(1)
    assert ">Regiodeal Zwolle</h1>" in page and "<strong>mee</strong>" in page
    first_post = re.search(r'data-post-id="(\d+)"', page).group(1)
    # someone else replies to the post, and Jan answers that reply
    await admin.post(f"/api/v1/groups/{zwolle}/join")
    answer = (await admin.post(f"/api/v1/threads/{thread_id}/posts", {"body": "Ik!", "parent_id": int(first_post)},
                               expect=201))["post"]["id"]
    page = await (await client.get(f"/threads/{thread_id}")).text()
    assert f'href="/threads/{thread_id}?reply_to={answer}#body-{answer}"' in page
    page = await (await client.get(f"/threads/{thread_id}?reply_to={answer}")).text()
    assert "Reageer op Beheerder" in page and f'name="parent_id" value="{answer}"' in page
    response = await client.post(f"/threads/{thread_id}/reply", data={
        "csrf_token": csrf_of(page), "body": "Mooi, welkom", "parent_id": str(answer)}, allow_redirects=False)
    assert response.status == 303 and re.search(r"/threads/\d+\?post=(\d+)#post-\1$", response.headers["Location"])
    page = await (await client.get(response.headers["Location"])).text()
    assert re.search(r'class="post indent-2" id="post-\d+" data-post-id="\d+" data-parent-id="%d"' % answer, page)
    # edit my opening post
    page = await (await client.get(f"/posts/{first_post}/edit")).text()
    response = await client.post(f"/posts/{first_post}/edit", data={"csrf_token": csrf_of(page),
                                                                    "body": "Wie doet mee aan de regiodeal?"})
    page = await response.text()
    assert "aan de regiodeal" in page and "bewerkt" in page
    # the profile lists the group
    me = re.search(r'href="/users/(\d+)">Jan de Vries', page).group(1)
    profile = await (await client.get(f"/users/{me}")).text()
    assert "Regio Zwolle" in profile
    # log out
    response = await client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert "Inloggen" in await response.text()


async def test_login_form_returns_to_where_you_were(admin, anonymous):
    visitor = await anonymous()
    response = await visitor.client.get("/groups/new")
    assert "/login?next=/groups/new" in str(response.url)
    page = await response.text()
    response = await visitor.client.post("/login", data={"csrf_token": csrf_of(page), "email": admin.email,
                                                         "password": "verkeerd!!!!!!", "next": "/groups/new"})
    assert response.status == 401
    page = await response.text()
    assert "klopt niet" in page and f'value="{admin.email}"' in page
    response = await visitor.client.post("/login", data={"csrf_token": csrf_of(page), "email": admin.email,
                                                         "password": PASSWORD, "next": "//evil.example/"})
    assert str(response.url).endswith(":%d/" % response.url.port)


async def test_english_on_request(admin, anonymous):
    visitor = await anonymous()
    page = await (await visitor.client.get("/groups", headers={"Accept-Language": "en-GB,en;q=0.9,nl;q=0.5"})).text()
    assert 'lang="en"' in page and "Pilot regions" in page and "Working groups" in page
    dutch = await anonymous()
    page = await (await dutch.client.get("/groups", headers={"Accept-Language": "nl-NL"})).text()
    assert "Proeftuinen" in page
    # a visitor's choice is kept in a cookie and beats the header
    link = re.search(r'href="(/language\?[^"]+)"', page).group(1).replace("&amp;", "&")
    response = await dutch.client.get(link, headers={"Accept-Language": "nl-NL"})
    assert str(response.url).endswith("/groups")
    assert "Pilot regions" in await response.text()
    # a member's choice is stored on the profile, and used for API messages too
    await admin.patch("/api/v1/me", {"display_name": "Beheerder", "bio": "", "locale": "en"})
    page = await (await admin.client.get("/")).text()
    assert "Active discussions" in page
    body = await admin.post("/api/v1/groups", {"name": "", "kind": "werkgroep", "visibility": "open"}, expect=422)
    assert body["error"]["fields"]["name"] == "This field is required."


async def test_admin_pages(admin, make_user, anonymous):
    member = await make_user("Lid")
    page = await (await admin.client.get("/admin/users")).text()
    assert member.email in page
    response = await admin.client.post(f"/admin/users/{member.id}", data={
        "csrf_token": admin.csrf, "action": "suspend", "confirm": "yes", "reason": "Spam"})
    assert "geschorst" in await response.text()
    await member.get("/api/v1/me", expect=401)
    response = await admin.client.post("/admin/settings", data={"csrf_token": admin.csrf,
                                                                "registration_mode": "approval"})
    assert "Opgeslagen." in await response.text()
    visitor = await anonymous()
    await visitor.client.get("/password/forgot")
    page = await (await visitor.client.get("/password/forgot")).text()
    await visitor.client.post("/password/forgot", data={"csrf_token": csrf_of(page), "email": admin.email})
    outbox = await (await admin.client.get("/admin/outbox")).text()
    mail_id = re.search(r'href="/admin/outbox/(\d+)"', outbox).group(1)
    mail = await (await admin.client.get(f"/admin/outbox/{mail_id}")).text()
    link = re.search(r"http://127\.0\.0\.1:8080(/password/reset/\S+)", mail).group(1)
    page = await (await visitor.client.get(link)).text()
    response = await visitor.client.post(link, data={"csrf_token": csrf_of(page), "password": "nieuw en lang genoeg"})
    assert "U kunt nu inloggen" in await response.text()
    assert (await visitor.client.get(link)).status == 404
    assert (await member.client.get("/admin/users")).status == 404


def test_every_message_has_an_english_translation():
    """Every string marked in code and templates has a non-empty English entry in the catalog."""
    method_map = [("forum/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"},
               "templates/**.txt": {"extensions": "jinja2.ext.i18n"}}
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="en")
    untranslated = []
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map=options,
                                                keywords={"_": None, "N_": None, "gettext": None,
                                                          "ngettext": (1, 2), "ntranslate_in": (2, 3)}):
        entry = catalog.get(message[0] if isinstance(message, tuple) else message)
        strings = entry.string if entry and isinstance(entry.string, tuple) else (entry.string if entry else "",)
        if not all(strings):
            untranslated.append(message)
    assert untranslated == []
    assert translations("en").gettext("Lid worden") == "Join"


async def test_moderator_handles_requests_and_invitations_in_the_browser(admin, make_user):
    group = (await admin.post("/api/v1/groups", {"name": "Besloten WG", "kind": "werkgroep", "visibility": "closed"},
                              expect=201))["group"]
    asker = await make_user("Vrager")
    page = await (await asker.client.get(f"/groups/{group['id']}")).text()
    assert "Lidmaatschap aanvragen" in page and "Alleen leden van deze groep lezen de discussies." in page
    response = await asker.client.post(f"/groups/{group['id']}/join", data={"csrf_token": asker.csrf})
    assert "wacht op een moderator" in await response.text()
    members = await (await admin.client.get(f"/groups/{group['id']}/members")).text()
    assert "Vrager" in members and "aangevraagd" in members and "Toelaten" in members
    response = await admin.client.post(f"/groups/{group['id']}/members/{asker.id}",
                                       data={"csrf_token": admin.csrf, "action": "approve"})
    assert response.status == 200
    assert (await asker.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "member"}
    response = await admin.client.post(f"/groups/{group['id']}/invitations",
                                       data={"csrf_token": admin.csrf, "email": "geen-adres"})
    assert response.status == 422 and 'value="geen-adres"' in await response.text()
    response = await admin.client.post(f"/groups/{group['id']}/invitations",
                                       data={"csrf_token": admin.csrf, "email": "nieuw@example.nl"})
    assert "nieuw@example.nl" in await response.text()
    # the member cannot reach the moderation actions
    response = await asker.client.post(f"/groups/{group['id']}/members/{admin.id}",
                                       data={"csrf_token": asker.csrf, "action": "remove"})
    assert response.status == 403
    # the last owner is told why leaving is refused
    response = await admin.client.post(f"/groups/{group['id']}/leave", data={"csrf_token": admin.csrf})
    assert response.status == 409 and "enige eigenaar" in await response.text()


async def test_creating_groups_in_the_browser(admin, make_user):
    page = await (await admin.client.get("/groups/new")).text()
    assert 'value="proeftuin"' in page
    response = await admin.client.post("/groups/new", data={"csrf_token": admin.csrf, "name": "", "kind": "werkgroep",
                                                            "visibility": "open", "description": "Iets"})
    assert response.status == 422 and 'value="Iets"' in await response.text()
    response = await admin.client.post("/groups/new", data={"csrf_token": admin.csrf, "name": "WG Wonen",
                                                            "kind": "werkgroep", "visibility": "closed"})
    assert "<h1>WG Wonen</h1>" in await response.text()
    member = await make_user("Lid")
    assert (await member.client.get("/groups/new")).status == 403
    await admin.call("PUT", "/api/v1/admin/settings", {"registration_mode": "open", "members_create_werkgroepen": True})
    page = await (await member.client.get("/groups/new")).text()
    assert 'value="werkgroep"' in page and 'value="proeftuin"' not in page
