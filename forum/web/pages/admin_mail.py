"""Page action for site admins on the mail outbox: put a mail that could not be sent back in the queue."""
from __future__ import annotations

from aiohttp import web

from forum.errors import ServiceError
from forum.keys import actor_key, services_key
from forum.services import outbox
from forum.web.api import int_param
from forum.web.pages import rerender, url


async def retry(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    mail_id = int_param(request, "mail_id")
    try:
        await outbox.retry(svc, actor, mail_id)
    except ServiceError as error:
        if error.status != 409:
            raise
        return rerender(request, "admin_outbox.html", error, {"mails": await outbox.latest(svc, actor)})
    raise web.HTTPSeeOther(url(request, "admin.outbox", query={"retried": str(mail_id)}))
