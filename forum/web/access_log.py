"""The server's access log, minus the secrets some URLs carry.

A password-reset, unsubscribe, setup, e-mail confirmation or invitation link, and a personal
calendar feed (/feeds/me/TOKEN.ics, polled by a calendar app every few minutes), holds its token
in the path; aiohttp's own access log would write it to disk (and again in the Referer of the
page the reader went to next). This logger writes the line aiohttp would, with such segments
replaced by "…" and query strings dropped.
"""
from __future__ import annotations

import logging
import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from forum.keys import config_key
from forum.web.health import PROBES
from forum.web.proxies import client_address

# The segment after one of these is a bearer token.
_TOKEN_PATH = re.compile(r"(/(?:password/reset|unsubscribe|setup|confirm-email|invitations|feeds/me)/)[^/?#]+")


def redact(url: str) -> str:
    """A path or full URL with token segments and the query string (which may carry one too) taken out."""
    url, had_query, _ = url.partition("?")
    url = url.split("#", 1)[0]
    return _TOKEN_PATH.sub(r"\1…", url) + ("?…" if had_query else "")


def _app_of(request: BaseRequest):
    """The application that answered, or None for a request answered before any route was chosen
    (a request aiohttp could not parse, one the front door failed on): a web.Request's `app`
    then fails an assertion (AttributeError under python -O), and a raw BaseRequest has none."""
    try:
        return request.app  # type: ignore[attr-defined]
    except (AttributeError, AssertionError):
        return None


class RedactingAccessLogger(AbstractAccessLogger):
    """Common-log-style lines: client, request line, status, size, seconds, referer, agent."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        level = logging.DEBUG if request.path in PROBES else logging.INFO  # a load balancer's polling
        if level == logging.DEBUG and not self.logger.isEnabledFor(level):
            return
        referer = request.headers.get("Referer", "-")
        app = _app_of(request)
        config = app[config_key] if app is not None and config_key in app else None
        networks = config.trusted_proxies if config is not None else ()
        client = client_address(request.remote, request.headers, networks,
                                config.proxy_header if config is not None else "x-forwarded-for") or "-"
        path = redact(request.raw_path)
        self.logger.log(
            level, '%s "%s %s HTTP/%d.%d" %d %d %.6f "%s" "%s"',
            client, request.method, path,
            request.version.major, request.version.minor, response.status, response.body_length,
            time, redact(referer) if referer != "-" else "-", request.headers.get("User-Agent", "-"),
            # fields of their own in FORUM_LOG_FORMAT=json (forum/logs.py), the path as redacted
            extra={"status": response.status, "duration": round(time, 6), "method": request.method, "path": path,
                   "client": client},
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)  # no formatting when nobody listens
