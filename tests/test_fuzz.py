"""Fuzzing the JSON API from its own OpenAPI document, as each role (visitor, member, group
moderator, admin): bodies that follow the schema and bodies that do not, real and made-up
ids, odd query strings. No answer is a 5xx, and a request that is refused changes nothing."""
from __future__ import annotations

import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forum.keys import openapi_key
from tests.conftest import open_group, quiet
from tests.test_bad_input import snapshot

SKIP = {"/api/v1/live", "/api/v1/logout", "/api/v1/me/password"}  # a socket; ending our own sessions
ODD_TEXT = st.sampled_from(["", " ", "x" * 300, "<script>alert(1)</script>", "\x00", "🙂", "1", "-1", "null",
                            "9223372036854775808", "99999999999999999999", "0x10", "1e3",
                            "@everyone", "../../etc/passwd", "Robert'); DROP TABLE users;--"])
ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | ODD_TEXT,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ODD_TEXT, inner, max_size=3),
                        max_leaves=6)


def value_for(schema: dict, components: dict, ids: list[int]):
    """A strategy for a value that (mostly) fits the schema, with real ids where ids go."""
    if "$ref" in schema:
        return value_for(components[schema["$ref"].rsplit("/", 1)[1]], components, ids)
    if "anyOf" in schema:
        return st.one_of([value_for(option, components, ids) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return ODD_TEXT | st.text(max_size=40)
    if kind == "integer":
        return st.sampled_from(ids) | st.integers(-5, 2**64)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(value_for(schema.get("items", {}), components, ids), max_size=3)
    if kind == "null":
        return st.none()
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {name: value_for(sub, components, ids) for name, sub in properties.items() if name in required},
            optional={name: value_for(sub, components, ids) for name, sub in properties.items()
                      if name not in required})
    return ANY_JSON


@pytest.fixture
async def cast(admin, make_user, anonymous, server):
    group = await open_group(admin, "Fuzzgroep", "closed")
    moderator, member = await make_user("Fuzz Mod"), await make_user("Fuzz Lid")
    for user in (moderator, member):
        await user.post(f"/api/v1/groups/{group['id']}/join")
        await admin.post(f"/api/v1/groups/{group['id']}/members/{user.id}/approve")
    await admin.patch(f"/api/v1/groups/{group['id']}/members/{moderator.id}", {"role": "moderator"})
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Fuzz", "body": "x"}, expect=201)
    ids = [1, 2, group["id"], created["thread"]["id"], created["post"]["id"], member.id, moderator.id, 999999]
    await quiet(server.app)
    return {"roles": [await anonymous(), member, moderator, admin], "ids": ids}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
async def test_no_5xx_and_refusals_change_nothing(cast, server, svc, data):
    document = server.app[openapi_key]
    components = document["components"]["schemas"]
    operations = [(path, method, operation) for path, methods in document["paths"].items() if path not in SKIP
                  for method, operation in methods.items()]
    path, method, operation = data.draw(st.sampled_from(operations), label="operation")
    user = data.draw(st.sampled_from(cast["roles"]), label="role")
    url = re.sub(r"{(\w+)}", lambda m: str(data.draw(
        st.sampled_from(cast["ids"]) if m.group(1).endswith("_id") else ODD_TEXT, label=m.group(1))), path)
    query = {p["name"]: str(data.draw(st.sampled_from(cast["ids"]) | ODD_TEXT, label=p["name"]))
             for p in operation.get("parameters", []) if p["in"] == "query" and data.draw(st.booleans())}
    body = b""
    if "requestBody" in operation:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        value = data.draw(value_for(schema, components, cast["ids"]) | ANY_JSON, label="body")
        body = json.dumps(value).encode()
    before = await snapshot(svc)
    response = await user.client.request(method.upper(), url, params=query, data=io.BytesIO(body), headers={
        "Content-Type": "application/json", **({"X-CSRF-Token": user.csrf} if user.csrf else {})})
    assert response.status < 500, (method, url, body[:200], await response.text())
    if response.status >= 400:
        assert await snapshot(svc) == before, (method, url, body[:200], response.status)
        if response.content_type == "application/json":
            assert (await response.json())["error"]["message"]
