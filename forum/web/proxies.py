"""Who the client is, behind a reverse proxy. A proxy (nginx, Caddy, a load balancer) connects
to us itself and names the client in X-Forwarded-For (the default) or Forwarded (RFC 7239;
FORUM_PROXY_HEADER=forwarded), and the scheme it was reached by in X-Forwarded-Proto (or
Forwarded's proto). Only the one header the proxy writes is read. Anyone can send those headers, so they are believed only
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
    """An address as proxies write it: 1.2.3.4, 1.2.3.4:5678, [2001:db8::1]:443, 2001:db8::1;
    an IPv4 peer seen on an IPv6 socket (::ffff:1.2.3.4) is that IPv4 address."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def in_networks(address: str | None, networks) -> bool:
    """Whether an address, as aiohttp or a proxy writes it, lies in one of the networks."""
    return _trusted(_address(address or ""), networks)


def _hops(headers, header: str) -> list[str]:
    """The addresses the proxies recorded, the client's first, from the one header the proxy
    writes (FORUM_PROXY_HEADER). Never the other one as well: a proxy that sets
    X-Forwarded-For passes a client's own Forwarded header through untouched (attacker review:
    through the README's nginx, 'Forwarded: for=…' chose the address every limit counted)."""
    if header == "forwarded":
        return [quoted or bare for value in headers.getall("Forwarded", [])
                for quoted, bare in _FORWARDED_FOR.findall(value)]
    return [hop for value in headers.getall("X-Forwarded-For", []) for hop in value.split(",")]


def named_client(headers, networks, header: str = "x-forwarded-for") -> str | None:
    """The client a trusted proxy's header names, or None when it names none we can read (no
    such header, or a hop "unknown", obfuscated or garbage before an address not ours)."""
    hops = _hops(headers, header)
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        if not _trusted(address, networks):
            return str(address)
    return str(_address(hops[0])) if hops else None  # every hop is one of ours: the first is the client


def client_address(peer: str | None, headers, networks, header: str = "x-forwarded-for") -> str | None:
    """The client's address: the peer's own, unless the peer is a trusted proxy that names one
    (a hop we cannot read: the proxy that wrote it is what we know)."""
    if not networks or not _trusted(_address(peer or ""), networks):
        return peer
    return named_client(headers, networks, header) or peer


def client_scheme(peer: str | None, headers, networks, header: str = "x-forwarded-for") -> str | None:
    if not networks or not _trusted(_address(peer or ""), networks):
        return None
    values = ([quoted or bare for value in headers.getall("Forwarded", [])
               for quoted, bare in _FORWARDED_PROTO.findall(value)] if header == "forwarded"
              else [v for value in headers.getall("X-Forwarded-Proto", []) for v in value.split(",")])
    scheme = values[-1].strip().lower() if values else ""
    return scheme if scheme in ("http", "https") else None


def behind_proxy(request: web.Request) -> web.Request:
    """The request as the client made it: from a trusted proxy, a copy with the client's address
    and scheme (every middleware after the first sees this one: forum/web/request_info.py)."""
    config = request.app[config_key]
    networks = config.trusted_proxies
    if networks:
        remote = client_address(request.remote, request.headers, networks, config.proxy_header)
        scheme = client_scheme(request.remote, request.headers, networks, config.proxy_header)
        if remote != request.remote or scheme:
            request = request.clone(remote=remote, **({"scheme": scheme} if scheme else {}))
    return request
