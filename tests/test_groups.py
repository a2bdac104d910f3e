"""Groups: the seeded proeftuinen, creating groups, and every membership flow per visibility."""
from __future__ import annotations

from tests.conftest import count, open_group

PROEFTUINEN = {"Noordoost Fryslân", "Regio Zwolle", "Metropoolregio Amsterdam", "Drechtsteden", "Zeeland",
               "Stedelijk Gebied Eindhoven"}


async def test_fresh_install_has_the_six_open_proeftuinen(anonymous):
    visitor = await anonymous()
    groups = (await visitor.get("/api/v1/groups"))["groups"]
    assert {g["name"] for g in groups} == PROEFTUINEN
    assert all(g["kind"] == "proeftuin" and g["visibility"] == "open" and g["description"] for g in groups)


async def test_members_may_not_create_groups_unless_the_admin_allows_werkgroepen(admin, make_user):
    member = await make_user("Lid")
    await member.post("/api/v1/groups", {"name": "WG", "kind": "werkgroep", "visibility": "open"}, expect=403)
    await admin.call("PUT", "/api/v1/admin/settings", {"registration_mode": "open", "members_create_werkgroepen": True})
    group = await open_group(member, "WG")
    assert group["kind"] == "werkgroep"
    await member.post("/api/v1/groups", {"name": "Regio X", "kind": "proeftuin", "visibility": "open"}, expect=403)
    mine = await member.get(f"/api/v1/groups/{group['id']}")
    assert mine["membership"] == {"role": "owner"}


async def test_editor_creates_groups_and_names_are_unique(admin, make_user):
    editor = await make_user("Redacteur")
    await admin.patch(f"/api/v1/admin/users/{editor.id}", {"role": "editor"})
    await open_group(editor, "Werkgroep Wonen")
    body = await editor.post("/api/v1/groups", {"name": "werkgroep wonen", "kind": "werkgroep",
                                                "visibility": "open"}, expect=409)
    assert "name" in body["error"]["fields"]
    body = await editor.post("/api/v1/groups", {"name": "X", "kind": "club", "visibility": "secret"}, expect=422)
    assert set(body["error"]["fields"]) == {"kind", "visibility"}


async def test_open_group_join_and_leave(admin, make_user):
    member = await make_user("Jan")
    assert (await member.post("/api/v1/groups/2/join"))["membership"] == {"role": "member"}
    assert (await member.post("/api/v1/groups/2/join"))["membership"] == {"role": "member"}  # idempotent
    group = await member.get("/api/v1/groups/2")
    assert group["membership"] == {"role": "member"} and group["group"]["member_count"] == 1
    await member.post("/api/v1/groups/2/leave")
    assert (await member.get("/api/v1/groups/2"))["membership"] is None


async def test_visitors_cannot_join(anonymous):
    visitor = await anonymous()
    await visitor.post("/api/v1/groups/1/join", expect=401)


async def test_closed_group_request_then_approve_or_reject(admin, make_user):
    group = await open_group(admin, "Besloten", "closed")
    gid = group["id"]
    alice, bob = await make_user("Alice"), await make_user("Bob")
    assert (await alice.post(f"/api/v1/groups/{gid}/join"))["membership"] == {"role": "pending"}
    assert (await bob.post(f"/api/v1/groups/{gid}/join"))["membership"] == {"role": "pending"}
    await alice.get(f"/api/v1/groups/{gid}/threads", expect=404)       # not yet
    await alice.post(f"/api/v1/groups/{gid}/members/{bob.id}/approve", expect=403)  # not a moderator
    await admin.post(f"/api/v1/groups/{gid}/members/{alice.id}/approve")
    await admin.post(f"/api/v1/groups/{gid}/members/{bob.id}/reject")
    await alice.get(f"/api/v1/groups/{gid}/threads")
    assert (await bob.get(f"/api/v1/groups/{gid}"))["membership"] is None
    await admin.post(f"/api/v1/groups/{gid}/members/{bob.id}/approve", expect=404)  # nothing to approve


async def test_closed_group_meta_is_for_logged_in_members_only(admin, anonymous, make_user):
    group = await open_group(admin, "Besloten", "closed")
    visitor = await anonymous()
    await visitor.get(f"/api/v1/groups/{group['id']}", expect=404)
    assert group["id"] not in [g["id"] for g in (await visitor.get("/api/v1/groups"))["groups"]]
    member = await make_user("Lid")
    await member.get(f"/api/v1/groups/{group['id']}")
    await member.get(f"/api/v1/groups/{group['id']}/members", expect=404)


async def test_hidden_group_does_not_exist_for_outsiders(admin, make_user):
    group = await open_group(admin, "Geheim", "hidden")
    gid = group["id"]
    outsider = await make_user("Buiten")
    await outsider.get(f"/api/v1/groups/{gid}", expect=404)
    await outsider.post(f"/api/v1/groups/{gid}/join", expect=404)
    await outsider.get(f"/api/v1/groups/{gid}/threads", expect=404)
    assert gid not in [g["id"] for g in (await outsider.get("/api/v1/groups"))["groups"]]
    # by invitation, it appears and can be joined
    await admin.post(f"/api/v1/groups/{gid}/invitations", {"user_id": outsider.id}, expect=201)
    assert (await outsider.get(f"/api/v1/groups/{gid}"))["membership"] == {"role": "invited"}
    invitations = await outsider.get("/api/v1/me/invitations")
    assert [g["id"] for g in invitations["groups"]] == [gid]
    await outsider.get(f"/api/v1/groups/{gid}/threads", expect=404)   # invited is not yet a member
    assert (await outsider.post(f"/api/v1/groups/{gid}/join"))["membership"] == {"role": "member"}
    await outsider.get(f"/api/v1/groups/{gid}/threads")


async def test_invitation_by_email_is_found_after_registering(admin, make_user, svc):
    group = await open_group(admin, "Geheim", "hidden")
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"email": "Later@Example.nl"}, expect=201)
    assert await count(svc, "outbox") == 1
    members = await admin.get(f"/api/v1/groups/{group['id']}/members")
    assert members["invited_emails"] == ["later@example.nl"]
    later = await make_user("Later")
    assert (await later.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "invited"}
    await later.post(f"/api/v1/groups/{group['id']}/join")


async def test_invite_validation(admin, make_user):
    group = await open_group(admin)
    member = await make_user("Lid")
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {}, expect=422)
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"email": "geen adres"}, expect=422)
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": 999999}, expect=404)
    await member.post(f"/api/v1/groups/{group['id']}/join")
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": member.id}, expect=409)
    await member.post(f"/api/v1/groups/{group['id']}/invitations", {"email": "x@example.nl"}, expect=403)


async def test_roles_promote_demote_remove_and_transfer(admin, make_user):
    owner = admin
    group = await open_group(owner)
    gid = group["id"]
    mod, member, other = await make_user("Mod"), await make_user("Mem"), await make_user("Other")
    for user in (mod, member, other):
        await user.post(f"/api/v1/groups/{gid}/join")
    await owner.patch(f"/api/v1/groups/{gid}/members/{mod.id}", {"role": "moderator"})
    # a moderator promotes and removes members, but not other moderators or the owner
    await mod.patch(f"/api/v1/groups/{gid}/members/{member.id}", {"role": "moderator"})
    await mod.patch(f"/api/v1/groups/{gid}/members/{member.id}", {"role": "member"}, expect=403)
    await mod.delete(f"/api/v1/groups/{gid}/members/{owner.id}", expect=409)
    await mod.delete(f"/api/v1/groups/{gid}/members/{other.id}", expect=422)  # they are told why: a reason
    await mod.delete(f"/api/v1/groups/{gid}/members/{other.id}", {"reason": 7}, expect=422)
    await mod.delete(f"/api/v1/groups/{gid}/members/{other.id}", {"reason": "afgerond"})
    await mod.patch(f"/api/v1/groups/{gid}/members/{mod.id}", {"role": "owner"}, expect=403)
    await owner.patch(f"/api/v1/groups/{gid}/members/{member.id}", {"role": "member"})
    # the last owner cannot leave, but can hand over ownership and then leave
    await owner.post(f"/api/v1/groups/{gid}/leave", expect=409)
    await owner.patch(f"/api/v1/groups/{gid}/members/{mod.id}", {"role": "owner"})
    roles = {m["user"]["id"]: m["role"] for m in (await mod.get(f"/api/v1/groups/{gid}/members"))["members"]}
    assert roles == {mod.id: "owner", owner.id: "moderator", member.id: "member"}
    await owner.post(f"/api/v1/groups/{gid}/leave")
    await mod.patch(f"/api/v1/groups/{gid}/members/{member.id}", {"role": "king"}, expect=422)


async def test_owner_edits_group_and_changes_visibility(admin, make_user):
    group = await open_group(admin, "WG")
    member = await make_user("Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    await member.patch(f"/api/v1/groups/{group['id']}", {"name": "X", "visibility": "hidden"}, expect=403)
    await admin.patch(f"/api/v1/groups/{group['id']}", {"name": "WG Energie", "visibility": "closed",
                                                         "description": "Nieuw"})
    assert (await member.get(f"/api/v1/groups/{group['id']}"))["group"]["name"] == "WG Energie"


async def test_group_list_counts(admin, make_user):
    group = await open_group(admin)
    member = await make_user("Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Hoi", "body": "Eerste"}, expect=201)
    listed = {g["id"]: g for g in (await member.get("/api/v1/groups"))["groups"]}
    assert listed[group["id"]]["member_count"] == 2
    assert listed[group["id"]]["thread_count"] == 1


async def test_membership_changes_write_events(admin, make_user, svc):
    group = await open_group(admin)
    member = await make_user("Lid")
    before = await count(svc, "events")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    async with svc.db.read() as conn:
        rows = await (await conn.execute("SELECT channel, kind FROM events WHERE id > ? ORDER BY id", (before,))).fetchall()
    assert [tuple(r) for r in rows] == [(f"user:{member.id}", "membership.changed"),
                                       (f"group:{group['id']}", "membership.changed")]


async def test_counts_follow_every_membership_and_thread_change(admin, make_user, svc):
    group = await open_group(admin)
    gid = group["id"]
    a, b = await make_user("A"), await make_user("B")
    await a.post(f"/api/v1/groups/{gid}/join")
    await b.post(f"/api/v1/groups/{gid}/join")
    await a.post(f"/api/v1/groups/{gid}/threads", {"title": "T", "body": "x"}, expect=201)
    await admin.patch(f"/api/v1/groups/{gid}/members/{a.id}", {"role": "moderator"})   # role change: no count change
    await admin.delete(f"/api/v1/groups/{gid}/members/{b.id}", {"reason": "afgerond"})
    async with svc.db.read() as conn:
        stored = await (await conn.execute(
            "SELECT member_count, thread_count,"
            " (SELECT COUNT(*) FROM memberships WHERE group_id = ? AND role IN ('owner','moderator','member')) AS m,"
            " (SELECT COUNT(*) FROM threads WHERE group_id = ? AND deleted_at IS NULL) AS t"
            " FROM groups WHERE id = ?", (gid, gid, gid))).fetchone()
    assert (stored["member_count"], stored["thread_count"]) == (stored["m"], stored["t"]) == (2, 1)


async def test_only_members_get_a_members_tools_and_ones_own_reply_is_nothing_unread(admin, make_user, anonymous):
    group = await open_group(admin, "Werkgroep Open")
    member, passer = await make_user("Lid"), await make_user("Voorbijganger")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Plannen", "body": "Eerste"},
                               expect=201))["thread"]["id"]
    for who in (await anonymous(), passer):
        html = await (await who.client.get(f"/groups/{group['id']}")).text()
        assert 'id="level-select"' not in html and "Alles als gelezen markeren" not in html
    html = await (await member.client.get(f"/groups/{group['id']}")).text()
    assert 'id="level-select"' in html and "Alles als gelezen markeren" in html
    await member.client.get(f"/threads/{thread}")  # read up to here
    await member.post(f"/api/v1/threads/{thread}/posts", {"body": "Mijn reactie"}, expect=201)
    assert "first-unread" not in await (await member.client.get(f"/threads/{thread}")).text()
    await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "Een nieuwe van een ander"}, expect=201)
    assert 'id="first-unread"' in await (await member.client.get(f"/threads/{thread}")).text()


async def test_bans_are_asked_for_with_a_reason_shown_told_and_lifted_in_the_pages(admin, make_user):
    from tests.test_pages import csrf_of
    group = await open_group(admin, "Werkgroep Water")
    spammer, member = await make_user("Sam Spammer"), await make_user("Lid")
    for user in (spammer, member):
        await user.post(f"/api/v1/groups/{group['id']}/join")
    members = f"/groups/{group['id']}/members"
    token = csrf_of(await (await admin.client.get(members)).text())
    # one click asks first: a page with a reason, nothing done yet
    asked = await admin.client.post(f"{members}/{spammer.id}", data={"csrf_token": token, "action": "ban"})
    page = await asked.text()
    assert asked.status == 200 and "Sam Spammer weren uit Werkgroep Water" in page and 'name="reason"' in page
    assert (await spammer.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "member"}
    too_long = await admin.client.post(f"{members}/{spammer.id}", data={
        "csrf_token": token, "action": "ban", "confirm": "yes", "reason": "x" * 501})
    assert too_long.status == 422 and 'name="reason"' in await too_long.text()  # the same page, marked
    done = await admin.client.post(f"{members}/{spammer.id}", allow_redirects=False, data={
        "csrf_token": token, "action": "ban", "confirm": "yes", "reason": "herhaald spammen"})
    assert done.status == 303
    listing = await (await admin.client.get(members)).text()
    assert "Sam Spammer" in listing and "herhaald spammen" in listing and "Weren opheffen" in listing
    told = [n for n in (await spammer.get("/api/v1/notifications"))["notifications"] if n["kind"] == "banned"]
    assert told and told[0]["text"] == "U bent geweerd uit Werkgroep Water: herhaald spammen"
    own_page = await (await spammer.client.get(f"/groups/{group['id']}")).text()
    assert "geweerd uit deze groep" in own_page and "Reden: herhaald spammen" in own_page
    assert "Lid worden van deze groep" not in own_page
    # removing asks too, and lifting the ban lets them back
    asked = await admin.client.post(f"{members}/{member.id}", data={"csrf_token": token, "action": "remove"})
    assert asked.status == 200 and "Lid verwijderen uit Werkgroep Water" in await asked.text()
    assert (await member.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "member"}
    reasonless = await admin.client.post(f"{members}/{member.id}", data={
        "csrf_token": token, "action": "remove", "confirm": "yes", "reason": ""})
    assert reasonless.status == 422 and 'id="e-reason"' in await reasonless.text()  # they would read it
    assert (await member.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "member"}
    lifted = await admin.client.post(f"{members}/{spammer.id}", allow_redirects=False,
                                     data={"csrf_token": token, "action": "unban"})
    assert lifted.status == 303
    assert "Niemand is uit deze groep geweerd." in await (await admin.client.get(members)).text()
    await spammer.post(f"/api/v1/groups/{group['id']}/join")
    assert (await spammer.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "member"}


async def test_a_membership_request_carries_a_message_to_the_moderators(admin, make_user):
    from tests.test_pages import csrf_of
    group = await open_group(admin, "Besloten Beraad", "closed")
    asker = await make_user("Vera Vraag")
    page = await (await asker.client.get(f"/groups/{group['id']}")).text()
    assert 'name="message"' in page  # asked for on the group page of a closed group
    too_long = await asker.client.post(f"/groups/{group['id']}/join",
                                       data={"csrf_token": csrf_of(page), "message": "x" * 1001})
    again = await too_long.text()  # the group page again, the message kept and marked
    assert too_long.status == 422 and 'id="e-message"' in again and "x" * 1001 in again
    assert (await asker.get(f"/api/v1/groups/{group['id']}"))["membership"] is None
    sent = await asker.client.post(f"/groups/{group['id']}/join", allow_redirects=False, data={
        "csrf_token": csrf_of(page), "message": "Ik ben beleidsmedewerker <b>wonen</b> in Zwolle."})
    assert sent.status == 303
    told = (await admin.get("/api/v1/notifications"))["notifications"][0]
    assert told["kind"] == "join_request" and told["excerpt"] == "Ik ben beleidsmedewerker <b>wonen</b> in Zwolle."
    members = await (await admin.client.get(f"/groups/{group['id']}/members")).text()
    assert "Ik ben beleidsmedewerker &lt;b&gt;wonen&lt;/b&gt; in Zwolle." in members
    other = await make_user("Api Vrager")
    await other.post(f"/api/v1/groups/{group['id']}/join", {"message": "Via de API"})
    await other.post(f"/api/v1/groups/{group['id']}/join", {"message": 5}, expect=422)
    assert "Via de API" in await (await admin.client.get(f"/groups/{group['id']}/members")).text()
    visitor_view = await (await other.client.get(f"/groups/{group['id']}/members")).text()
    assert "beleidsmedewerker" not in visitor_view  # for moderators only


async def test_handing_over_ownership_asks_first_and_moderators_leave_each_other_be(admin, make_user):
    from tests.test_pages import csrf_of
    group = await open_group(admin, "Werkgroep Wind")
    anna, mo, mona = await make_user("Anna"), await make_user("Mo"), await make_user("Mona")
    for user in (anna, mo, mona):
        await user.post(f"/api/v1/groups/{group['id']}/join")
    await admin.patch(f"/api/v1/groups/{group['id']}/members/{mo.id}", {"role": "owner"})
    await mo.patch(f"/api/v1/groups/{group['id']}/members/{mona.id}", {"role": "moderator"})
    members = f"/groups/{group['id']}/members"
    token = csrf_of(await (await mo.client.get(members)).text())
    asked = await mo.client.post(f"{members}/{anna.id}", data={"csrf_token": token, "action": "role", "role": "owner"})
    question = await asked.text()  # one click next to 'Weren' no longer gives the group away
    assert asked.status == 200 and "Anna eigenaar maken van Werkgroep Wind" in question
    assert "U blijft moderator van de groep." in question and 'name="confirm" value="yes"' in question
    assert (await mo.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "owner"}
    odd = await mo.client.post(f"{members}/{anna.id}", data={"csrf_token": token, "action": "x", "role": "owner"})
    assert odd.status == 400  # no way round the question (attacker review)
    assert (await mo.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "owner"}
    done = await mo.client.post(f"{members}/{anna.id}", allow_redirects=False, data={
        "csrf_token": token, "action": "role", "role": "owner", "confirm": "yes"})
    assert done.status == 303
    assert "De rol is gewijzigd." in await (await mo.client.get(done.headers["Location"])).text()  # says so
    assert (await anna.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "owner"}
    assert (await mo.get(f"/api/v1/groups/{group['id']}"))["membership"] == {"role": "moderator"}
    # a moderator is told at once that removing a fellow moderator is the owner's, not asked first
    page = await mona.client.post(f"{members}/{mo.id}", data={"csrf_token": csrf_of(await (await mona.client.get(
        members)).text()), "action": "ban"})
    assert page.status == 409 and "Alleen de eigenaar van de groep" in await page.text()


async def test_a_group_has_an_introduction_an_icon_and_a_banner(admin, make_user, anonymous):
    import io

    import aiohttp
    from PIL import Image

    from tests.test_pages import csrf_of
    group = await open_group(admin, "Werkgroep Water", "open")
    updated = await admin.patch(f"/api/v1/groups/{group['id']}", {
        "name": "Werkgroep Water", "visibility": "open", "intro": "Wij werken aan **dijken**.\n\nZie www.zeeland.nl"})
    assert updated["group"]["intro_html"].startswith("<p>Wij werken aan <strong>dijken</strong>.</p>")
    await admin.patch(f"/api/v1/groups/{group['id']}", {"name": "Werkgroep Water", "visibility": "open",
                                                        "intro": "![](/documents/1/download)"}, expect=422)
    page = await (await admin.client.get(f"/groups/{group['id']}/edit")).text()

    async def send(which: str, content: bytes, name: str):
        form = aiohttp.FormData()
        form.add_field("csrf_token", csrf_of(page))
        form.add_field("which", which)
        form.add_field("image", io.BytesIO(content), filename=name, content_type="application/octet-stream")
        return await admin.client.post(f"/groups/{group['id']}/image", data=form, allow_redirects=False)

    out = io.BytesIO()
    Image.new("RGB", (1600, 900), "navy").save(out, "PNG")
    for which in ("icon", "banner"):
        assert (await send(which, out.getvalue(), f"{which}.png")).status == 303
    refused = await send("banner", b"%PDF-1.4\n%%EOF\n", "plan.pdf")
    assert refused.status == 422 and 'id="e-banner"' in await refused.text()
    odd = await send("wallpaper", out.getvalue(), "x.png")
    assert odd.status in (404, 422)
    shown = (await admin.get(f"/api/v1/groups/{group['id']}"))["group"]
    visitor = await anonymous()
    group_page = await (await visitor.client.get(f"/groups/{group['id']}")).text()
    assert f'src="{shown["banner_url"]}" alt=""' in group_page and f'src="{shown["icon_url"]}" alt=""' in group_page
    assert "<strong>dijken</strong>" in group_page
    for which, size in (("icon", (160, 160)), ("banner", (1200, 300))):
        answer = await visitor.client.get(shown[f"{which}_url"])
        with Image.open(io.BytesIO(await answer.read())) as image:
            assert image.size == size
    member = await make_user("Lid")  # may see the group, may not change its look
    stranger_form = aiohttp.FormData()
    stranger_form.add_field("csrf_token", member.csrf)
    stranger_form.add_field("which", "icon")
    stranger_form.add_field("image", io.BytesIO(out.getvalue()), filename="x.png", content_type="image/png")
    assert (await member.client.post(f"/groups/{group['id']}/image", data=stranger_form)).status == 403
    hidden = await open_group(admin, "Geheim", "hidden")
    assert (await visitor.client.get(f"/groups/{hidden['id']}/icon")).status == 404


async def test_no_werkgroepen_yet_says_who_makes_them(admin, make_user):
    member = await make_user("Lid")
    page = await (await member.client.get("/groups")).text()
    assert "Werkgroepen worden aangemaakt door de beheerders" in page and 'href="/groups/new"' not in page
    own = await (await admin.client.get("/groups")).text()  # who may make one is told how
    assert "Begin er een met &#39;Nieuwe groep&#39;" in own and 'href="/groups/new"' in own
    await open_group(admin, "Werkgroep Water")
    assert "Werkgroepen worden aangemaakt" not in await (await member.client.get("/groups")).text()


async def test_members_of_one_name_are_listed_in_one_order_on_either_database(admin, make_user, svc):
    # ties are broken by id: PostgreSQL returns equal rows in the order they were written
    # (SQLite in id order), so without it two namesakes swapped places between the databases
    group = await open_group(admin, "Naamgenoten")
    first, second = await make_user("Jan Een"), await make_user("Jan Twee")
    async with svc.db.write() as tx:
        for user in (second, first):  # written in the other order than their ids
            await tx.execute("UPDATE users SET display_name = 'Jan de Vries' WHERE id = ?", (user.id,))
    await second.post(f"/api/v1/groups/{group['id']}/join")  # the later account joins first
    await first.post(f"/api/v1/groups/{group['id']}/join")
    members = (await admin.get(f"/api/v1/groups/{group['id']}/members"))["members"]
    namesakes = [m["user"]["id"] for m in members if m["user"]["display_name"] == "Jan de Vries"]
    assert namesakes == [first.id, second.id]


async def test_a_wrong_choice_names_the_choices(admin):
    refused = await admin.post("/api/v1/groups", {"name": "Raden", "kind": "club", "visibility": "openbaar"}, expect=422)
    assert "werkgroep" in refused["error"]["fields"]["kind"] and "hidden" in refused["error"]["fields"]["visibility"]
