"""Atom feeds: the site's public news, and the news and new discussions of each open group.
They are in Dutch, the site's language, and built for nobody in particular (a feed reader is a visitor, whatever cookie it
sends), so they hold nothing personal and may be cached by anyone."""
from __future__ import annotations

import re
from datetime import datetime

from aiohttp import web
from feedgen.feed import FeedGenerator

from forum.keys import services_key
from forum.services import news
from forum.web.api import int_param

FEED_TYPE = "application/atom+xml; charset=utf-8"
MAX_AGE = 300
# what XML 1.0 cannot carry: one such character in a post (posts keep what was typed) would
# otherwise make the whole feed fail for every reader
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _feed(site_url: str, path: str, title: str, subtitle: str, html_path: str) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(f"{site_url}{path}")
    feed.title(xml_text(title))
    feed.subtitle(xml_text(subtitle))
    feed.link(href=f"{site_url}{path}", rel="self", type="application/atom+xml")
    feed.link(href=f"{site_url}{html_path}", rel="alternate", type="text/html")
    feed.language("nl")
    return feed


def _add_news(feed: FeedGenerator, site_url: str, item) -> None:
    entry = feed.add_entry(order="append")
    url = f"{site_url}/news/{item['id']}"
    entry.id(url)
    entry.title(xml_text(item["title"]))
    entry.link(href=url, rel="alternate", type="text/html")
    entry.author(name=xml_text(item["author_name"]))
    entry.published(_moment(item["publish_at"]))
    entry.updated(_moment(max(item["publish_at"], item["edited_at"] or "")))
    if item["summary"]:
        entry.summary(xml_text(item["summary"]))
    entry.content(xml_text(item["body_html"]), type="html")  # already made safe by forum/markdown.py


def _answer(feed: FeedGenerator, entries: list[str]) -> web.Response:
    feed.updated(_moment(max(entries)) if entries else datetime(2026, 1, 1).astimezone())
    response = web.Response(body=feed.atom_str(pretty=True), headers={"Content-Type": FEED_TYPE})
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response


async def site_news(request: web.Request) -> web.Response:
    svc = request.app[services_key]
    site_url = svc.config.site_url.rstrip("/")
    items = await news.site_feed(svc)
    feed = _feed(site_url, "/feeds/news.atom", "Nieuws van Maak verschil",
                 "Nieuws, interviews en verslagen van het programma Maak verschil", "/news")
    for item in items:
        _add_news(feed, site_url, item)
    return _answer(feed, [item["publish_at"] for item in items])


async def group(request: web.Request) -> web.Response:
    svc = request.app[services_key]
    site_url = svc.config.site_url.rstrip("/")
    group_row, items, threads = await news.group_feed(svc, int_param(request, "group_id"))
    feed = _feed(site_url, f"/feeds/groups/{group_row['id']}.atom", group_row["name"],
                 f"Nieuws en nieuwe discussies van {group_row['name']}",
                 f"/groups/{group_row['id']}")
    # news and new discussions together, newest first, as a reader expects them
    entries = [(item["publish_at"], "news", item) for item in items] + \
              [(thread["created_at"], "thread", thread) for thread in threads]
    for moment, kind, row in sorted(entries, key=lambda entry: entry[0], reverse=True)[:news.FEED_SIZE]:
        if kind == "news":
            _add_news(feed, site_url, row)
            continue
        entry = feed.add_entry(order="append")
        url = f"{site_url}/threads/{row['id']}"
        entry.id(url)
        entry.title(xml_text(f"Discussie: {row['title']}"))
        entry.link(href=url, rel="alternate", type="text/html")
        entry.author(name=xml_text(row["author_name"]))
        entry.published(_moment(moment))
        entry.updated(_moment(moment))
        entry.content(xml_text(row["body_html"]), type="html")
    return _answer(feed, [entry[0] for entry in entries])


def routes() -> list[web.RouteDef]:
    return [
        web.get("/feeds/news.atom", site_news, name="feeds.news"),
        web.get("/feeds/groups/{group_id}.atom", group, name="feeds.group"),
    ]
