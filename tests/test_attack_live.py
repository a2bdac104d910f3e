"""Attacker review of live sockets handed over from aiohttp: a peer that pings and never reads, and
one that closes while not reading, cost the server a bounded amount and are let go."""
from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

from forum.keys import hub_key
from tests.test_live import RawPeer, until


async def raw_open(server, rcvbuf: int = 4096):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (server.host, server.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /api/v1/live HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    await reader.readuntil(b"\r\n\r\n")
    return RawPeer(reader, writer), sock


async def test_ping_flood_from_a_peer_that_never_reads_grows_server_memory(server):
    """Every ping is answered with transport.write, paused or not: a peer that sends pings
    and never reads makes the server's write buffer grow without bound."""
    hub = server.app[hub_key]
    peer, sock = await raw_open(server)
    await until(lambda: len(hub.clients) == 1)
    client = next(iter(hub.clients))
    ping = RawPeer.frame(9, b"p" * 125)
    for _ in range(3000):
        peer.writer.write(ping * 100)    # 13 KB of pings a round
        await peer.writer.drain()
        await asyncio.sleep(0)
    await asyncio.sleep(0.5)
    buffered = client.transport.get_write_buffer_size()
    print("server write buffer after 39 MB of pings:", buffered, "closing", client.closing, "paused", client.paused)
    peer.writer.transport.abort()
    assert buffered < 1024 * 1024, f"{buffered} bytes of pongs held for a peer that does not read"


async def test_a_peer_that_closes_while_not_reading_is_never_let_go(server):
    """_peer_closes answers with transport.close(), which waits for the output to be taken:
    a peer that stopped reading never takes it, and the heartbeat skips closing clients, so
    the socket, its buffered output and the Client stay for ever."""
    hub = server.app[hub_key]
    hub.close_seconds = 0.5
    peer, sock = await raw_open(server)
    await until(lambda: len(hub.clients) == 1)
    client = next(iter(hub.clients))
    ping = RawPeer.frame(9, b"p" * 125)
    for _ in range(600):   # enough to fill the kernel's buffers both ways and leave output waiting
        peer.writer.write(ping * 100)
        await peer.writer.drain()
        await asyncio.sleep(0)
    await until(lambda: client.transport.get_write_buffer_size() > 0)
    peer.send(8, struct.pack("!H", 1000))
    await peer.writer.drain()
    await asyncio.sleep(1.0)
    for _ in range(3):
        hub.heartbeat()
        await asyncio.sleep(0.2)
    print("closing", client.closing, "still a client", client in hub.clients,
          "buffered", client.transport.get_write_buffer_size(), "transport closing", client.transport.is_closing())
    still = client in hub.clients
    peer.writer.transport.abort()
    assert not still, "a closed peer that does not read is kept for ever"
