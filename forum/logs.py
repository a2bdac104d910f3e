"""The server's log lines, as text or (FORUM_LOG_FORMAT=json) one JSON object per line, and the
request each line was written for.

Every request gets an id (forum/web/request_info.py), kept in a context variable for as long
as the request is handled: each request is its own asyncio task with its own copy of the
context, so a line logged anywhere while it is answered (a service's warning, a traceback, the
access log line aiohttp writes after the answer) names that request, its route and, once the
session is known, the user. Lines logged outside a request (the scheduler, the mailer) name
none. What goes into a line is decided where it is logged: no request body, password or
token is ever passed to a logger, and the access log takes tokens out of paths
(forum/web/access_log.py).
"""
from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import datetime, timezone

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


UNMATCHED = "unmatched"  # the route label of a path no route matched (404, 405): one label, whatever the path


def route_label(resource) -> str:
    """The name of the route a request matched (an aiohttp resource); one without a name, its
    path pattern (/threads/{thread_id}); none (resource None), UNMATCHED. Never the path asked for."""
    if resource is None:
        return UNMATCHED
    return resource.name or resource.canonical


class RequestInfo:
    """What the log knows of the request being answered. The route is kept as the matched
    resource and named only when a line is written: most requests write none."""
    __slots__ = ("id", "resource", "user_id", "start")

    def __init__(self, request_id: str, resource, start: float):
        self.id = request_id
        self.resource = resource
        self.user_id: int | None = None
        self.start = start

    @property
    def route(self) -> str:
        return route_label(self.resource)


current_request: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)


def note_user(user_id: int | None) -> None:
    """The session middleware knows who asks: later lines of this request name them."""
    info = current_request.get()
    if info is not None and user_id:
        info.user_id = user_id


# set by a logger's `extra=`: the access log gives the answer's status and how long it took
_EXTRA_FIELDS = ("status", "duration", "method", "path", "client")


class JsonFormatter(logging.Formatter):
    """time, level, logger, message; request_id, route and user_id while a request is answered;
    status, duration (seconds) and the rest on the access log; exception with a traceback's text."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        info = current_request.get()
        if info is not None:
            line["request_id"] = info.id
            line["route"] = info.route
            if info.user_id is not None:
                line["user_id"] = info.user_id
        for name in _EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain format, with the request's id at the end of each line written for one."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        info = current_request.get()
        if info is None:
            return text
        first, newline, rest = text.partition("\n")  # after the message, before a traceback
        return f"{first} [request {info.id}]{newline}{rest}"


def configure(level: str, log_format: str) -> None:
    """The root logger writes to stderr in the chosen format (forum/cli.py, before serving)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiosqlite writes every statement with its parameters at debug level: e-mail addresses,
    # password and session hashes, every post's text. FORUM_LOG_LEVEL=DEBUG is for our own lines.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
