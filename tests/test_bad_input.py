"""Bad input gets a clear 4xx with a JSON error and changes nothing; never a 500."""
from __future__ import annotations

import io
import json

import pytest

from tests.conftest import count, open_group, quiet, snapshot

@pytest.fixture
async def scene(admin, make_user, server):
    group = await open_group(admin)
    member = await make_user("Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "x"}, expect=201)
    await quiet(server.app)
    return {"admin": admin, "member": member, "group": group["id"], "thread": created["thread"]["id"],
            "post": created["post"]["id"]}


def raw_cases(scene):
    g, t, p = scene["group"], scene["thread"], scene["post"]
    return [
        # (method, path, body bytes, content type, expected status)
        ("POST", f"/api/v1/threads/{t}/posts", b"{not json", "application/json", 400),
        ("POST", f"/api/v1/threads/{t}/posts", b"[1, 2]", "application/json", 400),
        ("POST", f"/api/v1/threads/{t}/posts", b"", "application/json", 400),
        ("POST", f"/api/v1/threads/{t}/posts", b"\xff\xfe", "application/json", 400),
        ("POST", f"/api/v1/threads/{t}/posts", b"body=hi", "application/x-www-form-urlencoded", 415),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": 5}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": ["a"]}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": {"a": 1}}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": "x", "parent_id": "1"}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": "x", "parent_id": true}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": "x", "parent_id": 1.5}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": "x", "parent_id": 100000000000000000000000}',
         "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": "x", "parent_id": -4}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": "' + b"x" * 50_001 + b'"}', "application/json", 422),
        ("POST", "/api/v1/threads/999999/posts", b'{"body": "x"}', "application/json", 404),
        ("POST", "/api/v1/threads/99999999999999999999999999/posts", b'{"body": "x"}', "application/json", 404),
        ("POST", "/api/v1/threads/0/posts", b'{"body": "x"}', "application/json", 404),
        ("POST", "/api/v1/threads/abc/posts", b'{"body": "x"}', "application/json", 404),
        ("PATCH", "/api/v1/posts/999999", b'{"body": "x"}', "application/json", 404),
        ("PATCH", f"/api/v1/posts/{p}", b'{"body": null}', "application/json", 422),
        ("DELETE", "/api/v1/posts/999999", b"", "application/json", 404),
        ("PATCH", f"/api/v1/threads/{t}", b'{"locked": "true"}', "application/json", 422),
        ("PATCH", f"/api/v1/threads/{t}", b'{"pinned": 1}', "application/json", 422),
        ("PATCH", f"/api/v1/threads/{t}", b'{"title": ["a"]}', "application/json", 422),
        ("PATCH", f"/api/v1/threads/{t}", b'{"title": "  "}', "application/json", 422),
        ("PATCH", f"/api/v1/threads/{t}", b'{}', "application/json", 422),
        ("PATCH", "/api/v1/threads/999999", b'{"locked": true}', "application/json", 404),
        ("POST", f"/api/v1/groups/{g}/threads", b'{"title": "", "body": ""}', "application/json", 422),
        ("POST", f"/api/v1/groups/{g}/threads", b'{"title": "' + b"t" * 201 + b'", "body": "x"}', "application/json", 422),
        ("POST", "/api/v1/groups", b'{"name": 1, "kind": [], "visibility": {}}', "application/json", 422),
        ("PATCH", f"/api/v1/groups/{g}/members/999999", b'{"role": "member"}', "application/json", 404),
        ("POST", f"/api/v1/groups/{g}/invitations", b'{"user_id": "7"}', "application/json", 422),
        ("PUT", "/api/v1/admin/settings", b'{"registration_mode": "open", "members_create_werkgroepen": "yes"}',
         "application/json", 422),
        ("PATCH", "/api/v1/me", b'{"display_name": "' + b"n" * 81 + b'"}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/posts", b'{"body": "' + b"x" * (1024 * 1024 + 10) + b'"}', "application/json", 413),
        ("GET", "/api/v1/nothing-here", b"", "application/json", 404),
        ("PUT", f"/api/v1/threads/{t}/subscription", b'{"level": ["muted"]}', "application/json", 422),
        ("PUT", f"/api/v1/threads/{t}/subscription", b'{"level": "silent"}', "application/json", 422),
        ("PUT", "/api/v1/threads/999999/subscription", b'{"level": "muted"}', "application/json", 404),
        ("PUT", f"/api/v1/groups/{g}/subscription", b'{}', "application/json", 422),
        ("POST", "/api/v1/notifications/read", b'{"ids": "all"}', "application/json", 422),
        ("POST", "/api/v1/notifications/read", b'{"ids": [0]}', "application/json", 400),
        ("POST", "/api/v1/notifications/read", b'{"all": "yes"}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/read", b'{"post_id": "1"}', "application/json", 422),
        ("POST", f"/api/v1/threads/{t}/read", b'{"post_id": 0}', "application/json", 422),
        ("PUT", "/api/v1/me/settings", b'{"digest": 7}', "application/json", 422),
        ("PUT", "/api/v1/me/settings", b'{"email_notifications": "sometimes"}', "application/json", 422),
        ("POST", "/api/v1/unsubscribe/1.notifications.nope", b"", "application/json", 404),
        ("PATCH", "/api/v1/me", b'{"display_name": "Lid", "handle": "UPPER CASE!"}', "application/json", 422),
        ("PUT", "/api/v1/groups", b"{}", "application/json", 405),
    ]


async def test_bad_requests_answer_4xx_and_change_nothing(scene, svc):
    admin = scene["admin"]
    for method, path, body, content_type, status in raw_cases(scene):
        before = await snapshot(svc)
        response = await admin.client.request(method, path, data=io.BytesIO(body), headers={
            "Content-Type": content_type, "X-CSRF-Token": admin.csrf})
        assert response.status == status, (method, path, body[:60], response.status, await response.text())
        error = (await response.json())["error"]
        assert error["code"] and error["message"], (method, path)
        assert await snapshot(svc) == before, (method, path)


async def test_register_and_login_with_odd_values(anonymous, svc):
    client = await anonymous()
    cases = [
        {"email": "x@example.nl", "password": "a" * 20, "display_name": None},
        {"email": ["x@example.nl"], "password": "a" * 20, "display_name": "X"},
        {"email": "geen-adres", "password": "a" * 20, "display_name": "X"},
        {"email": "x@example.nl", "password": 123456789012, "display_name": "X"},
        {"email": "x@example.nl", "password": "a" * 20, "display_name": "   "},
        {"email": "x@example.nl", "password": "a" * 20, "display_name": "X", "locale": 5},
    ]
    for case in cases:
        body = await client.post("/api/v1/register", case, expect=422)
        assert body["error"]["fields"], case
    assert await count(svc, "users") == 0
    await client.post("/api/v1/login", {"email": "x@example.nl"}, expect=422)
    # a lone surrogate cannot be stored or hashed as UTF-8: refused at the door, nothing written
    for path, payload in (("/api/v1/login", {"email": "x@example.nl", "password": "\ud800" * 20}),
                          ("/api/v1/register", {"accept_terms": True, "email": "s@example.nl", "password": "\ud800 lone surrogate pw",
                                                "display_name": "S"}),
                          ("/api/v1/register", {"accept_terms": True, "email": "s@example.nl", "password": "a" * 20,
                                                "display_name": "S\udfff", "\ud800": 1})):
        response = await client.client.post(path, data=json.dumps(payload), headers={"Content-Type": "application/json"})
        assert response.status == 400, (path, payload)
        assert (await response.json())["error"]["code"] == "bad_request"
    assert await count(svc, "users") == 0


@pytest.mark.parametrize("nested", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000,
                                    '{"email": ' + "[" * 30 + "]" * 30 + "}"])
async def test_deeply_nested_json_is_a_400(anonymous, svc, nested):
    client = await anonymous()
    response = await client.client.post("/api/v1/register", data=nested, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "bad_request"
    assert await count(svc, "users") == 0


async def test_malformed_multipart_form_is_a_400(anonymous, caplog):
    visitor = await anonymous()
    for content_type, body in (("multipart/form-data; boundary=xx", b"--xx\r\nContent-Disposition: form-data;"
                                b' name="email"\r\n\r\nx\r\n--yy'),
                               ("multipart/form-data", b"garbage"),
                               ("multipart/form-data; boundary=xx", b"no boundary at all")):
        for path in ("/login", "/register", "/password/forgot"):
            response = await visitor.client.post(path, data=body, headers={"Content-Type": content_type})
            assert response.status == 400, (path, content_type, response.status)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no traceback logged


async def test_bad_form_input_on_pages_is_4xx(scene):
    member = scene["member"]
    response = await member.client.post(f"/threads/{scene['thread']}/reply", data={
        "csrf_token": member.csrf, "body": "", "parent_id": "99999999999999999999999"})
    assert response.status == 422
    response = await member.client.get("/threads/99999999999999999999999999")
    assert response.status == 404
    response = await member.client.get("/groups/x")
    assert response.status == 404


def test_json_answers_mean_the_same_with_orjson_without_it_and_where_it_refuses(monkeypatch):
    import json

    from forum.web import api
    plain = {"naam": "Fryslân", 7: [1, None, True], "nested": {"x": 1.5}}
    odd = {**plain, "big": 2 ** 70}  # past 64 bits: orjson refuses, json takes it
    assert api.orjson is not None  # the install brings it
    answers = [json.loads(api.json_out(value).body) for value in (plain, odd)]
    monkeypatch.setattr(api, "orjson", None)
    assert [json.loads(api.json_out(value).body) for value in (plain, odd)] == answers
    assert answers[0] == {"naam": "Fryslân", "7": [1, None, True], "nested": {"x": 1.5}}
    assert answers[1]["big"] == 2 ** 70
