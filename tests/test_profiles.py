"""Profiles: organisation and function, a photo made square on the server (or initials), and
the member directory of everyone active, found by name, organisation or function."""
from __future__ import annotations

import io

from PIL import Image

from tests.test_pages import csrf_of


def image(width: int, height: int, kind: str = "PNG", colour="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, kind)
    return out.getvalue()


async def post_profile(user, content: bytes | None = None, filename: str = "", **fields):
    """The settings page's one form, as a browser sends it: the token, the details, the file last."""
    import aiohttp
    page = await (await user.client.get("/settings/profile")).text()
    me = (await user.get("/api/v1/me"))["user"]
    form = aiohttp.FormData()
    form.add_field("csrf_token", csrf_of(page))  # first: the middleware reads it before the file
    details = {"display_name": me["display_name"], "handle": me["handle"], "locale": "nl", "organisation": "",
               "job_title": "", "bio": "", **fields}
    for name, value in details.items():
        form.add_field(name, value)
    form.add_field("photo", io.BytesIO(content or b""), filename=filename if content is not None else "",
                   content_type="application/octet-stream")
    return await user.client.post("/settings/profile", data=form, allow_redirects=False)


async def post_photo(user, content: bytes, filename: str):
    return await post_profile(user, content, filename)


async def test_a_photo_is_made_square_on_the_server_and_shown_to_who_may_see_the_profile(make_user, anonymous, svc):
    anna = await make_user("Anna de Vries")
    page = await (await anna.client.get(f"/users/{anna.id}")).text()
    assert '<span class="avatar initials large" aria-hidden="true">AV</span>' in page  # no photo: initials
    done = await post_photo(anna, image(800, 400, "JPEG"), "vakantie.jpg")
    assert done.status == 303
    me = (await anna.get("/api/v1/me"))["user"]
    assert me["photo_url"].startswith(f"/users/{anna.id}/photo?v=")
    visitor = await anonymous()
    # a visitor sees a face only beside posts they can read: not before Anna writes in an open group
    assert (await visitor.client.get(me["photo_url"])).status == 404
    colleague = await make_user("Bert")
    assert (await colleague.client.get(me["photo_url"])).status == 200
    await anna.post("/api/v1/groups/2/join")
    await anna.post("/api/v1/groups/2/threads", {"title": "Hallo", "body": "Ik ben Anna"}, expect=201)
    photo = await visitor.client.get(me["photo_url"])
    assert photo.status == 200 and photo.headers["Content-Type"] == "image/jpeg"
    assert "max-age" in photo.headers["Cache-Control"]
    with Image.open(io.BytesIO(await photo.read())) as shown:
        assert shown.size == (256, 256) and shown.format == "JPEG"
    profile = await (await colleague.client.get(f"/users/{anna.id}")).text()
    assert f'src="{me["photo_url"]}" alt=""' in profile
    removed = await post_profile(anna, remove_photo="yes")
    assert removed.status == 303 and (await anna.get("/api/v1/me"))["user"]["photo_url"] is None
    assert (await visitor.client.get(f"/users/{anna.id}/photo")).status == 404


async def test_one_save_keeps_the_details_and_the_photo_together(make_user):
    carla = await make_user("Carla Kok")
    done = await post_profile(carla, image(300, 300), "ik.png", organisation="Gemeente Zwolle", job_title="Adviseur")
    assert done.status == 303 and done.headers["Location"] == "/settings/profile?saved=photo"
    me = (await carla.get("/api/v1/me"))["user"]
    assert me["photo_url"] and me["organisation"] == "Gemeente Zwolle" and me["job_title"] == "Adviseur"
    page = await (await carla.client.get(done.headers["Location"])).text()
    assert "Uw gegevens en uw nieuwe foto zijn opgeslagen." in page
    # details that are refused save nothing, and say the photo must be chosen again
    refused = await post_profile(carla, image(300, 300, colour="blue"), "ander.png", display_name="",
                                 organisation="Provincie Overijssel")
    again = await refused.text()
    assert refused.status == 422 and 'id="e-display_name"' in again and 'id="e-photo"' in again
    assert "Provincie Overijssel" in again  # what was typed is kept
    after = (await carla.get("/api/v1/me"))["user"]
    assert after["organisation"] == "Gemeente Zwolle" and after["photo_url"] == me["photo_url"]
    # a photo refused after the details: those are kept, and it says so
    half = await post_profile(carla, b"%PDF-1.4\n%%EOF\n", "cv.pdf", organisation="Provincie Overijssel")
    text = await half.text()
    assert half.status == 422 and 'id="e-photo"' in text and "Uw gegevens zijn opgeslagen, de foto niet" in text
    assert "Kies een afbeelding als PNG, JPEG of WebP." in text
    both = await (await post_profile(carla, b"%PDF-1.4\n%%EOF\n", "cv.pdf", display_name="")).text()
    assert "Kies een afbeelding als PNG, JPEG of WebP." in both and "Kies de foto opnieuw" not in both
    assert (await carla.get("/api/v1/me"))["user"]["organisation"] == "Provincie Overijssel"


async def test_what_is_no_photo_is_refused_on_the_same_page(make_user, svc):
    bert = await make_user("Bert")
    cases = [
        (b"%PDF-1.4\n%%EOF\n", "cv.pdf", 422, "Kies een afbeelding als PNG, JPEG of WebP."),
        (b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10, "nep.png", 422, "te grote afmetingen of is beschadigd"),
        (image(9000, 5000, "PNG", "white"), "groot.png", 422, "hoogstens 16 megapixel"),
        (b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024 + 10), "zwaar.jpg", None, None),
    ]
    for content, name, status, words in cases:
        answer = await post_photo(bert, content, name)
        text = await answer.text()
        if status is None:  # over 5 MB: refused, whatever the kind says
            assert answer.status in (413, 415, 422) and 'id="e-photo"' in text, (name, answer.status)
            continue
        assert answer.status == status and words in text and 'id="e-photo"' in text, (name, answer.status)
    assert (await bert.get("/api/v1/me"))["user"]["photo_url"] is None
    empty = await bert.client.put("/api/v1/me/photo", data=b"", headers={"X-CSRF-Token": bert.csrf,
                                                                        "Content-Type": "application/json"})
    assert empty.status in (400, 415)
    assert list((svc.files.temp_dir).glob("*")) == []  # nothing left behind


async def test_the_directory_finds_people_by_name_organisation_and_function(make_user, anonymous, admin):
    carla = await make_user("Carla Kok")
    await carla.patch("/api/v1/me", {"display_name": "Carla Kok", "organisation": "Gemeente Zwolle",
                                     "job_title": "Beleidsadviseur wonen"})
    await make_user("Dirk Dekker")
    suspended = await make_user("Sietske Schors")
    await admin.post(f"/api/v1/admin/users/{suspended.id}/suspend", {"reason": "test"})
    page = await (await carla.client.get("/people")).text()
    assert "Carla Kok" in page and "Dirk Dekker" in page and "Sietske" not in page
    assert "Beleidsadviseur wonen · Gemeente Zwolle" in page
    for query in ("zwolle", "beleids", "kok"):
        found = await (await carla.client.get(f"/people?q={query}")).text()
        assert "Carla Kok" in found and "Dirk Dekker" not in found, query
    nobody = await (await carla.client.get("/people?q=%25_%5C")).text()  # LIKE's own signs are letters here
    assert "Niemand gevonden" in nobody
    api = await carla.get("/api/v1/people?q=zwolle")
    assert [p["display_name"] for p in api["people"]] == ["Carla Kok"] and api["people"][0]["organisation"]
    visitor = await anonymous()
    assert (await visitor.client.get("/people", allow_redirects=False)).status in (303, 401)
    await visitor.get("/api/v1/people", expect=401)
    too_long = await carla.patch("/api/v1/me", {"display_name": "Carla Kok", "organisation": "x" * 121}, expect=422)
    assert "organisation" in too_long["error"]["fields"]


async def test_the_directory_pages_through_everyone(make_user, svc):
    from forum.services import accounts
    for n in range(55):
        await accounts.register(svc, email=f"p{n}@example.nl", password="een heel lang wachtwoord",
                                display_name=f"Persoon {n:02d}", accepted_terms=True, send_confirmation=False)
    reader = await make_user("Lezer")
    first = await reader.get("/api/v1/people")
    second = await reader.get(f"/api/v1/people?after={first['next']}")
    names = [p["display_name"] for p in first["people"] + second["people"]]
    assert len(names) == len(set(names)) == 56 and second["next"] is None  # each once, none left out


async def test_a_broken_or_heavy_photo_is_refused_not_a_500(make_user):
    jpeg = image(400, 400, "JPEG")
    carla = await make_user("Carla")
    truncated = await post_photo(carla, jpeg[: len(jpeg) // 2], "half.jpg")
    assert truncated.status == 422 and 'id="e-photo"' in await truncated.text()
    out = io.BytesIO()
    Image.new("RGBA", (6000, 6000), (10, 20, 30, 255)).save(out, "PNG")  # small on disk, 36 MP to decode
    heavy = await post_photo(carla, out.getvalue(), "egaal.png")
    assert heavy.status == 422 and "16 megapixel" in await heavy.text()
    gif = await post_photo(carla, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "a.gif")
    page = await gif.text()  # named as an image's refusal, not the library's list of document kinds
    assert gif.status in (415, 422) and "PNG, JPEG of WebP" in page and "PowerPoint" not in page
    assert (await carla.get("/api/v1/me"))["user"]["photo_url"] is None
