"""Fuzzing the JSON API from its own OpenAPI document, as each kind of actor (visitor, an account
that belongs nowhere, one whose request waits, member, group moderator, banned member, admin):
bodies that follow the schema and bodies that do not, real and made-up ids, odd query strings.
No answer is a 5xx; an answer of 2xx comes only where forum.policy, asked on the real rows
before the request (tests/helpers_fuzz.py), allows it; a refused request changes no row of any
table."""
from __future__ import annotations

import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forum.keys import openapi_key
from tests.conftest import open_group, quiet
from tests.conftest import snapshot
from tests.helpers_fuzz import actor_of, may_succeed

SKIP = {"/api/v1/live", "/api/v1/logout", "/api/v1/me/password"}  # a socket; ending our own sessions
ODD_TEXT = st.sampled_from(["", " ", "x" * 300, "<script>alert(1)</script>", "\x00", "🙂", "1", "-1", "null",
                            "9223372036854775808", "99999999999999999999", "0x10", "1e3",
                            "@everyone", "../../etc/passwd", "Robert'); DROP TABLE users;--"])
PLAIN = st.sampled_from(["Overleg", "Een gewone zin.", "member"])  # so that many requests get through
ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | ODD_TEXT,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ODD_TEXT, inner, max_size=3),
                        max_leaves=6)


def value_for(schema: dict, components: dict, ids: dict, name: str = ""):
    """A strategy for a value that (mostly) fits the schema, with real ids where ids go (of the
    kind the field names, most of the time)."""
    if "$ref" in schema:
        return value_for(components[schema["$ref"].rsplit("/", 1)[1]], components, ids)
    if "anyOf" in schema:
        return st.one_of([value_for(option, components, ids, name) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return PLAIN | ODD_TEXT | st.text(max_size=40)
    if kind == "integer":
        typed = ids.get({"parent_id": "post_id"}.get(name, name), ids["any"])
        return st.sampled_from(typed) | st.sampled_from(typed) | st.sampled_from(ids["any"]) | st.integers(-5, 2**64)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(value_for(schema.get("items", {}), components, ids, name), max_size=3)
    if kind == "null":
        return st.none()
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {key: value_for(sub, components, ids, key) for key, sub in properties.items() if key in required},
            optional={key: value_for(sub, components, ids, key) for key, sub in properties.items()
                      if key not in required})
    return ANY_JSON


UPLOADS = [("notulen.txt", b"Notulen van het overleg\n"), ("x.pdf", b"<html><script>alert(1)</script>"),
           ("leeg.txt", b""), ("../../passwd.csv", b"a;b\n1;2\n"), ("plaatje.png", b"\x89PNG\r\n\x1a\nkapot")]


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends it (fields first, then the file)."""
    boundary = "fuzzgrens"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
             + value.encode("utf-8", "surrogatepass") + b"\r\n" for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
async def cast(admin, make_user, anonymous, server):
    group = await open_group(admin, "Fuzzgroep", "closed")
    moderator, member, banned = await make_user("Fuzz Mod"), await make_user("Fuzz Lid"), await make_user("Geweerd")
    outsider, asking = await make_user("Buitenstaander"), await make_user("Vrager")
    for user in (moderator, member, banned):
        await user.post(f"/api/v1/groups/{group['id']}/join")
        await admin.post(f"/api/v1/groups/{group['id']}/members/{user.id}/approve")
    await asking.post(f"/api/v1/groups/{group['id']}/join")
    await admin.patch(f"/api/v1/groups/{group['id']}/members/{moderator.id}", {"role": "moderator"})
    threads, posts = [], []
    for n in range(3):  # several, so that a deleted one leaves others to work on
        created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": f"Fuzz {n}", "body": "x"},
                                    expect=201)
        threads.append(created["thread"]["id"])
        reply = await moderator.post(f"/api/v1/threads/{threads[-1]}/posts", {"body": "y"}, expect=201)
        posts += [created["post"]["id"], reply["post"]["id"]]
    await member.post(f"/api/v1/posts/{posts[1]}/reports", {"reason": "spam"}, expect=201)
    item = (await admin.get("/api/v1/moderation/queue"))["items"][0]["id"]
    await admin.post(f"/api/v1/groups/{group['id']}/bans", {"user_id": banned.id, "reason": "test"}, expect=201)
    events = [(await moderator.post("/api/v1/events", {"title": f"Fuzz {n}", "starts_at": "2027-03-15T10:00",
                                                       "capacity": 2, "group_id": group["id"]}, expect=201))["event"]["id"]
              for n in range(2)]
    events.append((await admin.post("/api/v1/events", {"title": "Fuzz site", "starts_at": "2027-03-15T10:00",
                                                        "visibility": "members"}, expect=201))["event"]["id"])
    documents = []
    for n in range(2):
        body, kind = multipart({"title": f"Fuzz {n}"}, "fuzz.txt", b"Fuzz document\n")
        response = await member.client.post(f"/api/v1/groups/{group['id']}/documents", data=body,
                                            headers={"Content-Type": kind, "X-CSRF-Token": member.csrf})
        assert response.status == 201, await response.text()
        documents.append((await response.json())["document"]["id"])
    users = [member.id, moderator.id, banned.id, outsider.id, asking.id, admin.id]
    # ids of the right kind for each parameter most of the time, so requests get past "not found"
    typed = {"group_id": [group["id"], 1, 2], "thread_id": threads, "post_id": posts, "user_id": users,
             "item_id": [item], "event_id": events, "document_id": documents}
    typed["any"] = ids = sorted({i for pool in typed.values() for i in pool} | {999999})
    await quiet(server.app)
    return {"roles": [await anonymous(), outsider, asking, member, moderator, banned, admin], "ids": ids,
            "typed": typed}


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
async def test_no_5xx_no_2xx_the_policy_refuses_and_refusals_change_nothing(cast, server, svc, data):
    document = server.app[openapi_key]
    components = document["components"]["schemas"]
    operations = [(path, method, operation) for path, methods in document["paths"].items() if path not in SKIP
                  for method, operation in methods.items()]
    path, method, operation = data.draw(st.sampled_from(operations), label="operation")
    user = data.draw(st.sampled_from(cast["roles"]), label="role")

    def an_id(name):
        if name in cast["typed"]:
            return st.sampled_from(cast["typed"][name]) | st.sampled_from(cast["typed"][name]) | st.sampled_from(cast["ids"])
        return st.sampled_from(cast["ids"]) if name.endswith("_id") else ODD_TEXT

    url = re.sub(r"{(\w+)}", lambda m: str(data.draw(an_id(m.group(1)), label=m.group(1))), path)
    query = {p["name"]: str(data.draw(an_id(p["name"]) | ODD_TEXT, label=p["name"]))
             for p in operation.get("parameters", []) if p["in"] == "query" and data.draw(st.booleans())}
    body, value, content_type = b"", None, "application/json"
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        fitting = value_for(content["application/json"]["schema"], components, cast["typed"])
        value = data.draw(st.one_of(fitting, fitting, fitting, ANY_JSON), label="body")
        body = json.dumps(value).encode()
    elif "multipart/form-data" in content:  # an upload: a real form with a small file, or not a form at all
        fields = {name: data.draw(an_id(name) if name.endswith("_id") else ODD_TEXT, label=name)
                  for name in content["multipart/form-data"]["schema"]["properties"] if name != "file"}
        file = data.draw(st.sampled_from(UPLOADS), label="file")
        value = {name: str(field) for name, field in fields.items()}
        if data.draw(st.booleans(), label="as a form"):
            body, content_type = multipart(value, *file)
        else:
            body = json.dumps(value).encode()
    actor = await actor_of(svc, user)
    allowed = await may_succeed(svc, actor, method, path, url, query, value)
    before = await snapshot(svc)
    response = await user.client.request(method.upper(), url, params=query, data=io.BytesIO(body), headers={
        "Content-Type": content_type, **({"X-CSRF-Token": user.csrf} if user.csrf else {})})
    assert response.status < 500, (method, url, body[:200], await response.text())
    if response.status < 300 and path.endswith("/suspend"):  # keep the cast able to act
        await cast["roles"][-1].client.post(url.replace("/suspend", "/unsuspend"),
                                            headers={"X-CSRF-Token": cast["roles"][-1].csrf})
    if response.status < 300:
        assert allowed, ("the policy refuses this, yet it answered", response.status, actor.role,
                         dict(actor.memberships), method, url, query, body[:200])
    if response.status >= 400:
        assert await snapshot(svc) == before, (method, url, body[:200], response.status)
        if response.content_type == "application/json":
            assert (await response.json())["error"]["message"]
