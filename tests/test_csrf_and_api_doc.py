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
    await admin.put("/api/v1/admin/settings", {"registration_mode": "open", "members_create_werkgroepen": False,
                                               "site_name": "Zeeland Samen"})
    response = await member.client.post(f"/groups/{group['id']}/join", data={"csrf_token": "vals"})
    assert response.status == 403
    page = await response.text()  # said as what it is, on a page that wears the site's name and menus
    assert "<h1>Formulier verlopen</h1>" in page and "Zeeland Samen" in page and 'href="/pages/contact"' in page
    assert (await member.get(f"/api/v1/groups/{group['id']}"))["membership"] is None
    response = await member.client.post(f"/groups/{group['id']}/join", data={"csrf_token": member.csrf},
                                        allow_redirects=False)
    assert response.status == 303
    assert (await member.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "member"}


async def test_visitor_forms_carry_a_token_tied_to_a_cookie(anonymous, svc):
    visitor = await anonymous()
    page = await (await visitor.client.get("/register")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    fields = {"email": "n@example.nl", "display_name": "Nieuw", "password": "een heel lang wachtwoord",
              "accept_terms": "1"}
    stranger = await anonymous()
    response = await stranger.client.post("/register", data={**fields, "csrf_token": token})
    assert response.status == 403  # the token is worthless without the cookie it belongs to
    assert await count(svc, "users") == 0
    response = await visitor.client.post("/register", data={**fields, "csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert await count(svc, "users") == 1


async def test_openapi_documents_every_api_route(server, anonymous):
    """The document as served over HTTP against the router the server really dispatches with
    (not the route table both are built from): every /api/v1 method and path in both directions."""
    visitor = await anonymous()
    doc = await visitor.get("/api/v1/openapi.json")
    assert doc["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for resource in server.app.router.resources():
        path = resource.canonical  # "/api/v1/threads/{thread_id}" whatever pattern the variable has
        if not path.startswith("/api/v1"):
            continue
        for route in resource:
            if route.method == "HEAD" and ("GET", path) in {(r.method, path) for r in resource}:
                continue  # aiohttp adds HEAD beside every GET
            served.add((route.method, path))
    assert len(served) > 50, "the /api/v1 routes were not found on the router"
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    for (method, path) in served:  # and the server answers each with something other than 405
        if method == "GET" and "{" not in path and path != "/api/v1/live":
            assert (await visitor.client.get(path)).status != 405, path
    create = doc["paths"]["/api/v1/threads/{thread_id}/posts"]["post"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(doc["components"]["schemas"][schema_name]["properties"]) == {"body", "parent_id"}
    params = {p["name"] for p in create.get("parameters", []) if p["in"] == "path"}
    assert params == {"thread_id"}
