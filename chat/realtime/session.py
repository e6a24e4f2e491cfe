"""One client's protocol state, whatever carries its frames: who it is, the rooms
it joined, the seqs it was sent. A transport (chat.realtime.websocket,
chat.realtime.longpoll) opens a Session with a Carrier, hands it the client's
frames and the channel layer's messages, and ends it; the Session knows nothing
of sockets or HTTP.
"""

import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from django.conf import settings

from chat.domain import access, events, payloads
from chat.domain.errors import ChatError
from chat.domain.selectors.presence import users_in_dnd
from chat.domain.services import activity
from chat.infra import collector, logcontext, metrics, presence, ratelimit, worker
from chat.realtime import protocol

logger = logging.getLogger(__name__)

CONNECT_COST = 10  # request tokens a new session takes
RECENT_MAX = 256
R = TypeVar("R")


class Carrier(Protocol):
    """What carries a session's frames to its client."""

    async def send_text(self, text: str) -> None:
        """Send one frame, already JSON."""

    async def send_broadcast(self, event: dict[str, Any]) -> None:
        """Send a broadcast's frame (`event["text"]`); the carrier may keep a
        form of it in `event` for the process's other receivers."""

    async def end(self, code: int) -> None:
        """End the session with `code` (docs/PROTOCOL.md, close codes)."""

    def pause_reading(self, seconds: float) -> None:
        """Read nothing more from the client for a while (it ignored a limit)."""


class Delivered:
    """The seqs of one room this session has sent its client: every seq up to
    `floor`, and the ones in `above`. A broadcast whose seq is here is not sent
    again (a join reply already held it, or a retried send re-broadcast it)."""

    MAX_ABOVE = 1024  # past this, a gap is given up on (the client resyncs anyway)

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self.above: set[int] = set()

    def first_time(self, seq: int) -> bool:
        if seq <= self.floor or seq in self.above:
            return False
        self.above.add(seq)
        while self.floor + 1 in self.above:
            self.floor += 1
            self.above.remove(self.floor)
        if len(self.above) > self.MAX_ABOVE:
            self.floor = min(self.above)
            self.above = {s for s in self.above if s > self.floor}
        return True


async def refusal_code(user_id: Any) -> int:
    """Why a request without a logged-in user is refused: 4403 if its login
    session (`user_id`, from the session's data) is of a deactivated account
    (Django's auth shows it as anonymous), else 4401."""
    if user_id is not None:
        refused = await worker.in_db_thread(access.users_refused)([user_id])
        if refused:
            return protocol.CLOSE_FORBIDDEN
    return protocol.CLOSE_UNAUTHENTICATED


class Session:
    """A logged-in client speaking protocol v1 through one carrier."""

    user: Any = None  # set once open() admits it
    user_id: int = 0
    username = ""
    conn = ""  # the log lines' short name for it

    def __init__(self, carrier: Carrier, channel_name: str) -> None:
        self.carrier = carrier
        self.channel_name = channel_name
        self.rooms: dict[str, events.RoomRef] = {}
        # Per joined room, what the client already has.
        self.delivered: dict[str, Delivered] = {}
        self.recent: dict[tuple[str, int], None] = {}  # ordered: oldest first
        self.groups_joined: list[str] = []
        # Broadcasts that arrived while the session opened or a REPLY_FIRST frame
        # was handled, sent after it; None the rest of the time.
        self.held: list[dict[str, Any]] | None = None
        self.ended = False
        # Whether its client is in use (presence.ACTIVE): a new one is, and the
        # client says when it goes idle or comes back (set_presence).
        self.active = True

    # --- Opening and ending -----------------------------------------------------------

    async def open(self, user: Any, session_key: str | None) -> int | None:
        """Admit `user` (logged in): None, or the close code that refuses them.
        Broadcasts that arrive meanwhile wait until `flush_held`."""
        self.held = []
        try:
            # Opening a session is paid for too, from the budget its frames
            # draw on.
            await ratelimit.check(user.pk, "request", CONNECT_COST)
        except ChatError:
            return protocol.CLOSE_TOO_MANY
        if await worker.in_db_thread(access.user_is_site_banned)(user):
            return protocol.CLOSE_FORBIDDEN
        self.username = user.get_username()
        self.conn = self.channel_name[-12:]
        logcontext.bind(user=self.username, conn=self.conn)
        # Besides presence, the groups that can end this session: its user's
        # (bans, a deactivated account, a new password) and its login session's
        # (logging out).
        self.groups_joined = [events.user_group(user.pk), events.PRESENCE_GROUP]
        if session_key:
            self.groups_joined.append(events.session_group(session_key))
        try:
            sessions, first_active = await self.go_online()
        except worker.LAYER_ERRORS as error:
            worker.layer_failed(error)
            logger.warning("refused: the channel layer is down")
            return protocol.CLOSE_TRY_AGAIN_LATER
        self.user = user
        # Read through the lazy scope user once: frames out compare it per frame.
        self.user_id = user.pk
        worker.socket_opened(self)
        start_jobs()
        metrics.sockets_opened.inc()
        logger.info("connected (%d sockets of this user)", sessions)
        if sessions > settings.CHAT_MAX_SOCKETS_PER_USER:
            return protocol.CLOSE_TOO_MANY
        # Who is online: a user's first session, or first active one (the others
        # were idle), hears it from the announcement of the change (within
        # CHAT_PRESENCE_COALESCE), the others at once.
        if sessions == 1 or first_active:
            await announce_online()
        else:
            [update] = await presence_lists()
            await self.send_frame(update.frame())
        return None

    async def go_online(self) -> tuple[int, bool]:
        """Join this session's groups and the site's presence, as active: the
        user's sessions, and whether this is their only active one."""
        layer = worker.channel_layer()
        for group in self.groups_joined:
            await layer.group_add(group, self.channel_name)
        store = presence.store()
        sessions = await store.enter(presence.SITE, self.username, self.channel_name)
        active = await store.enter(presence.ACTIVE, self.username, self.channel_name)
        return sessions, active == 1

    async def leave(self, code: int) -> None:
        """The client is gone (closed with `code`): leave its rooms and the site."""
        self.ended = True
        if self.user is None:
            return
        worker.socket_closed(self)
        metrics.sockets_closed.labels(code=str(code)).inc()
        logger.info("disconnected with %s", code)
        for joined in list(self.rooms.values()):
            await guarded(self.exit_room(joined))
        await guarded(self.go_offline())

    async def go_offline(self) -> None:
        layer = worker.channel_layer()
        for group in self.groups_joined:
            await layer.group_discard(group, self.channel_name)
        store = presence.store()
        was_last_active = self.active and await store.leave(
            presence.ACTIVE, self.username, self.channel_name
        )
        if await store.leave(presence.SITE, self.username, self.channel_name):
            await announce_online()
            # "Last seen": one write per user going offline, not per socket.
            seen = worker.in_db_thread(activity.users_seen_last)
            await seen(usernames=[self.username])
        elif was_last_active:
            await announce_online()  # still online, now idle

    async def set_active(self, active: bool) -> None:
        """Its client is in use again, or no longer (set_presence): the others
        are told when that changes the user's status."""
        if active == self.active:
            return
        self.active = active
        store = presence.store()
        entry = presence.ACTIVE, self.username, self.channel_name
        if active:
            changed = await store.enter(*entry) == 1
        else:
            changed = await store.leave(*entry)
        if changed:
            await announce_online()

    async def close(self, code: int) -> None:
        await self.carrier.end(code)

    async def restart(self) -> None:
        """Close so that the client comes back (to any worker) and resyncs."""
        await self.close(protocol.CLOSE_SERVICE_RESTART)

    def presence_entry(self) -> presence.Entry:
        scopes = [presence.SITE] + [
            presence.room_scope(r.id)
            for r in self.rooms.values()
            if not r.is_conversation
        ]
        if self.active:
            scopes.append(presence.ACTIVE)
        return scopes, self.username, self.channel_name

    # --- Frames out -------------------------------------------------------------------

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.carrier.send_text(payloads.encode(frame))

    async def send_error(self, error: ChatError, ack: protocol.AckId | None) -> None:
        metrics.errors.labels(code=error.code).inc()
        if error.code not in ("rate_limited", "unavailable", "server_error"):
            logger.info("error %s", error.code)
        await self.send_frame(protocol.error_frame(error, ack))

    def hold(self) -> None:
        """Keep broadcasts back until `flush_held`: the reply being made covers
        them, and must reach the client first."""
        self.held = []

    async def flush_held(self) -> None:
        held = self.held or []
        while held:
            await self.on_event(held.pop(0))
        self.held = None

    async def deliver(self, message: dict[str, Any]) -> bool:
        """The layer's direct path (chat.infra.fast.layers): a broadcast for this
        session, straight from the process's one copy of it. Orders are queued."""
        if message["type"] != events.EVENT_TYPE:
            return False
        if self.held is not None:
            self.held.append(message)
        else:
            await self.on_event(message)
        return True

    async def on_event(self, event: dict[str, Any]) -> None:
        """A broadcast from the channel layer: sent unless the client has it."""
        if self.user is None or self.ended:  # refused, or gone
            return
        if event["skip_user"] is not None and event["skip_user"] == self.user_id:
            return
        if event["seq"] is not None and not self.first_time(
            event["room"], event["seq"]
        ):
            return
        await self.carrier.send_broadcast(event)

    def first_time(self, room: str, seq: int) -> bool:
        """False for a room change this session has already sent its client."""
        if (delivered := self.delivered.get(room)) is not None:
            return delivered.first_time(seq)
        # A conversation the session has not joined still hears its direct
        # messages (and their re-broadcasts): remember the latest few.
        if (room, seq) in self.recent:
            return False
        self.recent[(room, seq)] = None
        if len(self.recent) > RECENT_MAX:
            del self.recent[next(iter(self.recent))]
        return True

    async def on_control(self, event: dict[str, Any]) -> None:
        """An order from the domain (a kick, the end of the user's sessions)."""
        if self.user is None or self.ended:
            return
        if event["action"] == "close":
            await self.close(protocol.CLOSE_FOR_END[event["why"]])
        elif event["action"] == "kick":
            if (joined := self.rooms.get(event["room"])) is not None:
                await self.exit_room(joined)
            kicked = {key: event[key] for key in ("room", "reason", "by")}
            await self.send_frame(payloads.event_frame("kicked", kicked))
        elif event["action"] == "left":  # the user left the room for good
            if (joined := self.rooms.get(event["room"])) is not None:
                await self.exit_room(joined)
            room_left = payloads.event_frame("room_left", {"room": event["room"]})
            await self.send_frame(room_left)
        elif event["action"] == "audience":
            await self.room_audience_changed(event["room"], event["audience"])
        elif event["action"] == "presence":  # do-not-disturb changed
            await announce_online()

    # --- The domain -------------------------------------------------------------------

    async def call(self, fn: Callable[..., R], **kwargs: Any) -> R:
        """Run a domain function off the event loop; send what it broadcast (what
        it did is committed then: a failed broadcast does not fail the call).

        A user's calls take at most CHAT_DB_THREADS_PER_USER of the worker's
        database threads at once, however many sessions they open: the rest of
        the threads stay free for everyone else."""
        async with worker.db_turn(self.user_id):
            run = worker.in_db_thread(events.collecting(fn))
            result, broadcasts = await run(**kwargs)
        await worker.send_committed(broadcasts)
        return result

    # --- Rooms ------------------------------------------------------------------------

    async def enter_room(self, joined: events.RoomRef) -> bool:
        """Join the room's group and presence; True if the user was not there yet."""
        already = joined.name in self.rooms
        self.rooms[joined.name] = joined
        if already or joined.is_conversation:
            return False
        await worker.channel_layer().group_add(
            events.room_group(joined.id), self.channel_name
        )
        sessions = await presence.store().enter(
            presence.room_scope(joined.id), self.username, self.channel_name
        )
        return sessions == 1

    async def exit_room(self, joined: events.RoomRef) -> None:
        del self.rooms[joined.name]
        self.delivered.pop(joined.name, None)
        if joined.is_conversation:
            return
        await worker.channel_layer().group_discard(
            events.room_group(joined.id), self.channel_name
        )
        scope = presence.room_scope(joined.id)
        if await presence.store().leave(scope, self.username, self.channel_name):
            await events.send(
                activity.member_left(
                    room=joined, user_id=self.user_id, username=self.username
                )
            )
            await announce_room_users(joined)

    async def room_audience_changed(self, name: str, audience: list[str]) -> None:
        """A group conversation's members changed: what this session sends to it
        (typing) goes to the new members; a session of one who left leaves it."""
        if (joined := self.rooms.get(name)) is None:
            return
        if events.user_group(self.user_id) in audience:
            self.rooms[name] = dataclasses.replace(joined, audience=audience)
        else:
            await self.exit_room(joined)

    def joined_room(self, name: str) -> events.RoomRef:
        joined = self.rooms.get(name)
        if joined is None:
            raise ChatError("forbidden", "join the room first")
        return joined


async def guarded(work: Awaitable[Any]) -> None:
    """Await clean-up work that must not stop the rest when Redis is away."""
    try:
        await work
    except Exception:
        logger.exception("clean-up failed")


# --- This worker's periodic jobs over its sessions ------------------------------------


def start_jobs() -> None:
    worker.every(settings.CHAT_PRESENCE_HEARTBEAT / 2, presence_sweep, key="presence")
    worker.every(settings.CHAT_PRESENCE_HEARTBEAT, presence_heartbeat, key="heartbeat")
    worker.every(settings.CHAT_ACCOUNT_CHECK, accounts_check, key="accounts")
    if collector.is_on():
        worker.every(collector.interval, collector.collect, key="gc")


async def presence_sweep(sessions: list[Session]) -> None:
    """Drop the users whose sessions all expired (their worker died) from the site,
    the active and the rooms this worker's sessions are in, and tell the clients;
    and tell them again when someone's do-not-disturb has ended."""
    store = presence.store()
    gone = await store.sweep(presence.SITE)
    no_longer_active = await store.sweep(presence.ACTIVE)
    dnd_ended = _dnd_ends.get("first", math.inf) <= time.time()
    if gone or no_longer_active or dnd_ended:
        _dnd_ends.pop("first", None)
        await announce_online()
    if gone:
        await worker.in_db_thread(activity.users_seen_last)(usernames=gone)
    rooms = {
        r.id: r for s in sessions for r in s.rooms.values() if not r.is_conversation
    }
    for joined in rooms.values():
        if await presence.store().sweep(presence.room_scope(joined.id)):
            await announce_room_users(joined)


async def accounts_check(sessions: list[Session]) -> None:
    """End the sessions of users who may no longer chat. Deactivating an account
    or banning it in admin ends them at once (chat.domain.events); this catches
    every other path, in one query per worker."""
    by_user: dict[int, list[Session]] = {}
    for session in sessions:
        if session.user is not None:
            by_user.setdefault(session.user_id, []).append(session)
    if not by_user:
        return
    refused = await worker.in_db_thread(access.users_refused)(list(by_user))
    for user_id in refused:
        for session in by_user[user_id]:
            await session.close(protocol.CLOSE_FORBIDDEN)


async def presence_heartbeat(sessions: list[Session]) -> None:
    """Keep this worker's sessions online: their entries expire otherwise."""
    await presence.store().refresh(
        [s.presence_entry() for s in sessions if s.user is not None]
    )


# Who is online goes to every session as a full list. When many users come and go
# at once (a worker restarts, a morning rush), each worker sends one list per
# CHAT_PRESENCE_COALESCE seconds rather than one per change to every session.
async def announce_online() -> None:
    async def send_list() -> None:
        await events.send(await presence_lists())

    await worker.coalesce("online", settings.CHAT_PRESENCE_COALESCE, send_list)


# When the soonest do-not-disturb of those last announced ends (a timestamp):
# the sweep announces again then. Per process: any worker's sweep will do.
_dnd_ends: dict[str, float] = {}


async def presence_lists() -> list[events.Broadcast]:
    """presence_update as it is now: who is online (the store), which of them
    have no session in use, and which do not want to be disturbed (one query)."""
    store = presence.store()
    online = await store.members(presence.SITE)
    active = set(await store.members(presence.ACTIVE))
    dnd = await worker.in_db_thread(users_in_dnd)(usernames=online)
    if dnd.first_end is not None:
        end = dnd.first_end.timestamp()
        _dnd_ends["first"] = min(_dnd_ends.get("first", math.inf), end)
    idle = [name for name in online if name not in active]
    return activity.online_changed(online=online, idle=idle, dnd=dnd.usernames)


async def announce_room_users(joined: events.RoomRef) -> None:
    async def send_list() -> None:
        users = await presence.store().members(presence.room_scope(joined.id))
        await events.send(activity.room_users_changed(room=joined, users=users))

    key = f"room_users.{joined.id}"
    await worker.coalesce(key, settings.CHAT_PRESENCE_COALESCE, send_list)
