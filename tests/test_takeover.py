"""A fresh public site tried as a newcomer and as an attacker would: nobody becomes admin by
registering first, cached visitor pages carry nobody's token, addresses are proven before
they open closed groups, invitations by mail need their own link, a stranger cannot lock the
owner out, reset links die with a new password, redirects stay on the site, and bans and
profiles reveal and allow only what the policy says."""
from __future__ import annotations

import os
import re
import stat

from forum.keys import services_key
from forum.services import accounts, setup
from tests.conftest import PASSWORD, count, open_group


async def mails(svc, to: str | None = None) -> list[dict]:
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT to_addr, subject, body_text FROM outbox ORDER BY id")
    return [dict(zip(("to", "subject", "body"), row)) for row in rows if to is None or row[0] == to]


def link_in(mail: dict, path: str) -> str:
    return re.search(rf"https?://[^/\s]+(/{path}/[A-Za-z0-9_\-]+)", mail["body"]).group(1)


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --- the first admin ----------------------------------------------------------------------

async def test_registering_first_makes_a_member_and_only_the_setup_link_makes_the_admin(
        server, anonymous, aiohttp_client, caplog):
    svc = server.app[services_key]
    token_file = setup.token_path(svc.config)
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    token = token_file.read_text().strip()
    # printed at start, for whoever runs the server
    assert any(f"/setup/{token}" in record.getMessage() for record in caplog.get_records("setup"))

    early = await anonymous()
    body = await early.post("/api/v1/register", {"accept_terms": True, "email": "vroeg@example.nl", "password": PASSWORD,
                                                 "display_name": "Vroeg"}, expect=201)
    assert body["user"]["role"] == "member"
    page = await (await early.client.get("/register")).text()
    response = await early.client.post("/register", data={"csrf_token": token_of(page), "accept_terms": "1", "email": "form@example.nl",
                                                          "password": PASSWORD, "display_name": "Form"},
                                       allow_redirects=False)
    assert response.status == 303
    async with svc.db.read() as conn:
        roles = [row[0] for row in await conn.execute_fetchall("SELECT role FROM users")]
    assert roles == ["member", "member"]

    attacker = await anonymous()
    for guess in ("x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), ""):
        assert (await attacker.client.get(f"/setup/{guess}")).status == 404

    owner = ApiClient(await aiohttp_client(server))
    page = await (await owner.client.get(f"/setup/{token}")).text()
    response = await owner.client.post(f"/setup/{token}", data={
        "csrf_token": token_of(page), "email": "beheer@example.nl", "display_name": "Beheer",
        "password": PASSWORD}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/admin/users"
    me = await (await owner.client.get("/api/v1/me")).json()
    assert me["user"]["role"] == "admin" and me["user"]["email_verified"] is True
    assert not token_file.exists()

    # the link is spent: a second use makes nobody admin
    page = await attacker.client.get(f"/setup/{token}")
    assert page.status == 404
    admins_before = await _admins(svc)
    response = await attacker.client.post(f"/setup/{token}", data={"csrf_token": "", "email": "x@example.nl",
                                                                   "display_name": "X", "password": PASSWORD})
    assert response.status in (403, 404)
    assert await _admins(svc) == admins_before == 1


class ApiClient:
    def __init__(self, client):
        self.client = client


async def _admins(svc) -> int:
    async with svc.db.read() as conn:
        return (await conn.execute_fetchall("SELECT COUNT(*) FROM users WHERE role = 'admin'"))[0][0]


async def test_create_admin_ends_the_setup(svc):
    assert setup.token_path(svc.config).exists()
    user, created = await accounts.create_admin(svc, email="cli@example.nl", password=PASSWORD,
                                                display_name="Cli")
    assert created and user["role"] == "admin" and user["email_verified_at"]
    setup.finished(svc.config)  # as the command does
    assert not setup.token_path(svc.config).exists()
    assert await setup.prepare(svc) is None  # a restart prints no link any more


# --- visitors' cached pages ---------------------------------------------------------------

async def test_a_cached_form_page_never_carries_another_visitors_token(anonymous, svc):
    first = await anonymous()
    await first.client.get("/register")  # gets the visitor cookie
    pages = [await (await first.client.get("/login")).text() for _ in range(2)]  # warm the cache
    first_token = token_of(pages[0])

    second = await anonymous()  # no cookie yet
    page = await (await second.client.get("/register")).text()
    assert first_token not in page
    response = await second.client.post("/register", data={
        "csrf_token": token_of(page), "accept_terms": "1", "email": "tweede@example.nl", "password": PASSWORD,
        "display_name": "Tweede"}, allow_redirects=False)
    assert response.status == 303
    await second.client.post("/logout", data={"csrf_token": token_of(await (await second.client.get("/groups")).text())})
    second.client.session.cookie_jar.clear()
    page = await (await second.client.get("/login")).text()
    assert first_token not in page
    response = await second.client.post("/login", data={"csrf_token": token_of(page), "email": "tweede@example.nl",
                                                         "password": PASSWORD, "next": "/groups"},
                                        allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/groups"


# --- proven addresses and invitations -----------------------------------------------------

async def test_an_unproven_address_opens_no_closed_group_until_confirmed(admin, make_user, svc):
    closed = await open_group(admin, "Besloten", visibility="closed")
    public = await open_group(admin, "Open groep")
    newcomer = await make_user("Nieuw", verified=False)
    body = await newcomer.post(f"/api/v1/groups/{closed['id']}/join", expect=403)
    assert "e-mailadres" in body["error"]["message"]
    await newcomer.post(f"/api/v1/groups/{public['id']}/join")  # open groups need no proof

    assert "Stuur de link opnieuw" in await (await newcomer.client.get("/groups")).text()  # the banner
    mail = (await mails(svc, newcomer.email))[-1]
    path = link_in(mail, "confirm-email")
    page = await newcomer.client.get(path)  # a mail scanner's GET confirms nothing
    assert page.status == 200
    # the only button there confirms: the banner's "send the link again" stays off this page
    assert 'action="/confirm-email"' not in await page.text()
    assert 'action="/confirm-email"' in await (await newcomer.client.get("/groups")).text()
    assert not (await newcomer.get("/api/v1/me"))["user"]["email_verified"]
    response = await newcomer.client.post(path, data={"csrf_token": newcomer.csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/email-confirmed"
    done = await (await newcomer.client.get("/email-confirmed")).text()
    assert "Stuur de link opnieuw" not in done  # the banner is gone on the very next page
    assert (await newcomer.get("/api/v1/me"))["user"]["email_verified"]
    assert (await newcomer.post(f"/api/v1/groups/{closed['id']}/join"))["membership"]["role"] == "pending"
    assert (await newcomer.client.post(path, data={"csrf_token": newcomer.csrf})).status == 404  # single use


async def test_admins_confirm_addresses_by_hand(admin, make_user):
    newcomer = await make_user("Zonder post", verified=False)
    await newcomer.post(f"/api/v1/admin/users/{newcomer.id}/confirm-email", expect=404)
    body = await admin.post(f"/api/v1/admin/users/{newcomer.id}/confirm-email")
    assert body["user"]["email_verified"] is True
    await admin.post(f"/api/v1/admin/users/{newcomer.id}/confirm-email", expect=409)
    audit = await admin.get("/api/v1/audit")
    assert audit["entries"][0]["action"] == "user.confirm_email"


async def test_an_invitation_by_mail_is_not_claimed_by_registering_the_address(admin, make_user, anonymous, svc):
    hidden = await open_group(admin, "Verborgen", visibility="hidden")
    await admin.post(f"/api/v1/groups/{hidden['id']}/invitations", {"email": "genodigde@example.nl"}, expect=201)
    invitation = (await mails(svc, "genodigde@example.nl"))[-1]

    squatter = await anonymous()  # registers the invited address without owning its mailbox
    await squatter.post("/api/v1/register", {"accept_terms": True, "email": "genodigde@example.nl", "password": PASSWORD,
                                             "display_name": "Kaper"}, expect=201)
    squatter.email = "genodigde@example.nl"
    await squatter.login()
    await squatter.get(f"/api/v1/groups/{hidden['id']}", expect=404)
    await squatter.post(f"/api/v1/groups/{hidden['id']}/join", expect=404)
    assert (await squatter.get("/api/v1/me/invitations"))["groups"] == []

    # whoever holds the mailed link joins, with whatever account they have
    holder = await make_user("Echte genodigde")
    token = link_in(invitation, "invitations").rsplit("/", 1)[1]
    page = await holder.client.get(f"/invitations/{token}")
    assert page.status == 200 and "Verborgen" in await page.text()
    body = await holder.post("/api/v1/invitations/accept", {"token": token})
    assert body["membership"] == {"role": "member"}
    await holder.get(f"/api/v1/groups/{hidden['id']}/threads")
    await squatter.post("/api/v1/invitations/accept", {"token": token}, expect=404)  # used up
    assert (await holder.post("/api/v1/invitations/accept", {"token": token}, expect=404))


async def test_a_proven_owner_of_an_invited_address_sees_and_accepts_it(admin, make_user):
    hidden = await open_group(admin, "Verborgen werkgroep", visibility="hidden")
    invitee = await make_user("Ineke")
    await admin.post(f"/api/v1/groups/{hidden['id']}/invitations", {"email": invitee.email}, expect=201)
    assert [g["id"] for g in (await invitee.get("/api/v1/me/invitations"))["groups"]] == [hidden["id"]]
    assert (await invitee.post(f"/api/v1/groups/{hidden['id']}/join"))["membership"]["role"] == "member"
    members = await admin.get(f"/api/v1/groups/{hidden['id']}/members")
    assert invitee.email not in members.get("invited_emails", [])


async def test_inviting_by_address_does_not_tell_whether_it_has_an_account(admin, make_user, svc):
    group = await open_group(admin, "Besloten kring", visibility="closed")
    await make_user("Bestaand")
    known = await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"email": "bestaand@example.nl"},
                             expect=201)
    unknown = await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"email": "onbekend@example.nl"},
                               expect=201)
    assert known["invitation"].keys() == unknown["invitation"].keys()
    assert known["invitation"]["role"] == unknown["invitation"]["role"] == "invited"
    members = await admin.get(f"/api/v1/groups/{group['id']}/members")
    assert all(m["role"] != "invited" for m in members["members"])  # both wait as addresses
    known_mail, unknown_mail = (await mails(svc, "bestaand@example.nl"))[-1], (await mails(svc, "onbekend@example.nl"))[-1]
    assert known_mail["subject"] == unknown_mail["subject"]


async def test_group_channel_tells_no_visitor_of_invitations_or_requests(admin, make_user, svc):
    group = await open_group(admin, "Besloten live", visibility="closed")
    asker = await make_user("Vrager")
    invited = await make_user("Genodigd")
    await asker.post(f"/api/v1/groups/{group['id']}/join")
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": invited.id}, expect=201)
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT payload FROM events WHERE channel = ?", (f"group:{group['id']}",))
    assert not any('"pending"' in row[0] or '"invited"' in row[0] for row in rows)


# --- logins, resets, redirects ------------------------------------------------------------

async def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(admin, svc):
    svc.limiter.limits = {**svc.limiter.limits, "LOGIN": (5, 300), "LOGIN_ADDRESS": (20, 300)}
    for _ in range(5):
        try:
            await accounts.login(svc, email=admin.email, password="geraden wachtwoord", address="198.51.100.7")
        except Exception as error:
            assert error.status == 401
    try:
        await accounts.login(svc, email=admin.email, password=PASSWORD, address="198.51.100.7")
        raise AssertionError("the guesser's address should be refused now")
    except Exception as error:
        assert getattr(error, "status", None) == 429
    token, user = await accounts.login(svc, email=admin.email, password=PASSWORD, address="192.0.2.10")
    assert token and user["email"] == admin.email
    # a right password from the guessing address does not count against it either
    for _ in range(30):
        await accounts.login(svc, email=admin.email, password=PASSWORD, address="192.0.2.10")


async def test_a_new_password_voids_every_outstanding_reset_link(admin, anonymous, svc):
    visitor = await anonymous()
    for _ in range(2):
        await visitor.post("/api/v1/password/forgot", {"email": admin.email}, expect=202)
    first, second = [link_in(m, "password/reset").rsplit("/", 1)[1] for m in (await mails(svc, admin.email))[-2:]]
    await visitor.post("/api/v1/password/reset", {"token": first, "password": "een heel nieuw wachtwoord"})
    await visitor.post("/api/v1/password/reset", {"token": second, "password": "nog een ander wachtwoord"},
                       expect=404)
    await visitor.post("/api/v1/password/forgot", {"email": admin.email}, expect=202)
    third = link_in((await mails(svc, admin.email))[-1], "password/reset").rsplit("/", 1)[1]
    await admin.login("een heel nieuw wachtwoord")
    await admin.post("/api/v1/me/password", {"current_password": "een heel nieuw wachtwoord",
                                             "new_password": "weer een nieuw wachtwoord"})
    await visitor.post("/api/v1/password/reset", {"token": third, "password": "kaping van het account"}, expect=404)


async def test_reset_and_invitation_mails_are_limited_per_address(admin, anonymous, svc):
    svc.limiter.limits = {**svc.limiter.limits, "MAIL_TO": (2, 3600), "MAIL_FROM": (30, 3600)}
    visitor = await anonymous()
    before = await count(svc, "outbox")
    for _ in range(2):
        await visitor.post("/api/v1/password/forgot", {"email": "niemand@example.nl"}, expect=202)
    await visitor.post("/api/v1/password/forgot", {"email": "niemand@example.nl"}, expect=429)
    group = await open_group(admin)
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"email": "niemand@example.nl"}, expect=429)
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"email": "iemand@example.nl"}, expect=201)
    assert await count(svc, "outbox") == before + 1


async def test_redirects_after_login_and_language_stay_on_the_site(admin, anonymous):
    visitor = await anonymous()
    evil = ["/%09/evil.test/x", "//evil.test", "/\\evil.test", "\\\\evil.test", "https://evil.test/",
            "/%2F/evil.test", "/%5Cevil.test", "/\r\n/evil.test", "javascript:alert(1)", "/%0d%0a/evil.test"]
    for target in evil:
        response = await visitor.client.get("/language", params={"locale": "en", "next": target},
                                            allow_redirects=False)
        assert response.headers["Location"] == "/", target
        page = await (await visitor.client.get("/login")).text()
        response = await visitor.client.post("/login", data={"csrf_token": token_of(page), "email": admin.email,
                                                              "password": PASSWORD, "next": target},
                                              allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/", target
    response = await visitor.client.get("/language", params={"locale": "nl", "next": "/groups?x=1"},
                                        allow_redirects=False)
    assert response.headers["Location"] == "/groups?x=1"


# --- bans and profiles --------------------------------------------------------------------

async def test_a_banned_member_cannot_edit_or_rename_there(admin, make_user, svc):
    group = await open_group(admin)
    member = await make_user("Later geweerd")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Mijn draad", "body": "woorden"},
                                expect=201)
    await admin.post(f"/api/v1/groups/{group['id']}/bans", {"user_id": member.id, "reason": "spam"}, expect=201)
    await member.patch(f"/api/v1/posts/{created['post']['id']}", {"body": "nieuwe woorden"}, expect=403)
    await member.patch(f"/api/v1/threads/{created['thread']['id']}", {"title": "Andere titel"}, expect=403)
    thread = await admin.get(f"/api/v1/threads/{created['thread']['id']}")
    assert thread["thread"]["title"] == "Mijn draad" and "woorden" in thread["posts"][0]["body_html"]


async def test_profiles_show_only_memberships_the_viewer_could_see_listed(admin, make_user, anonymous):
    closed = await open_group(admin, "Besloten raad", visibility="closed")
    public = await open_group(admin, "Open raad")
    member = await make_user("Raadslid")
    fellow = await make_user("Collega")
    for user in (member, fellow):
        await user.post(f"/api/v1/groups/{closed['id']}/join")
        await admin.post(f"/api/v1/groups/{closed['id']}/members/{user.id}/approve")
        await user.post(f"/api/v1/groups/{public['id']}/join")
    stranger = await make_user("Buitenstaander")
    visitor = await anonymous()
    names = lambda body: {g["name"] for g in body["groups"]}  # noqa: E731
    assert names(await fellow.get(f"/api/v1/users/{member.id}")) == {"Besloten raad", "Open raad"}
    assert names(await stranger.get(f"/api/v1/users/{member.id}")) == {"Open raad"}  # sees the group, not its list
    await visitor.get(f"/api/v1/users/{member.id}", expect=401)  # profiles: for who is logged in
    page = await (await stranger.client.get(f"/users/{member.id}")).text()
    assert "Besloten raad" not in page and "Open raad" in page


async def test_setting_up_with_an_address_someone_registered_first_shuts_them_out(svc, anonymous):
    squatter = await anonymous()
    await squatter.post("/api/v1/register", {"accept_terms": True, "email": "beheer@gemeente.nl", "password": PASSWORD,
                                             "display_name": "Kaper"}, expect=201)
    squatter.email = "beheer@gemeente.nl"
    await squatter.login()
    token = setup.token_path(svc.config).read_text().strip()
    try:  # the setup link makes a new account; it does not promote one someone registered
        await setup.create_first_admin(svc, token, email="Beheer@Gemeente.nl", password="het echte wachtwoord",
                                       display_name="Beheer")
        raise AssertionError("setup promoted an existing account")
    except Exception as error:
        assert getattr(error, "fields", {}).get("email"), error
    assert await _admins(svc) == 0 and setup.token_path(svc.config).exists()
    # the operator promotes it on purpose from the command line: the squatter's session ends
    user, created = await accounts.create_admin(svc, email="beheer@gemeente.nl", password="het echte wachtwoord")
    assert not created and user["role"] == "admin"
    await squatter.get("/api/v1/me", expect=401)
    await squatter.post("/api/v1/login", {"email": "beheer@gemeente.nl", "password": PASSWORD}, expect=401)


async def test_a_removed_invitation_link_stops_working_and_shows_no_address(admin, make_user, svc):
    group = await open_group(admin, "Besloten club", visibility="closed")
    invitee = await make_user("Carola")
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": invitee.id}, expect=201)
    members = await admin.get(f"/api/v1/groups/{group['id']}/members")
    assert invitee.email not in members.get("invited_emails", [])  # inviting by name shows no address
    token = link_in((await mails(svc, invitee.email))[-1], "invitations").rsplit("/", 1)[1]
    await admin.delete(f"/api/v1/groups/{group['id']}/members/{invitee.id}")
    await invitee.post("/api/v1/invitations/accept", {"token": token}, expect=404)
    assert (await invitee.get(f"/api/v1/groups/{group['id']}"))["membership"] is None


async def test_parallel_guesses_cannot_slip_past_the_login_limit(admin, svc):
    import asyncio
    svc.limiter.limits = {**svc.limiter.limits, "LOGIN": (5, 300), "LOGIN_ADDRESS": (1000, 300)}
    attempts = [accounts.login(svc, email=admin.email, password=PASSWORD if i == 30 else f"gok {i:04d} gok gok",
                               address="198.51.100.9") for i in range(40)]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    statuses = [getattr(r, "status", 200) for r in results]
    assert statuses.count(401) + statuses.count(200) <= 5 and statuses[30] == 429
    token, _ = await accounts.login(svc, email=admin.email, password=PASSWORD, address="192.0.2.20")
    assert token  # the owner elsewhere is not locked out


async def test_odd_signatures_are_refused_not_500(admin, anonymous):
    visitor = await anonymous()
    for token in ("é", "ü" * 64, "\u2028"):
        response = await visitor.client.post("/login", data={"csrf_token": token, "email": "x", "password": "y"})
        assert response.status == 403
    response = await admin.client.post("/api/v1/logout", headers={"X-CSRF-Token": "é"})
    assert response.status == 403
    assert (await visitor.client.get("/unsubscribe/1.notifications.%C3%A9")).status in (400, 404)


async def test_a_member_opening_someone_elses_link_leaves_it_for_them(admin, make_user, svc):
    group = await open_group(admin, "Open met uitnodiging")
    member = await make_user("Al lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"email": "later@example.nl"}, expect=201)
    token = link_in((await mails(svc, "later@example.nl"))[-1], "invitations").rsplit("/", 1)[1]
    await member.post("/api/v1/invitations/accept", {"token": token})
    newcomer = await make_user("Later")
    assert (await newcomer.post("/api/v1/invitations/accept", {"token": token}))["membership"] == {"role": "member"}
