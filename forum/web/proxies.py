"""Who the client is, behind a reverse proxy. A proxy (nginx, Caddy, a load balancer) connects
to us itself and names the client in X-Forwarded-For or Forwarded (RFC 7239), and the scheme it
was reached by in X-Forwarded-Proto. Anyone can send those headers, so they are believed only
when the connection comes from an address in FORUM_TRUSTED_PROXIES, and then read from the
right: each trusted hop is skipped, and the first address not ours is the client. Rate limits
and the audit log key on that address; a client cannot choose it.
"""
from __future__ import annotations

import ipaddress
import re

from aiohttp import web

from forum.keys import config_key

_FORWARDED_FOR = re.compile(r'(?:^|[;,\s])for=(?:"([^"]*)"|([^;,\s]*))', re.IGNORECASE)
_FORWARDED_PROTO = re.compile(r'(?:^|[;,\s])proto=(?:"([^"]*)"|([^;,\s]*))', re.IGNORECASE)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: 1.2.3.4, 1.2.3.4:5678, [2001:db8::1]:443, 2001:db8::1."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def _hops(headers) -> list[str]:
    """The addresses the proxies recorded, the client's first; Forwarded wins over X-Forwarded-For."""
    forwarded = headers.getall("Forwarded", [])
    if forwarded:
        return [quoted or bare for value in forwarded for quoted, bare in _FORWARDED_FOR.findall(value)]
    return [hop for value in headers.getall("X-Forwarded-For", []) for hop in value.split(",")]


def client_address(peer: str | None, headers, networks) -> str | None:
    """The client's address: the peer's own, unless the peer is a trusted proxy."""
    if not networks or not _trusted(_address(peer or ""), networks):
        return peer
    hops = _hops(headers)
    if not hops:
        return peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer  # a hop we cannot read ("unknown", garbage): the proxy that wrote it is what we know
        if not _trusted(address, networks):
            return str(address)
    return str(_address(hops[0]))  # every hop is one of ours: the first is the client


def client_scheme(peer: str | None, headers, networks) -> str | None:
    if not networks or not _trusted(_address(peer or ""), networks):
        return None
    forwarded = headers.getall("Forwarded", [])
    values = ([quoted or bare for value in forwarded for quoted, bare in _FORWARDED_PROTO.findall(value)]
              if forwarded else [v for value in headers.getall("X-Forwarded-Proto", []) for v in value.split(",")])
    scheme = values[-1].strip().lower() if values else ""
    return scheme if scheme in ("http", "https") else None


@web.middleware
async def proxy_middleware(request: web.Request, handler):
    networks = request.app[config_key].trusted_proxies
    if networks:
        remote = client_address(request.remote, request.headers, networks)
        scheme = client_scheme(request.remote, request.headers, networks)
        if remote != request.remote or scheme:
            request = request.clone(remote=remote, **({"scheme": scheme} if scheme else {}))
    return await handler(request)
