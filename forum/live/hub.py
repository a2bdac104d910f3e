"""The hub: after every commit it reads the new rows of the event log, and hands each event
to the clients subscribed to its channel that may still see it. A payload is encoded once per
event, the same bytes for every receiver. Clients that fall behind are closed with a code
that tells them to resume from the last id they saw; nobody else waits for them.

Catch-up without gap or duplicate: a subscribing client is registered first, with arriving
live events held back; then the backlog up to the hub's delivery point is read and sent;
then the held events newer than the backlog follow.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone

from aiohttp import web

from forum import policy
from forum.policy import Action, Actor
from forum.services import Services, accounts, live

log = logging.getLogger(__name__)

QUEUE_FRAMES = 512           # frames waiting for one client before it is told to resume
CLOSE_RESUME = 4000          # "you fell behind (or the server is busy): reconnect and resume"
CLOSE_SESSION_ENDED = 4001   # logged out, suspended, or the password changed
TYPING_SECONDS = 6
TRIM_EVERY_SECONDS = 3600


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def frame(**fields) -> str:
    return json.dumps(fields, separators=(",", ":"))


class Client:
    def __init__(self, ws: web.WebSocketResponse, actor: Actor, session_token: str | None):
        self.ws = ws
        self.actor = actor
        self.session_token = session_token
        self.channels: set[str] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_FRAMES)
        self.held: list[tuple[str, int, str]] | None = None  # live events held back during a replay
        self.seen: dict[str, int] = {}                   # channel → newest event id sent on it
        self.closing = False
        self.last_typing = 0.0
        self.sender: asyncio.Task | None = None
        self.closer: asyncio.Task | None = None

    def offer(self, text: str) -> None:
        if self.closing:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.close_soon(CLOSE_RESUME, "resume")

    def close_soon(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        # kept on the client: the loop holds only weak references to tasks
        self.closer = asyncio.get_running_loop().create_task(self.ws.close(code=code, message=reason.encode()))

    async def send_loop(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class Hub:
    def __init__(self, svc: Services):
        self.svc = svc
        self.clients: set[Client] = set()
        self.by_channel: dict[str, set[Client]] = {}
        self.delivered_id = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        _, self.delivered_id = await live.event_id_range(self.svc)
        self._tasks = [asyncio.create_task(self._pump(), name="hub-pump"),
                       asyncio.create_task(self._trim_loop(), name="hub-trim")]

    def wake(self) -> None:
        self._wake.set()

    async def close_all(self) -> None:
        """Server shutdown: every socket gets 1001 now (clients then resume elsewhere or later)."""
        await asyncio.gather(*(c.ws.close(code=1001, message=b"server shutdown") for c in list(self.clients)),
                             return_exceptions=True)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- clients ------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)
        client.sender = asyncio.get_running_loop().create_task(client.send_loop())

    async def remove(self, client: Client) -> None:
        self.clients.discard(client)
        for channel in list(client.channels):
            self._unregister(client, channel)
        if client.sender:
            client.sender.cancel()
            await asyncio.gather(client.sender, return_exceptions=True)

    def _register(self, client: Client, channel: str) -> None:
        client.channels.add(channel)
        self.by_channel.setdefault(channel, set()).add(client)
        self._presence(channel)

    def _unregister(self, client: Client, channel: str) -> None:
        client.channels.discard(channel)
        watchers = self.by_channel.get(channel)
        if watchers is not None:
            watchers.discard(client)
            if not watchers:
                del self.by_channel[channel]
        self._presence(channel)

    def _presence(self, channel: str) -> None:
        """'N reading' for a thread: ephemeral, stamped with server time, never logged."""
        if not channel.startswith("thread:"):
            return
        watchers = self.by_channel.get(channel, set())
        readers = len({c.actor.user_id or id(c) for c in watchers})
        text = frame(type="presence", channel=channel, readers=readers, at=_now())
        for client in watchers:
            client.offer(text)

    async def subscribe(self, client: Client, channels: list[str], last_event_id: int | None) -> None:
        allowed = []
        for channel in channels:
            target = await live.channel_target(self.svc, channel) if live.valid_channel(channel) else None
            if live.valid_channel(channel) and policy.can_watch(client.actor, channel, target):
                allowed.append(channel)
            else:  # unreadable and nonexistent look the same
                client.offer(frame(type="error", code="not_found", channel=channel,
                                   message="No such channel."))
        if not allowed:
            return
        replay = last_event_id is not None
        if replay:
            client.held = []
        for channel in allowed:
            self._register(client, channel)
        snapshot = self.delivered_id  # everything after this reaches the client live (held for now)
        if not replay:
            for channel in allowed:
                client.seen[channel] = max(client.seen.get(channel, 0), snapshot)
            client.offer(frame(type="subscribed", channels=allowed, last_event_id=snapshot))
            return
        try:
            oldest, _ = await live.event_id_range(self.svc)
            if oldest and last_event_id + 1 < oldest:
                for channel in allowed:  # part of what was missed is no longer kept
                    client.offer(frame(type="reset", channel=channel))
            else:
                for event in await live.backlog(self.svc, allowed, last_event_id, snapshot):
                    target = await live.channel_target(self.svc, event["channel"])
                    if policy.can_watch(client.actor, event["channel"], target):
                        self._deliver(client, event["channel"], event["id"], self._encode(event))
            for channel in allowed:
                client.seen[channel] = max(client.seen.get(channel, 0), snapshot)
            client.offer(frame(type="subscribed", channels=allowed, last_event_id=snapshot))
            held, client.held = client.held, None
            for channel, event_id, text in held:
                self._deliver(client, channel, event_id, text)
        finally:
            client.held = None

    @staticmethod
    def _deliver(client: Client, channel: str, event_id: int, text: str) -> None:
        """Send unless this event was already sent on this channel (the replay/live seam)."""
        if event_id > client.seen.get(channel, 0):
            client.offer(text)
            client.seen[channel] = event_id

    def unsubscribe(self, client: Client, channels: list[str]) -> None:
        for channel in channels:
            if channel in client.channels:
                self._unregister(client, channel)

    async def typing(self, client: Client, thread_id: int) -> None:
        channel = f"thread:{thread_id}"
        loop_time = asyncio.get_running_loop().time()
        if channel not in client.channels or loop_time - client.last_typing < 2:
            return
        thread = await live.channel_target(self.svc, channel)
        if thread is None or not policy.can(client.actor, Action.REPLY, thread):
            return
        client.last_typing = loop_time
        text = frame(type="typing", channel=channel, at=_now(), expires_in=TYPING_SECONDS,
                     user={"id": client.actor.user_id, "display_name": client.actor.display_name})
        for other in self.by_channel.get(channel, ()):
            if other is not client and policy.can_watch(other.actor, channel, thread):
                other.offer(text)

    # --- delivery -----------------------------------------------------------------------

    @staticmethod
    def _encode(event) -> str:
        # The stored payload is already JSON: it is spliced in, not parsed and dumped again.
        return ('{"type":"event","id":%d,"channel":%s,"kind":%s,"data":%s}'
                % (event["id"], json.dumps(event["channel"]), json.dumps(event["kind"]), event["payload"]))

    async def _pump(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                while True:
                    events = await live.events_after(self.svc, self.delivered_id)
                    if not events:
                        break
                    for event in events:
                        await self._dispatch(event)
            except Exception:  # keep delivering; the failed batch is retried on the next wake
                log.exception("live delivery failed")

    async def _dispatch(self, event) -> None:
        channel = event["channel"]
        if channel.startswith("user:") and event["kind"] in ("account.changed", "membership.changed"):
            await self._refresh_actors(int(channel.split(":")[1]))
        watchers = self.by_channel.get(channel)
        if watchers:
            target = await live.channel_target(self.svc, channel)
            text = self._encode(event)  # once, for every receiver
            for client in list(watchers):
                if not policy.can_watch(client.actor, channel, target):
                    continue  # checked now, not only at subscribe: removed members stop here
                if client.held is not None:
                    client.held.append((channel, event["id"], text))
                else:
                    self._deliver(client, channel, event["id"], text)
        self.delivered_id = event["id"]

    async def _refresh_actors(self, user_id: int) -> None:
        for client in [c for c in self.clients if c.actor.user_id == user_id]:
            actor, _ = await accounts.actor_for_session(self.svc, client.session_token)
            if not actor.active:
                client.close_soon(CLOSE_SESSION_ENDED, "session ended")
            client.actor = actor

    async def _trim_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(TRIM_EVERY_SECONDS)
            try:
                await live.trim(self.svc)
            except Exception:
                log.exception("trimming the event log failed")
