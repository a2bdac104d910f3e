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

from forum import policy
from forum.live.bus import LocalBus
from forum.live.socket import CLOSE_SESSION_ENDED, PING, Client, Frame, frame
from forum.policy import Action
from forum.services import Services, accounts, live

log = logging.getLogger(__name__)

QUEUE_FRAMES = 512           # frames waiting for one client before it is told to resume
CLOSE_SECONDS = 5            # a closing handshake the peer does not read is cut off after this
TYPING_SECONDS = 6
PRESENCE_DELAY = 0.5         # "N reading" changes are gathered this long, then sent once
TRIM_EVERY_SECONDS = 3600
HEARTBEAT_SECONDS = 30       # every socket is pinged this often; one that said nothing since the last ping is cut


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Hub:
    def __init__(self, svc: Services, bus=None):
        self.svc = svc
        self.bus = bus or LocalBus()  # forum/live/bus.py: the other processes, when there are any
        self.clients: set[Client] = set()
        self.by_channel: dict[str, set[Client]] = {}
        self.by_user: dict[int, set[Client]] = {}
        self._presence_due: set[str] = set()
        self._presence_changed_here: set[str] = set()
        self._presence_timer: asyncio.TimerHandle | None = None
        self._presence_task: asyncio.Task | None = None
        self.delivered_id = 0
        # for /metrics: events read from the log and dispatched, events handed to a watching
        # socket, sockets closed for falling behind (QUEUE_FRAMES)
        self.events_dispatched = self.deliveries = self.dropped = 0
        self.queue_frames = QUEUE_FRAMES    # per client; tests lower them to reach the limits fast
        self.close_seconds = CLOSE_SECONDS
        self.heartbeat_seconds = HEARTBEAT_SECONDS
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        _, self.delivered_id = await live.event_id_range(self.svc)
        await self.bus.start(self.svc.db, self.presence_elsewhere, self.typing_elsewhere)
        self._tasks = [asyncio.create_task(self._pump(), name="hub-pump"),
                       asyncio.create_task(self._trim_loop(), name="hub-trim"),
                       asyncio.create_task(self._heartbeat_loop(), name="hub-heartbeat")]

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        """Started, not stopped, and none of its loops ended (each runs until stop())."""
        return bool(self._tasks) and not self._stopping and not any(task.done() for task in self._tasks)

    async def close_all(self) -> None:
        """Server shutdown: every socket gets 1001 now (clients then resume elsewhere or later)."""
        await asyncio.gather(*(c.close(1001, "server shutdown") for c in list(self.clients)),
                             return_exceptions=True)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._presence_timer is not None:
            self._presence_timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._presence_task is not None:
            await asyncio.gather(self._presence_task, return_exceptions=True)
        await self.bus.stop()

    # --- clients ------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)
        if client.user_id:
            self.by_user.setdefault(client.user_id, set()).add(client)

    def remove(self, client: Client) -> None:
        self.clients.discard(client)
        same_user = self.by_user.get(client.user_id)
        if same_user is not None:
            same_user.discard(client)
            if not same_user:
                del self.by_user[client.user_id]
        for channel in list(client.channels):
            self._unregister(client, channel)

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

    def _presence(self, channel: str, *, here: bool = True) -> None:
        """'N reading' for a thread: ephemeral, stamped with server time, never logged. Changes
        are gathered for PRESENCE_DELAY and sent once: a thousand readers arriving together
        cost a thousand frames, not a million. Readers on other processes count too (the bus)."""
        if not channel.startswith("thread:"):
            return
        self._presence_due.add(channel)
        if here:
            self._presence_changed_here.add(channel)
        if self._presence_timer is None:
            self._presence_timer = asyncio.get_running_loop().call_later(PRESENCE_DELAY, self._send_presence)

    def presence_elsewhere(self, channel: str) -> None:
        """Another process's readers of a thread changed (forum/live/bus.py)."""
        if channel in self.by_channel:
            self._presence(channel, here=False)

    def _send_presence(self) -> None:
        self._presence_timer = None
        if self._presence_task is not None and not self._presence_task.done():
            # the last round still asks the bus: this one's channels wait for the next
            self._presence_timer = asyncio.get_running_loop().call_later(PRESENCE_DELAY, self._send_presence)
            return
        due, self._presence_due = self._presence_due, set()
        changed, self._presence_changed_here = self._presence_changed_here, set()
        self._presence_task = asyncio.get_running_loop().create_task(self._send_presence_of(due, changed))

    async def _send_presence_of(self, due: set[str], changed_here: set[str]) -> None:
        for channel in due:
            watchers = self.by_channel.get(channel, ())
            users = {c.actor.user_id for c in watchers if c.actor.user_id}
            anonymous = sum(1 for c in watchers if not c.actor.user_id)
            if channel in changed_here:
                self.bus.set_readers(channel, users, anonymous)
            if not watchers:
                continue
            try:
                readers = await self.bus.readers(channel, users, anonymous)
            except Exception:
                log.exception("counting readers failed")
                continue
            message = frame(type="presence", channel=channel, readers=readers, at=_now())
            for client in list(self.by_channel.get(channel, ())):
                client.offer(message)

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
                targets = {channel: await live.channel_target(self.svc, channel) for channel in allowed}
                for event in await live.backlog(self.svc, allowed, last_event_id, snapshot):
                    if policy.can_receive(client.actor, event["channel"], targets[event["channel"]], event["kind"]):
                        self._deliver(client, event["channel"], event["id"], self._encode(event))
            for channel in allowed:
                client.seen[channel] = max(client.seen.get(channel, 0), snapshot)
            client.offer(frame(type="subscribed", channels=allowed, last_event_id=snapshot))
            held, client.held = client.held, None
            for channel, event_id, message in held:
                self._deliver(client, channel, event_id, message)
        finally:
            client.held = None

    @staticmethod
    def _deliver(client: Client, channel: str, event_id: int, message: Frame) -> None:
        """Send unless this event was already sent on this channel (the replay/live seam)."""
        if event_id > client.seen.get(channel, 0):
            client.offer(message)
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
        if not policy.can_watch(client.actor, channel, thread) or not policy.can(client.actor, Action.REPLY, thread):
            return
        client.last_typing = loop_time
        message = frame(type="typing", channel=channel, at=_now(), expires_in=TYPING_SECONDS,
                        user={"id": client.actor.user_id, "display_name": client.actor.display_name})
        for other in self.by_channel.get(channel, ()):
            if other is not client and policy.can_receive(other.actor, channel, thread, "typing"):
                other.offer(message)
        self.bus.typing(channel, message.text)

    async def typing_elsewhere(self, channel: str, text: str) -> None:
        """Someone types on another process: the frame made anew here from its checked fields
        (nothing from Redis reaches a socket as it came), and checked for each reader."""
        if not live.valid_channel(channel) or not channel.startswith("thread:") or channel not in self.by_channel:
            return
        try:
            sent = json.loads(text)
            user = sent["user"]
            if sent.get("type") != "typing" or sent.get("channel") != channel:
                return
            message = frame(type="typing", channel=channel, at=_now(), expires_in=TYPING_SECONDS,
                            user={"id": int(user["id"]), "display_name": str(user["display_name"])[:200]})
        except (ValueError, KeyError, TypeError):
            return
        thread = await live.channel_target(self.svc, channel)
        for other in list(self.by_channel.get(channel, ())):
            if policy.can_receive(other.actor, channel, thread, "typing"):
                other.offer(message)

    # --- delivery -----------------------------------------------------------------------

    @staticmethod
    def _encode(event) -> Frame:
        # The stored payload is already JSON: it is spliced in, not parsed and dumped again.
        return Frame('{"type":"event","id":%d,"channel":%s,"kind":%s,"data":%s}'
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
            message, kind = self._encode(event), event["kind"]  # encoded once, for every receiver
            # One decision per actor, not per socket: a client's actor is immutable (a changed
            # account gets a new one), and every visitor's socket shares the same one.
            decided: dict[int, bool] = {}
            handed = 0
            for client in list(watchers):
                actor = client.actor
                allowed = decided.get(id(actor))
                if allowed is None:
                    allowed = decided[id(actor)] = policy.can_receive(actor, channel, target, kind)
                if not allowed:
                    continue  # checked now, not only at subscribe: removed members stop here
                handed += 1
                if client.held is not None:
                    client.held.append((channel, event["id"], message))
                else:
                    self._deliver(client, channel, event["id"], message)
            self.deliveries += handed
        self.events_dispatched += 1
        self.delivered_id = event["id"]

    async def _refresh_actors(self, user_id: int) -> None:
        for client in list(self.by_user.get(user_id, ())):
            actor, _ = await accounts.actor_for_session(self.svc, client.session_token)
            if not actor.active:
                client.close_soon(CLOSE_SESSION_ENDED, "session ended")
            client.actor = actor

    async def _heartbeat_loop(self) -> None:
        """One loop for all sockets, not a timer each: a peer that sent nothing, not even the
        pong to the last ping, in HEARTBEAT_SECONDS is gone (a laptop closed, a network
        dropped), and its socket is let go."""
        while not self._stopping:
            await asyncio.sleep(self.heartbeat_seconds)
            self.heartbeat()

    def heartbeat(self) -> None:
        for client in list(self.clients):
            if client.closing:
                continue
            if not client.heard:
                client.closing = True
                client.transport.abort()
                continue
            client.heard = False
            client.transport.write(PING)

    async def _trim_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(TRIM_EVERY_SECONDS)
            try:
                await live.trim(self.svc)
            except Exception:
                log.exception("trimming the event log failed")
