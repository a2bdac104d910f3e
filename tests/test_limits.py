"""Rate limits (on here, off everywhere else in the suite): 429 with Retry-After for logins per
account and per address, registrations per address, posts (stricter in an account's first
day) and mentions; the environment sets or switches them off. Odd passwords (long, non-ASCII, NUL, 1024
characters) reach bcrypt with the limits off: only the exact one logs in, and
over 1024 characters is a 422 on the password field, never a 500."""
from __future__ import annotations

from dataclasses import replace

import pytest

from forum.app import create_app
from forum.keys import services_key
from forum.limits import ALL_OFF, DEFAULT_LIMITS, parse
from tests.conftest import PASSWORD, open_group


@pytest.fixture
def config(config):
    return replace(config, limits={**DEFAULT_LIMITS, "LOGIN": (3, 300), "LOGIN_ADDRESS": (50, 300),
                                   "REGISTER": (6, 3600), "POST": (4, 60), "POST_NEW": (2, 60),
                                   "MENTION": (3, 3600), "PICTURE": (2, 3600)})


def test_limits_come_from_the_environment():
    limits = parse({"FORUM_LIMIT_LOGIN": "off", "FORUM_LIMIT_POST": "5/10"})
    assert limits["LOGIN"] is None and limits["POST"] == (5, 10) and limits["REGISTER"] == DEFAULT_LIMITS["REGISTER"]
    for bad in ("5", "five/10", "0/10", "5/-1"):
        with pytest.raises(ValueError):
            parse({"FORUM_LIMIT_REPORT": bad})


async def test_wrong_logins_reach_429_per_account(make_user, anonymous):
    target = await make_user("Doel", login=False)
    other = await make_user("Ander", login=False)
    guesser = await anonymous()
    for _ in range(3):
        await guesser.post("/api/v1/login", {"email": target.email, "password": "raden raden raden"}, expect=401)
    response = await guesser.client.post("/api/v1/login", json={"email": target.email, "password": PASSWORD})
    assert response.status == 429 and int(response.headers["Retry-After"]) > 0  # even the right one, for now
    assert (await response.json())["error"]["code"] == "rate_limited"
    await guesser.post("/api/v1/login", {"email": other.email, "password": PASSWORD})  # others are not locked out
    form = await (await guesser.client.get("/login")).text()
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    page = await guesser.client.post("/login", data={"csrf_token": token, "email": target.email,
                                                     "password": PASSWORD})
    assert page.status == 429 and "Retry-After" in page.headers and "Te veel pogingen" in await page.text()


ODD_PASSWORDS = ["x" * 73, "é" * 80, "🔐" * 40, "nul\x00karakter hier", "  spaties rondom  ",
                 "x" * 1024]


@pytest.fixture
async def unlimited(aiohttp_client, config, clock):
    """A fresh app with the rate limits off: every odd password below reaches bcrypt."""
    app = create_app(replace(config, limits=dict(ALL_OFF), data_dir=config.data_dir.parent / "unlimited"), clock=clock)
    return await aiohttp_client(app)


async def test_odd_passwords_reach_bcrypt_and_only_the_exact_one_works(unlimited):
    for n, password in enumerate(ODD_PASSWORDS):
        email = f"odd{n}@example.nl"
        unlimited.session.cookie_jar.clear()  # a visitor each time: no session, so no CSRF token needed
        registered = await unlimited.post("/api/v1/register", json={"accept_terms": True, "email": email, "password": password,
                                                                    "display_name": f"Odd {n}"})
        assert registered.status == 201, (n, registered.status, await registered.text())
        changed = password[:-1] + ("y" if password[-1] != "y" else "z")  # beyond bcrypt's 72 bytes, too
        for attempt, status in ((changed, 401), (password[:-1], 401), (password, 200)):
            unlimited.session.cookie_jar.clear()
            response = await unlimited.post("/api/v1/login", json={"email": email, "password": attempt})
            assert response.status == status, (n, len(attempt), response.status, await response.text())


async def test_passwords_over_1024_characters_are_refused_by_field(unlimited):
    response = await unlimited.post("/api/v1/register", json={"accept_terms": True, "email": "los@example.nl", "password": "wacht\ud800woord-los",
                                                              "display_name": "Los"})
    assert response.status == 400  # a lone surrogate is no text: refused as such, not a 500
    for password in ("x" * 1025, "🔐" * 5000):
        response = await unlimited.post("/api/v1/register", json={"accept_terms": True, "email": "lang@example.nl", "password": password,
                                                                  "display_name": "Lang"})
        assert response.status == 422
        assert (await response.json())["error"]["fields"]["password"]
    await unlimited.post("/api/v1/register", json={"accept_terms": True, "email": "lang@example.nl", "password": PASSWORD,
                                                   "display_name": "Lang"})
    unlimited.session.cookie_jar.clear()
    response = await unlimited.post("/api/v1/login", json={"email": "lang@example.nl", "password": "x" * 5000})
    assert response.status in (401, 422) and response.status != 500, response.status


async def test_registrations_per_address(anonymous):
    visitor = await anonymous()
    for n in range(6):
        await visitor.post("/api/v1/register", {"accept_terms": True, "email": f"r{n}@example.nl", "password": PASSWORD,
                                                "display_name": f"R {n}"}, expect=201)
    response = await visitor.client.post("/api/v1/register", json={"accept_terms": True, "email": "r9@example.nl", "password": PASSWORD,
                                                                    "display_name": "R 9"})
    assert response.status == 429 and "Retry-After" in response.headers


async def test_posts_are_limited_more_in_the_first_day(admin, make_user, server, clock):
    group = await open_group(admin)
    newcomer = await make_user("Nieuw Lid")
    await newcomer.post(f"/api/v1/groups/{group['id']}/join")
    thread = (await newcomer.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "x"},
                                  expect=201))["thread"]["id"]
    await newcomer.post(f"/api/v1/threads/{thread}/posts", {"body": "twee"}, expect=201)
    refused = await newcomer.client.post(f"/api/v1/threads/{thread}/posts", json={"body": "drie"},
                                         headers={"X-CSRF-Token": newcomer.csrf})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) <= 60
    from tests.test_pages import csrf_of  # in the page: the reply comes back in its box, with why
    page = await (await newcomer.client.get(f"/threads/{thread}")).text()
    again = await newcomer.client.post(f"/threads/{thread}/reply", data={"csrf_token": csrf_of(page),
                                                                      "body": "Mijn lange antwoord"})
    text = await again.text()
    assert again.status == 429 and "Retry-After" in again.headers
    assert ">Mijn lange antwoord</textarea>" in text and "Te veel" in text
    limiter = server.app[services_key].limiter
    later = limiter.clock() + 61
    limiter.clock = lambda: later  # a minute on
    clock.advance(days=2)          # and no longer new: the wider limit applies
    for n in range(4):
        await newcomer.post(f"/api/v1/threads/{thread}/posts", {"body": f"later {n}"}, expect=201)
    await newcomer.post(f"/api/v1/threads/{thread}/posts", {"body": "te veel"}, expect=429)


async def test_a_new_sites_admin_is_not_held_to_the_newcomers_limit(admin, server):
    # made by the operator (create-admin, the setup link) minutes ago, trying out their own site
    group = await open_group(admin)
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Proef", "body": "een"},
                               expect=201))["thread"]["id"]
    for n in range(3):  # past POST_NEW (2 a minute), within POST (4 a minute)
        await admin.post(f"/api/v1/threads/{thread}/posts", {"body": f"reactie {n}"}, expect=201)
    await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "te veel"}, expect=429)  # POST still holds


async def test_mention_spam(admin, make_user):
    group = await open_group(admin)
    await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Iedereen", "body": "@a @b"}, expect=201)
    refused = await admin.post(f"/api/v1/groups/{group['id']}/threads",
                               {"title": "Spam", "body": "@c @d"}, expect=429)
    assert refused["error"]["code"] == "rate_limited"


async def test_pictures_are_counted_before_they_are_cut(make_user):
    from tests.test_profiles import image, post_photo
    carla = await make_user("Carla Kok")
    for _ in range(2):
        assert (await post_photo(carla, image(300, 200, "PNG"), "foto.png")).status == 303
    third = await post_photo(carla, image(300, 200, "PNG"), "foto.png")
    assert third.status == 429 and third.headers.get("Retry-After") and 'id="f-photo"' in await third.text()
    refused = await post_photo(carla, b"%PDF-1.4\n%%EOF\n", "cv.pdf")  # refused before counting
    assert refused.status == 422
