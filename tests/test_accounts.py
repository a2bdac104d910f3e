"""Accounts and sessions: registration rules, login, fixation, logout,
password change and reset, approval mode and suspension."""
from __future__ import annotations

import re

import pytest

from forum.security import SCHEME, hash_password, verify_password
from tests.conftest import PASSWORD, count, same_answer


async def test_email_unique_regardless_of_case(admin, anonymous, svc):
    other = await anonymous()
    before = await count(svc, "users")
    body = await other.post("/api/v1/register", {"accept_terms": True, "email": "BEHEERDER@Example.NL", "password": PASSWORD,
                                                 "display_name": "Kopie"}, expect=409)
    assert "email" in body["error"]["fields"]
    assert await count(svc, "users") == before


@pytest.mark.parametrize("password", ["kort", "elf tekens.", ""])
async def test_short_passwords_are_refused(anonymous, password, svc):
    client = await anonymous()
    body = await client.post("/api/v1/register", {"accept_terms": True, "email": "a@example.nl", "password": password,
                                                  "display_name": "A"}, expect=422)
    assert "password" in body["error"]["fields"]
    assert await count(svc, "users") == 0


@pytest.mark.parametrize("password", [
    "x" * 128,                                   # long: beyond bcrypt's 72 bytes
    "wachtwoord-" + "é" * 40,                     # non-ASCII, over 72 bytes in UTF-8
    "🔐🔑 geheime zin met emoji 🗝️",
    "nul\x00teken in het midden!",
])
async def test_long_and_non_ascii_passwords_work_in_full(anonymous, password):
    client = await anonymous()
    await client.post("/api/v1/register", {"accept_terms": True, "email": "p@example.nl", "password": password,
                                           "display_name": "P"}, expect=201)
    client.email = "p@example.nl"
    await client.login(password)
    # A password that differs only after byte 72 must not be accepted: nothing is truncated.
    other = await anonymous()
    other.email = "p@example.nl"
    await other.post("/api/v1/login", {"email": "p@example.nl", "password": password + "?"}, expect=401)


async def test_too_long_password_is_a_clear_422(anonymous):
    client = await anonymous()
    body = await client.post("/api/v1/register", {"accept_terms": True, "email": "p@example.nl", "password": "x" * 1025,
                                                  "display_name": "P"}, expect=422)
    assert "password" in body["error"]["fields"]


async def test_hash_scheme_is_versioned_with_cost_12_by_default():
    stored = await hash_password("een lang genoeg wachtwoord")
    assert stored.startswith(SCHEME + "$2b$12$")
    assert await verify_password("een lang genoeg wachtwoord", stored)
    assert not await verify_password("een ander wachtwoord!", stored)


async def test_unknown_email_and_wrong_password_answer_alike(admin, anonymous):
    client = await anonymous()
    wrong = await client.post("/api/v1/login", {"email": admin.email, "password": "verkeerd wachtwoord"}, expect=401)
    unknown = await client.post("/api/v1/login", {"email": "niemand@example.nl", "password": PASSWORD}, expect=401)
    assert same_answer(wrong) == same_answer(unknown)


async def test_session_cookie_flags_and_new_token_at_login(admin):
    cookie_before = admin.client.session.cookie_jar.filter_cookies(admin.client.make_url("/"))["forum_session"].value
    response = await admin.client.post("/api/v1/login", json={"email": admin.email, "password": PASSWORD},
                                       headers={"X-CSRF-Token": admin.csrf})
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    cookie_after = admin.client.session.cookie_jar.filter_cookies(admin.client.make_url("/"))["forum_session"].value
    assert cookie_after != cookie_before


async def test_secure_cookie_under_https(aiohttp_client, config, clock):
    from dataclasses import replace

    from forum.app import create_app
    app = create_app(replace(config, site_url="https://forum.example.nl"), clock=clock)
    client = await aiohttp_client(app)
    await client.post("/api/v1/register", json={"accept_terms": True, "email": "s@example.nl", "password": PASSWORD, "display_name": "S"})
    response = await client.post("/api/v1/login", json={"email": "s@example.nl", "password": PASSWORD})
    assert "Secure" in response.headers["Set-Cookie"]
    assert "max-age" in response.headers["Strict-Transport-Security"]


async def test_stored_session_is_hashed(admin, svc):
    token = admin.client.session.cookie_jar.filter_cookies(admin.client.make_url("/"))["forum_session"].value
    async with svc.db.read() as conn:
        rows = await (await conn.execute("SELECT token_hash FROM sessions")).fetchall()
    assert rows and all(row["token_hash"] != token for row in rows)


async def test_logout_ends_the_session_on_the_server(admin, anonymous):
    token = admin.client.session.cookie_jar.filter_cookies(admin.client.make_url("/"))["forum_session"].value
    await admin.post("/api/v1/logout")
    replay = await anonymous()
    replay.client.session.cookie_jar.update_cookies({"forum_session": token})
    await replay.get("/api/v1/me", expect=401)


async def test_password_change_ends_other_sessions(admin, anonymous):
    laptop = await anonymous()
    laptop.email = admin.email
    await laptop.login()
    body = await admin.post("/api/v1/me/password", {"current_password": PASSWORD,
                                                    "new_password": "een nieuw en lang wachtwoord"})
    admin.csrf = body["csrf_token"]
    await admin.get("/api/v1/me")            # this client got a fresh session
    await laptop.get("/api/v1/me", expect=401)
    await laptop.post("/api/v1/login", {"email": admin.email, "password": PASSWORD}, expect=401)


async def test_password_change_needs_the_current_password(admin):
    body = await admin.post("/api/v1/me/password", {"current_password": "niet het goede",
                                                    "new_password": "een nieuw en lang wachtwoord"}, expect=422)
    assert "current_password" in body["error"]["fields"]


async def test_approval_mode_keeps_new_accounts_pending(admin, make_user, anonymous):
    await admin.call("PUT", "/api/v1/admin/settings", {"registration_mode": "approval",
                                                       "members_create_werkgroepen": False})
    newcomer = await make_user("Nieuwkomer", login=False)
    body = await newcomer.post("/api/v1/login", {"email": newcomer.email, "password": PASSWORD}, expect=403)
    assert "goedkeuring" in body["error"]["message"]
    pending = await admin.get("/api/v1/admin/users?status=pending")
    assert [u["email"] for u in pending["users"]] == [newcomer.email]
    await admin.post(f"/api/v1/admin/users/{pending['users'][0]['id']}/approve")
    await newcomer.login()


async def test_suspension_ends_sessions_and_login_says_why(admin, make_user):
    member = await make_user("Lastpak")
    await admin.post(f"/api/v1/admin/users/{member.id}/suspend", {"reason": "Herhaaldelijk spam"})
    await member.get("/api/v1/me", expect=401)
    body = await member.post("/api/v1/login", {"email": member.email, "password": PASSWORD}, expect=403)
    assert "Herhaaldelijk spam" in body["error"]["message"]
    await admin.post(f"/api/v1/admin/users/{member.id}/unsuspend")
    await member.login()


async def test_admin_only_endpoints_do_not_exist_for_members(admin, make_user):
    member = await make_user("Gewoon Lid")
    await member.get("/api/v1/admin/users", expect=404)
    await member.post(f"/api/v1/admin/users/{admin.id}/suspend", {"reason": "x"}, expect=404)
    await member.patch(f"/api/v1/admin/users/{member.id}", {"role": "admin"}, expect=404)
    assert (await member.get("/api/v1/me"))["user"]["role"] == "member"


async def test_admin_changes_roles(admin, make_user):
    editor = await make_user("Redacteur")
    await admin.patch(f"/api/v1/admin/users/{editor.id}", {"role": "editor"})
    assert (await editor.get("/api/v1/me"))["user"]["role"] == "editor"
    await admin.patch(f"/api/v1/admin/users/{editor.id}", {"role": "koning"}, expect=422)


async def _reset_link(svc) -> str:
    async with svc.db.read() as conn:
        row = await (await conn.execute("SELECT body_text FROM outbox ORDER BY id DESC LIMIT 1")).fetchone()
    return re.search(r"/password/reset/(\S+)", row["body_text"]).group(1)


async def test_password_reset_is_single_use(admin, anonymous, svc):
    client = await anonymous()
    await client.post("/api/v1/password/forgot", {"email": admin.email}, expect=202)
    token = await _reset_link(svc)
    await client.post("/api/v1/password/reset", {"token": token, "password": "mijn nieuwe wachtwoordzin"})
    await client.post("/api/v1/password/reset", {"token": token, "password": "nog een andere zin!"}, expect=404)
    await admin.get("/api/v1/me", expect=401)  # the reset ended the old sessions
    admin.csrf = None
    await admin.login("mijn nieuwe wachtwoordzin")


async def test_password_reset_link_expires_after_an_hour(admin, anonymous, svc, clock):
    client = await anonymous()
    await client.post("/api/v1/password/forgot", {"email": admin.email}, expect=202)
    token = await _reset_link(svc)
    clock.advance(minutes=61)
    await client.post("/api/v1/password/reset", {"token": token, "password": "mijn nieuwe wachtwoordzin"}, expect=404)


async def test_password_reset_does_not_reveal_unknown_addresses(admin, anonymous, svc):
    client = await anonymous()
    known = await client.post("/api/v1/password/forgot", {"email": admin.email}, expect=202)
    unknown = await client.post("/api/v1/password/forgot", {"email": "niemand@example.nl"}, expect=202)
    assert known == unknown
    assert await count(svc, "outbox") == 1


async def test_profile_update_and_a_profile_for_who_is_logged_in(admin, anonymous, make_user):
    await admin.patch("/api/v1/me", {"display_name": "Anna de Vries", "bio": "Gemeente Zwolle", "locale": "en",
                                     "organisation": "Gemeente Zwolle", "handle": "anna"})
    visitor = await anonymous()
    # organisations and functions of civil servants are not for the open web (as the directory):
    # a visitor is asked to log in, the same for someone who exists and someone who does not
    for path in (f"/api/v1/users/{admin.id}", "/api/v1/users/999999"):
        assert (await visitor.get(path, expect=401))["error"]["code"] == "unauthorized"
    for path in (f"/users/{admin.id}", "/users/999999", "/users/@anna", "/users/@niemand"):
        asked = await visitor.client.get(path, allow_redirects=False)
        assert asked.status == 303 and asked.headers["Location"].startswith("/login"), path
    login = await (await visitor.client.get(f"/users/{admin.id}")).text()  # and the login form says why
    assert "Profielen en de lijst van mensen zijn er voor wie is ingelogd." in login
    profile = await (await make_user("Bert")).get(f"/api/v1/users/{admin.id}")
    assert profile["user"]["display_name"] == "Anna de Vries"
    assert profile["user"]["bio"] == "Gemeente Zwolle"
    assert "email" not in profile["user"]
    await admin.patch("/api/v1/me", {"display_name": "Anna", "bio": "", "locale": "fr"}, expect=422)


async def test_direction_overrides_are_taken_out_of_names_and_texts(make_user):
    """A right-to-left override in a name would turn the rest of every sentence it stands in
    around ("Anna heeft ... geweerd"): the overrides and isolates go, the letters stay."""
    anna = await make_user("Anna")
    await anna.patch("/api/v1/me", {"display_name": "\u202eXAM \u2066Dirk\u2069", "bio": "a\u202db", "locale": "nl"})
    me = (await anna.get("/api/v1/me"))["user"]
    assert me["display_name"] == "XAM Dirk" and me["bio"] == "ab"
    await anna.patch("/api/v1/me", {"display_name": "شيماء", "bio": "", "locale": "nl"})  # right-to-left script stays
    assert (await anna.get("/api/v1/me"))["user"]["display_name"] == "شيماء"
