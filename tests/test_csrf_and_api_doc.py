"""CSRF on cookie-authenticated changes and on every form; the OpenAPI document matches the routes."""
from __future__ import annotations

import re

from tests.conftest import count, open_group


async def test_api_changes_need_the_csrf_header(admin, svc):
    before = await count(svc, "groups")
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        response = await admin.client.post("/api/v1/groups", json={"name": "X", "kind": "werkgroep",
                                                                   "visibility": "open"}, headers=headers)
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "csrf"
    assert await count(svc, "groups") == before
    await open_group(admin, "Met token")


async def test_me_hands_out_the_token(admin):
    me = await admin.get("/api/v1/me")
    assert me["csrf_token"] == admin.csrf


async def test_forms_need_the_token(admin, make_user, svc):
    group = await open_group(admin)
    member = await make_user("Lid")
    response = await member.client.post(f"/groups/{group['id']}/join", data={"csrf_token": "vals"})
    assert response.status == 403
    assert (await member.get(f"/api/v1/groups/{group['id']}"))["membership"] is None
    response = await member.client.post(f"/groups/{group['id']}/join", data={"csrf_token": member.csrf},
                                        allow_redirects=False)
    assert response.status == 303
    assert (await member.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "member"}


async def test_visitor_forms_carry_a_token_tied_to_a_cookie(anonymous, svc):
    visitor = await anonymous()
    page = await (await visitor.client.get("/register")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    fields = {"email": "n@example.nl", "display_name": "Nieuw", "password": "een heel lang wachtwoord"}
    stranger = await anonymous()
    response = await stranger.client.post("/register", data={**fields, "csrf_token": token})
    assert response.status == 403  # the token is worthless without the cookie it belongs to
    assert await count(svc, "users") == 0
    response = await visitor.client.post("/register", data={**fields, "csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert await count(svc, "users") == 1


async def test_openapi_documents_every_api_route(server, anonymous):
    visitor = await anonymous()
    doc = await visitor.get("/api/v1/openapi.json")
    assert doc["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for route in server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api/") and route.method != "HEAD":
            served.add((route.method, path))
    assert served == documented
    create = doc["paths"]["/api/v1/threads/{thread_id}/posts"]["post"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(doc["components"]["schemas"][schema_name]["properties"]) == {"body", "parent_id"}
