"""Posts show images only from this site: an image from elsewhere becomes a link (so its host
does not learn who reads the post), and no script URL survives as a link or an image."""
from __future__ import annotations

import re

import pytest

from forum.markdown import render_markdown
from tests.conftest import open_group


def test_an_external_image_becomes_a_link():
    html = render_markdown("Kijk: ![de kaart](https://evil.test/a.png)")
    assert "<img" not in html
    assert re.search(r'<a href="https://evil.test/a.png" rel="nofollow ugc noopener">de kaart</a>', html), html


@pytest.mark.parametrize("src", ["http://evil.test/a.png", "//evil.test/a.png", "a.png", "../a.png",
                                 "data:image/png;base64,AAAA"])
def test_anything_but_a_path_on_this_site_becomes_a_link(src):
    html = render_markdown(f"![plaatje]({src})")
    assert "<img" not in html and "plaatje</a>" in html


def test_a_backslash_does_not_make_a_path_leave_the_site():
    # browsers read "/\host" as "//host"; the renderer percent-encodes the backslash
    html = render_markdown("![plaatje](/\\evil.test/a.png)")
    assert '<img src="/%5Cevil.test/a.png"' in html


def test_a_local_image_stays_an_image():
    html = render_markdown('![logo](/static/logo.png "Het logo")')
    assert '<img src="/static/logo.png" alt="logo" title="Het logo">' in html


def test_an_external_image_without_words_shows_its_address():
    html = render_markdown("![](https://evil.test/a.png)")
    assert ">https://evil.test/a.png</a>" in html and "<img" not in html


def test_a_linked_external_image_does_not_nest_links():
    html = render_markdown("[![badge](https://evil.test/b.svg)](https://example.nl/)")
    assert html.count("<a ") == 1 and "<img" not in html and "badge" in html


@pytest.mark.parametrize("body", ["![x](javascript:alert(1))", "![x](JaVaScRiPt:alert(1))",
                                  "![x](vbscript:msgbox)", "[![x](javascript:alert(1))](javascript:alert(2))"])
def test_script_urls_render_neither_as_image_nor_as_link(body):
    html = render_markdown(body)
    assert "<img" not in html
    assert not re.search(r'(href|src)="\s*(javascript|vbscript)', html, re.I), html


async def test_a_post_with_an_external_image_shows_a_link_on_the_thread_page(admin, anonymous):
    group = await open_group(admin)
    body = await admin.post(f"/api/v1/groups/{group['id']}/threads",
                            {"title": "Plaatjes", "body": "Zie ![de kaart](https://evil.test/a.png)"}, expect=201)
    thread_id = body["thread"]["id"]
    visitor = await anonymous()
    response = await visitor.client.get(f"/threads/{thread_id}")
    page = await response.text()
    assert response.status == 200
    assert 'href="https://evil.test/a.png"' in page and 'src="https://evil.test' not in page


def test_links_to_the_sites_documents_are_marked_as_attachments_and_nothing_else_is():
    html = render_markdown("[Rapport](/documents/12) [v2](/documents/12/download?version=2)"
                           " [elders](https://example.org/documents/3) [bijna](/documents/1x)"
                           ' <a class="attachment" href="https://example.org">rauw</a>')
    assert len(re.findall(r'<a [^>]*class="attachment"', html)) == 2  # the raw HTML stays text
    assert '<a href="/documents/12" class="attachment"' in html
    assert '<a href="https://example.org/documents/3" rel' in html and '<a href="/documents/1x" rel' in html


def test_bare_addresses_and_mentions_become_links_but_not_in_code_or_links():
    html = render_markdown("Zie https://zeeland.nl/plan?a=1 en www.regiozwolle.info, @Anna-Jansen weet meer.\n\n"
                           "`@code` en [link @x](/a) en a@b.nl")
    assert '<a href="https://zeeland.nl/plan?a=1" rel="nofollow ugc noopener">https://zeeland.nl/plan?a=1</a>' in html
    assert '<a href="http://www.regiozwolle.info" rel="nofollow ugc noopener">' in html
    assert '<a href="/users/@anna-jansen" class="mention" rel="nofollow ugc noopener">@Anna-Jansen</a>' in html
    assert "<code>@code</code>" in html and '<a href="/a" rel="nofollow ugc noopener">link @x</a>' in html
    assert 'href="mailto:a@b.nl"' in html and "/users/@b" not in html
    assert render_markdown("javascript:alert(1) en <b>@x</b>").count("javascript:") == 1  # text, no link
    assert 'href="javascript' not in render_markdown("javascript:alert(1)")


async def test_a_mention_links_to_the_profile_it_names(admin, make_user, anonymous):
    from tests.conftest import open_group
    anna = await make_user("Anna Jansen")
    group = await open_group(admin)
    await anna.post(f"/api/v1/groups/{group['id']}/join")
    thread = (await anna.post(f"/api/v1/groups/{group['id']}/threads",
                              {"title": "Hallo", "body": "Vraag aan @beheerder en @niemand-hier"}, expect=201))["thread"]
    page = await (await anna.client.get(f"/threads/{thread['id']}")).text()
    assert '<a href="/users/@beheerder" class="mention"' in page
    found = await anna.client.get("/users/@beheerder", allow_redirects=False)
    assert found.status == 303 and found.headers["Location"] == f"/users/{admin.id}"
    for handle in ("niemand-hier", "x" * 500):  # no one's: the people found by it, no dead end
        answer = await anna.client.get(f"/users/@{handle}", allow_redirects=False)
        assert answer.status == 303 and answer.headers["Location"].startswith("/people?q=")
    visitor = await anonymous()  # profiles are for who is logged in: first that, then on to the profile
    asked = await visitor.client.get("/users/@beheerder", allow_redirects=False)
    assert asked.status == 303 and asked.headers["Location"] == "/login?next=/users/@beheerder"
    found = await anna.client.get("/users/@beheer")  # a handle half-written: the people found by it
    assert "Beheerder" in await found.text()
