"""Page: search, with its filters as a plain GET form (no JavaScript needed) and a link to
the next page of results."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from forum import policy
from forum.errors import Invalid, N_
from forum.keys import actor_key, services_key
from forum.policy import Action
from forum.services import groups, search
from forum.web.pages import form_errors, render

FILTERS = ("q", "type", "group_id", "author", "author_id", "from", "to", "sort")


async def index(request: web.Request) -> web.Response:
    values = {name: request.query.get(name, "") for name in FILTERS}
    svc, actor = request.app[services_key], request[actor_key]
    # the group filter offers the groups whose content the viewer reads (not a number to know)
    readable = [group for group in await groups.list_groups(svc, actor) if policy.can(actor, Action.READ, group)]
    context = {"values": values, "results": [], "next_url": None, "errors": {}, "searched": False,
               "groups": readable}
    if not values["q"].strip() and not request.query.get("cursor"):
        if any(values[name] for name in FILTERS if name != "q"):
            # arrived with a filter set (a profile's "search what they wrote"): a term is what is missing
            context["errors"] = form_errors(Invalid(fields={"q": N_("Geef een zoekterm op.")}))
        return render(request, "search.html", context)  # nothing asked yet
    try:
        _, results, next_cursor = await search.search(svc, actor, request.query)
    except Invalid as error:
        return render(request, "search.html", {**context, "errors": form_errors(error)}, status=422)
    next_url = None
    if next_cursor:
        next_url = "/search?" + urlencode({**{k: v for k, v in values.items() if v}, "cursor": next_cursor})
    return render(request, "search.html", {**context, "results": results, "next_url": next_url, "searched": True})
