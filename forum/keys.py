"""Typed keys for everything stored on the application and on requests, declared in one place."""
from __future__ import annotations

from aiohttp import web

from forum.config import Config
from forum.policy import Actor
from forum.services import Services

config_key = web.AppKey("config", Config)
services_key = web.AppKey("services", Services)

actor_key = web.RequestKey("actor", Actor)
session_hash_key = web.RequestKey("session_hash", object)  # str, or None for visitors
csrf_token_key = web.RequestKey("csrf_token", str)
personal_page_key = web.RequestKey("personal_page", bool)
page_ignores_key = web.RequestKey("page_ignores", str)  # an area (forum/db.py) the page shows nothing of
page_valid_until_key = web.RequestKey("page_valid_until", str)  # ISO time: what the page shows changes then
site_menus_key = web.RequestKey("site_menus", dict)  # the site's own pages in the header and footer menus  # the page shows something of this visitor's
new_anon_cookie_key = web.RequestKey("new_anon_cookie", object)  # str to set on the response, or None
upload_key = web.RequestKey("upload", object)  # an upload form's multipart reader, its CSRF field read
openapi_key = web.AppKey("openapi", dict)
page_cache_key = web.AppKey("page_cache", object)
reader_page_cache_key = web.AppKey("reader_page_cache", object)
open_reports_key = web.RequestKey("open_reports", int)  # reported posts waiting for this moderator
traffic_key = web.AppKey("traffic", object)
hub_key = web.AppKey("hub", object)
scheduler_key = web.AppKey("scheduler", object)
readiness_key = web.AppKey("readiness", object)  # forum/web/health.py's Readiness
metrics_key = web.AppKey("metrics", object)  # forum/web/metrics.py: the app's own Prometheus registry and counts
