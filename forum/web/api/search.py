"""API: one search over everything the viewer may read (threads, posts, groups, people)."""
from __future__ import annotations

from aiohttp import web

from forum.keys import actor_key, services_key
from forum.services import search
from forum.web.api import json_out

QUERY = (("q", "string", True), ("type", "string", False), ("group_id", "integer", False),
         ("author_id", "integer", False), ("author", "string", False), ("from", "string", False), ("to", "string", False),
         ("sort", "string", False), ("cursor", "string", False))


async def search_view(request: web.Request) -> web.Response:
    _, results, next_cursor = await search.search(request.app[services_key], request[actor_key], request.query)
    return json_out({"results": results, "next": next_cursor})
