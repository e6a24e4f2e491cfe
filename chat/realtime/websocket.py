"""The chat socket: one per browser tab, speaking protocol v1 (docs/PROTOCOL.md).

It only parses frames, calls the domain (services, selectors), and talks to the
channel layer. The domain runs in `call`, the one sync-to-async seam, which sends
the broadcasts a service committed once it returns.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from chat.domain import access, events, payloads, selectors, services
from chat.domain.errors import ChatError
from chat.domain.rules import room_ref_clean
from chat.domain.services import moderation
from chat.infra import logcontext, metrics, presence, ratelimit, worker, writer
from chat.infra.fast import wire
from chat.realtime import protocol

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = protocol.CLOSE_UNAUTHENTICATED
CLOSE_FORBIDDEN = protocol.CLOSE_FORBIDDEN
CLOSE_TOO_MANY_SOCKETS = protocol.CLOSE_TOO_MANY
CLOSE_TOO_BIG = protocol.CLOSE_TOO_BIG
CLOSE_TRY_AGAIN_LATER = protocol.CLOSE_TRY_AGAIN_LATER
CONNECT_COST = 10  # request tokens a new socket takes
# Longest pause in reading a rate-limited client's frames: well inside the ping
# timeout, since its pongs wait too.
PAUSE_MAX = 5.0

RECENT_MAX = 256
# Events whose reply must reach the client before the broadcasts that arrive while
# they are handled: a join's history and seq cover them (the client learns the room
# from the reply). Other broadcasts go out as they come, a sender's own included:
# holding them behind its ack cost every member up to an ack's time under load.
REPLY_FIRST = frozenset({"join_room"})
Reply = dict[str, Any]
Handler = Callable[["ChatConsumer", dict[str, Any]], Awaitable[Reply]]
HANDLERS: dict[str, Handler] = {}
R = TypeVar("R")


Cost = float | Callable[[dict[str, Any]], float]


@dataclass(frozen=True)
class Charge:
    """What a client event takes from its user's budgets (chat.infra.ratelimit): `cost`
    tokens of the "request" budget every event draws on, and one token of the
    event's own kind, if it has one. An event that `stores` a change is paid for
    as the last step before storing (worker.before_storing): within a deadline,
    and only while the layer can broadcast the change."""

    cost: Cost = 1
    kind: str | None = None
    stores: bool = False

    def of(self, data: dict[str, Any]) -> float:
        return self.cost(data) if callable(self.cost) else self.cost


CHARGES: dict[str, Charge] = {}


def handles(
    event: str, cost: Cost = 1, kind: str | None = None, stores: bool = False
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[event] = handler
        CHARGES[event] = Charge(cost, kind, stores)
        return handler

    return register


def rows_cost(rows: int) -> float:
    """A read's cost in request tokens: one, and one for every ten rows."""
    return 1 + rows / 10


def history_cost(data: dict[str, Any]) -> float:
    limit = data.get("limit")
    if type(limit) is not int or not 1 <= limit <= settings.CHAT_HISTORY_MAX_PAGE:
        limit = settings.CHAT_HISTORY_PAGE  # what is read, if the frame passes
    return rows_cost(limit)


def join_cost(data: dict[str, Any]) -> float:
    # A history page, or a resync of up to CHAT_RESYNC_MAX changes.
    if data.get("after") is None:
        return rows_cost(settings.CHAT_HISTORY_PAGE)
    return rows_cost(settings.CHAT_RESYNC_MAX)


class Delivered:
    """The seqs of one room this socket has sent its client: every seq up to
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


@dataclass(frozen=True)
class JoinedRoom:
    id: int
    name: str
    is_direct: bool
    audience: list[str]  # the groups that hear this room's events


class ChatConsumer(AsyncWebsocketConsumer):
    user: Any = None
    username = ""
    # The server's connection (chat.infra.fast.wire), when the server is one we
    # know: frames are written straight to it, and what waits for the client is bounded.
    link: wire.Link | None = None
    # Closed for not reading (CHAT_MAX_SOCKET_BUFFER): nothing more is sent.
    overloaded = False
    # Broadcasts that arrived while the socket connected or a REPLY_FIRST frame
    # was handled, sent after it; None the rest of the time.
    held: list[dict[str, Any]] | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels 4.2+ runs aclose_old_connections() before every handler: a hop
        # to the worker's sync thread for each frame in or out, which capped a
        # worker at ~2,000 deliveries/s (docs/BENCHMARKS.md). Every database call
        # here goes through in_db_thread, which closes stale connections itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    # --- Connection -------------------------------------------------------------------

    async def connect(self) -> None:
        self.held = []
        try:
            await self.open()
        finally:
            await self.send_held()

    async def open(self) -> None:
        self.link = wire.link_for(self.base_send)
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=await self.refusal_code())
            return
        try:
            # Opening a socket is paid for too, from the budget its frames
            # draw on.
            await ratelimit.check(user.pk, "request", CONNECT_COST)
        except ChatError:
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        if await worker.in_db_thread(access.user_is_site_banned)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.username = user.get_username()
        logcontext.bind(user=self.username, conn=self.channel_name[-12:])
        self.rooms: dict[str, JoinedRoom] = {}
        # Per joined room, what the client already has.
        self.delivered: dict[str, Delivered] = {}
        self.recent: dict[tuple[str, int], None] = {}  # ordered: oldest first
        # Besides presence, the groups that can order this socket closed: its
        # user's (bans, a deactivated account, a new password) and its login
        # session's (logging out).
        self.groups_joined = [events.user_group(user.pk), events.PRESENCE_GROUP]
        if session_key := self.scope["session"].session_key:
            self.groups_joined.append(events.session_group(session_key))
        if attach := getattr(self.channel_layer, "attach", None):
            attach(self.channel_name, self)  # held until connect is done
        try:
            sockets = await self.go_online()
        except worker.LAYER_ERRORS as error:
            worker.layer_failed(error)
            logger.warning("refused: the channel layer is down")
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        self.user = user
        # Read through the lazy scope user once: frames out compare it per frame.
        self.user_id = user.pk
        worker.socket_opened(self)
        worker.every(
            settings.CHAT_PRESENCE_HEARTBEAT / 2, presence_sweep, key="presence"
        )
        worker.every(
            settings.CHAT_PRESENCE_HEARTBEAT, presence_heartbeat, key="heartbeat"
        )
        worker.every(settings.CHAT_ACCOUNT_CHECK, accounts_check, key="accounts")
        metrics.sockets_opened.inc()
        logger.info("connected (%d sockets of this user)", sockets)
        if sockets > settings.CHAT_MAX_SOCKETS_PER_USER:
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        # Who is online: a user's first socket hears it from the announcement of
        # their arrival (within CHAT_PRESENCE_COALESCE), the others at once.
        if sockets == 1:
            await announce_online()
        else:
            online = {"online": await presence.store().members(presence.SITE)}
            await self.send_frame(payloads.event_frame("presence_update", online))

    async def refusal_code(self) -> int:
        """Why an anonymous handshake is refused: 4403 if its session is of a
        deactivated account (Django's auth shows it as anonymous), else 4401."""
        user_id = self.scope["session"].get(SESSION_KEY)
        if user_id is not None:
            refused = await worker.in_db_thread(access.users_refused)([user_id])
            if refused:
                return CLOSE_FORBIDDEN
        return CLOSE_UNAUTHENTICATED

    async def go_online(self) -> int:
        """Join this socket's groups and the site's presence; the user's sockets."""
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        return await presence.store().enter(
            presence.SITE, self.username, self.channel_name
        )

    async def disconnect(self, code: int) -> None:
        if detach := getattr(self.channel_layer, "detach", None):
            detach(self.channel_name)
        if self.user is None:
            return
        worker.socket_closed(self)
        metrics.sockets_closed.labels(code=str(code)).inc()
        logger.info("disconnected with %s", code)
        for joined in list(self.rooms.values()):
            await self.guarded(self.exit_room(joined))
        await self.guarded(self.go_offline())

    async def go_offline(self) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if await presence.store().leave(
            presence.SITE, self.username, self.channel_name
        ):
            await announce_online()

    def presence_entry(self) -> presence.Entry:
        scopes = [presence.SITE] + [
            presence.room_scope(r.id) for r in self.rooms.values() if not r.is_direct
        ]
        return scopes, self.username, self.channel_name

    async def guarded(self, work: Awaitable[Any]) -> None:
        """Await clean-up work that must not stop the rest when Redis is away."""
        try:
            await work
        except Exception:
            logger.exception("clean-up failed")

    # --- Frames in --------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if self.user is None:
            return
        try:
            await self.handle(text_data, bytes_data)
        finally:
            await self.send_held()

    async def handle(self, text_data: str | None, bytes_data: bytes | None) -> None:
        ack = None
        event = "-"
        started = time.perf_counter()
        if too_big(text_data if text_data is not None else bytes_data or b""):
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            if text_data is None:
                raise ChatError(
                    "bad_frame", "binary frames are not supported; send JSON text"
                )
            frame = protocol.parse_frame(text_data)
            ack = frame.ack
            handler = HANDLERS.get(frame.event)
            if handler is None:
                raise ChatError("unknown_event", f"unknown event '{frame.event[:50]}'")
            event = frame.event
            await self.charge(event, frame.data)
            if event in REPLY_FIRST:
                self.held = []
            reply = await handler(self, frame.data)
            if ack is not None:
                await self.send_frame(protocol.ack_frame(ack, **reply))
        except ChatError as error:
            await self.send_error(error, error.extra.get("ack", ack))
        except worker.LAYER_ERRORS as error:
            worker.layer_failed(error)
            await self.send_error(worker.unavailable(), ack)
        except Exception:
            logger.exception("%s failed", event)
            error = ChatError("server_error", "the server could not handle this frame")
            await self.send_error(error, ack)
        if event in HANDLERS:
            metrics.ack_latency_of(event).observe(time.perf_counter() - started)

    async def charge(self, event: str, data: dict[str, Any]) -> None:
        """Take what `event` costs from the user's budgets, or raise rate_limited:
        every event is paid for, so no kind of frame can be sent without bound."""
        charge = CHARGES[event]
        try:
            if charge.stores:
                await worker.before_storing(self.pay, charge, data)
            else:
                await self.pay(charge, data)
        except ChatError as error:
            if error.code == "rate_limited" and self.link is not None:
                # Read nothing more from this client until it may be let in:
                # one that ignores retryAfter (a loop asking again at once) then
                # costs a refusal per retryAfter, not one per round trip.
                self.link.pause_reading(min(error.extra["retryAfter"], PAUSE_MAX))
            raise

    async def pay(self, charge: Charge, data: dict[str, Any]) -> None:
        request = ratelimit.check(self.user_id, "request", charge.of(data))
        if charge.kind is None:
            await request
            return
        # Both takes in the same round trip to Redis (chat.infra.fast.batching).
        taken = await asyncio.gather(
            request, ratelimit.check(self.user_id, charge.kind), return_exceptions=True
        )
        for outcome in taken:
            if isinstance(outcome, BaseException):
                raise outcome

    async def send_error(self, error: ChatError, ack: int | None) -> None:
        metrics.errors.labels(code=error.code).inc()
        if error.code not in ("rate_limited", "unavailable", "server_error"):
            logger.info("error %s", error.code)
        await self.send_frame(protocol.error_frame(error, ack))

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.transmit(payloads.encode(frame))

    async def transmit(self, text: str, frame: bytes | None = None) -> None:
        """Send `text` (already framed as `frame`, when given): every frame out
        passes here, so that what waits for a client that does not read is bounded
        whichever way it goes out."""
        if (link := self.link) is None:
            await self.base_send({"type": "websocket.send", "text": text})
            return
        if self.overloaded:
            return
        if frame is None:
            frame = wire.text_frame(text)
        # A frame always goes out to a client that has read everything before it,
        # however long (a history page of long messages may pass the bound alone).
        pending = link.pending()
        if pending and pending + len(frame) > settings.CHAT_MAX_SOCKET_BUFFER:
            self.close_overloaded()
        elif not link.write(frame):
            await self.base_send({"type": "websocket.send", "text": text})

    def close_overloaded(self) -> None:
        """The client has stopped reading: close its socket with 1013 rather than
        queue more for it. It reconnects and resyncs, so it loses nothing."""
        self.overloaded = True
        logger.warning(
            "closed with %d: more than %d bytes waiting for the client",
            CLOSE_TRY_AGAIN_LATER,
            settings.CHAT_MAX_SOCKET_BUFFER,
        )
        metrics.sockets_overloaded.inc()
        self.link.close_overloaded(CLOSE_TRY_AGAIN_LATER)

    async def call(self, fn: Callable[..., R], **kwargs: Any) -> R:
        """Run a domain function off the event loop; send what it broadcast (what it
        did is committed then: a failed broadcast does not fail the call).

        A user's calls take at most CHAT_DB_THREADS_PER_USER of the worker's
        database threads at once, however many sockets they open: the rest of the
        threads stay free for everyone else."""
        async with worker.db_turn(self.user_id):
            run = worker.in_db_thread(events.collecting(fn))
            result, broadcasts = await run(**kwargs)
        await worker.send_committed(broadcasts)
        return result

    # --- Frames out: channel-layer events -----------------------------------------

    async def deliver(self, message: dict[str, Any]) -> bool:
        """The layer's direct path (chat.infra.fast.layers): a broadcast for this
        socket, straight from the process's one copy of it. Other orders are queued."""
        if message["type"] != events.EVENT_TYPE:
            return False
        if self.held is not None:
            self.held.append(message)
        else:
            await self.chat_event(message)
        return True

    async def close(self, code: int | bool | None = None, reason: str | None = None):
        if self.overloaded:  # its close frame is out already
            return
        await super().close(code=code, reason=reason)

    async def send_held(self) -> None:
        held = self.held or []
        while held:
            await self.chat_event(held.pop(0))
        self.held = None

    async def chat_event(self, event: dict[str, Any]) -> None:
        if self.user is None:  # the socket was refused, or is gone
            return
        if event["skip_user"] is not None and event["skip_user"] == self.user_id:
            return
        if event["seq"] is not None and not self.first_time(
            event["room"], event["seq"]
        ):
            return
        # The one copy of this broadcast in the process (chat.infra.fast.layers)
        # keeps its frame for the other members.
        frame = event.get("frame")
        if frame is None and self.link is not None:
            frame = event["frame"] = wire.text_frame(event["text"])
        await self.transmit(event["text"], frame)

    def first_time(self, room: str, seq: int) -> bool:
        """False for a room change this socket has already sent its client."""
        if (delivered := self.delivered.get(room)) is not None:
            return delivered.first_time(seq)
        # A conversation the socket has not joined still hears its direct messages
        # (and their re-broadcasts): remember the latest few.
        if (room, seq) in self.recent:
            return False
        self.recent[(room, seq)] = None
        if len(self.recent) > RECENT_MAX:
            del self.recent[next(iter(self.recent))]
        return True

    async def chat_control(self, event: dict[str, Any]) -> None:
        """An order from the domain (a kick, the end of the user's sessions) to
        this user's sockets."""
        if event["action"] == "close":
            await self.close(code=protocol.CLOSE_FOR_END[event["why"]])
        elif event["action"] == "kick":
            if (joined := self.rooms.get(event["room"])) is not None:
                await self.exit_room(joined)
            kicked = {key: event[key] for key in ("room", "reason", "by")}
            await self.send_frame(payloads.event_frame("kicked", kicked))

    # --- Rooms ------------------------------------------------------------------------

    @handles("join_room", cost=join_cost, kind="join")
    async def on_join_room(self, data: dict[str, Any]) -> Reply:
        name = protocol.str_field(data, "room", max_length=64)
        after = protocol.int_field(data, "after", required=False, minimum=0)
        at_cap = len(self.rooms) >= settings.CHAT_MAX_ROOMS_PER_SOCKET
        if at_cap and room_ref_clean(name) not in self.rooms:
            limit = settings.CHAT_MAX_ROOMS_PER_SOCKET
            raise ChatError("invalid", f"a socket can be in at most {limit} rooms")
        room = await self.call(services.room_join, user=self.user, name=name)
        joined = JoinedRoom(
            room.pk, room.name, room.is_direct, events.room_audience(room)
        )
        first_here = await self.enter_room(joined)
        # The socket is in the room's group before history is read: nothing falls
        # between the two, and the floor drops what both would deliver.
        sync = await self.call(selectors.room_sync, room=room, after=after)
        self.delivered[room.name] = Delivered(sync.seq)
        users = await self.room_users(joined, sync.direct_members)
        if first_here:
            await events.broadcast(
                joined.audience,
                "user_joined",
                {"room": room.name, "username": self.username, "time": payloads.now()},
                skip_user_id=self.user_id,
            )
            await announce_room_users(joined)
        return {
            "status": "ok",
            "room": room.name,
            "kind": room.kind,
            "topic": room.topic,
            "history": sync.messages,
            "hasMore": sync.has_more,
            "users": users,
            "seq": sync.seq,
        }

    @handles("leave_room")
    async def on_leave_room(self, data: dict[str, Any]) -> Reply:
        name = room_ref_clean(protocol.str_field(data, "room", max_length=64))
        joined = self.rooms.get(name)
        if joined is not None:
            await self.exit_room(joined)
        return {"status": "ok", "room": name}

    async def enter_room(self, joined: JoinedRoom) -> bool:
        """Join the room's group and presence; True if the user was not there yet."""
        already = joined.name in self.rooms
        self.rooms[joined.name] = joined
        if already or joined.is_direct:
            return False
        await self.channel_layer.group_add(
            events.room_group(joined.id), self.channel_name
        )
        sockets = await presence.store().enter(
            presence.room_scope(joined.id), self.username, self.channel_name
        )
        return sockets == 1

    async def exit_room(self, joined: JoinedRoom) -> None:
        del self.rooms[joined.name]
        self.delivered.pop(joined.name, None)
        if joined.is_direct:
            return
        await self.channel_layer.group_discard(
            events.room_group(joined.id), self.channel_name
        )
        scope = presence.room_scope(joined.id)
        if await presence.store().leave(scope, self.username, self.channel_name):
            await events.broadcast(
                joined.audience,
                "user_left",
                {
                    "room": joined.name,
                    "username": self.username,
                    "time": payloads.now(),
                },
                skip_user_id=self.user_id,
            )
            await announce_room_users(joined)

    async def room_users(
        self, joined: JoinedRoom, direct_members: list[str]
    ) -> list[str]:
        if joined.is_direct:
            online = set(await presence.store().members(presence.SITE))
            return [name for name in direct_members if name in online]
        return await presence.store().members(presence.room_scope(joined.id))

    def joined_room(self, data: dict[str, Any]) -> JoinedRoom:
        name = room_ref_clean(protocol.str_field(data, "room", max_length=64))
        joined = self.rooms.get(name)
        if joined is None:
            raise ChatError("forbidden", "join the room first")
        return joined

    # --- Messages ---------------------------------------------------------------------

    @handles("send_message", kind="message", stores=True)
    async def on_send_message(self, data: dict[str, Any]) -> Reply:
        room = protocol.str_field(data, "room", max_length=64)
        fields = new_message(data)
        joined = self.rooms.get(room_ref_clean(room))
        draft = services.message_draft(
            user=self.user,
            room_id=joined.id if joined else None,
            room_name=room,
            **fields,
        )
        sent = await writer.message_send(draft)
        metrics.room_messages.inc()
        return delivered(sent)

    @handles("private_message", kind="message", stores=True)
    async def on_private_message(self, data: dict[str, Any]) -> Reply:
        to_username = protocol.str_field(data, "toUsername", max_length=150)
        sent = await self.call(
            services.direct_message_send,
            user=self.user,
            to_username=to_username,
            **new_message(data),
        )
        metrics.direct_messages.inc()
        return delivered(sent)

    @handles("edit_message", kind="message", stores=True)
    async def on_edit_message(self, data: dict[str, Any]) -> Reply:
        message_id = protocol.int_field(data, "id", minimum=1)
        body = protocol.text_field(data, "message")
        message = await self.call(
            services.message_edit, user=self.user, message_id=message_id, body=body
        )
        return {"status": "ok", "id": message.pk, "seq": message.changed_seq}

    @handles("delete_message", kind="message", stores=True)
    async def on_delete_message(self, data: dict[str, Any]) -> Reply:
        message_id = protocol.int_field(data, "id", minimum=1)
        message = await self.call(
            services.message_delete, user=self.user, message_id=message_id
        )
        return {"status": "ok", "id": message.pk, "seq": message.changed_seq}

    @handles("typing", kind="typing")
    async def on_typing(self, data: dict[str, Any]) -> Reply:
        joined = self.joined_room(data)
        is_typing = protocol.bool_field(data, "isTyping")
        await events.broadcast(
            joined.audience,
            "user_typing",
            {"room": joined.name, "username": self.username, "isTyping": is_typing},
            skip_user_id=self.user_id,
        )
        return {"status": "ok"}

    # --- Reads ------------------------------------------------------------------------

    @handles("get_history", cost=history_cost)
    async def on_get_history(self, data: dict[str, Any]) -> Reply:
        room = protocol.str_field(data, "room", max_length=64)
        before = protocol.int_field(data, "before", required=False, minimum=1)
        limit = protocol.int_field(
            data,
            "limit",
            required=False,
            minimum=1,
            maximum=settings.CHAT_HISTORY_MAX_PAGE,
        )
        page = await self.call(
            selectors.history_page,
            user=self.user,
            room_name=room,
            before_id=before,
            limit=limit or settings.CHAT_HISTORY_PAGE,
        )
        return {"status": "ok", **page}

    @handles("mark_read")
    async def on_mark_read(self, data: dict[str, Any]) -> Reply:
        room = protocol.str_field(data, "room", max_length=64)
        message_id = protocol.int_field(data, "messageId", minimum=1)
        unread = await self.call(
            services.room_mark_read,
            user=self.user,
            room_name=room,
            message_id=message_id,
        )
        return {"status": "ok", "unread": unread}

    @handles("list_rooms", cost=rows_cost(100))
    async def on_list_rooms(self, data: dict[str, Any]) -> Reply:
        rooms = await self.call(selectors.rooms_of_user, user=self.user)
        return {"status": "ok", "rooms": rooms}

    # --- Moderation ----------------------------------------------------------------

    @handles("kick_user", kind="moderation")
    async def on_kick_user(self, data: dict[str, Any]) -> Reply:
        await self.call(moderation.room_kick, actor=self.user, **moderated(data))
        return {"status": "ok"}

    @handles("mute_user", kind="moderation")
    async def on_mute_user(self, data: dict[str, Any]) -> Reply:
        minutes = protocol.int_field(
            data, "minutes", minimum=1, maximum=moderation.MUTE_MAX_MINUTES
        )
        mute = await self.call(
            moderation.room_mute_for,
            actor=self.user,
            minutes=minutes,
            **moderated(data),
        )
        return {"status": "ok", "until": payloads.iso(mute.expires_at)}

    @handles("ping")
    async def on_ping(self, data: dict[str, Any]) -> Reply:
        return {"status": "ok"}


async def presence_sweep(sockets: list[ChatConsumer]) -> None:
    """Drop the users whose sockets all expired (their worker died) from the site
    and from the rooms this worker's sockets are in, and tell the clients."""
    if await presence.store().sweep(presence.SITE):
        await announce_online()
    rooms = {r.id: r for s in sockets for r in s.rooms.values() if not r.is_direct}
    for joined in rooms.values():
        if await presence.store().sweep(presence.room_scope(joined.id)):
            await announce_room_users(joined)


async def accounts_check(sockets: list[ChatConsumer]) -> None:
    """Close the sockets of users who may no longer chat. Deactivating an account
    or banning it in admin closes its sockets at once (chat.domain.events); this
    catches every other path, in one query per worker."""
    by_user: dict[int, list[ChatConsumer]] = {}
    for socket in sockets:
        if socket.user is not None:
            by_user.setdefault(socket.user_id, []).append(socket)
    if not by_user:
        return
    refused = await worker.in_db_thread(access.users_refused)(list(by_user))
    for user_id in refused:
        for socket in by_user[user_id]:
            await socket.close(code=CLOSE_FORBIDDEN)


async def presence_heartbeat(sockets: list[ChatConsumer]) -> None:
    """Keep this worker's sockets online: their entries expire otherwise."""
    await presence.store().refresh(
        [s.presence_entry() for s in sockets if s.user is not None]
    )


# Who is online goes to every socket as a full list. When many users come and go
# at once (a worker restarts, a morning rush), each worker sends one list per
# CHAT_PRESENCE_COALESCE seconds rather than one per change to every socket.
async def announce_online() -> None:
    async def send_list() -> None:
        online = await presence.store().members(presence.SITE)
        await events.broadcast(
            [events.PRESENCE_GROUP], "presence_update", {"online": online}
        )

    await worker.coalesce("online", settings.CHAT_PRESENCE_COALESCE, send_list)


async def announce_room_users(joined: JoinedRoom) -> None:
    async def send_list() -> None:
        users = await presence.store().members(presence.room_scope(joined.id))
        await events.broadcast(
            joined.audience, "room_users", {"room": joined.name, "users": users}
        )

    key = f"room_users.{joined.id}"
    await worker.coalesce(key, settings.CHAT_PRESENCE_COALESCE, send_list)


def too_big(data: str | bytes) -> bool:
    limit = settings.CHAT_MAX_FRAME_BYTES
    if isinstance(data, bytes):
        return len(data) > limit
    # A character is 1 to 4 bytes in UTF-8: encode only when it could matter.
    return len(data) * 4 > limit and len(data.encode()) > limit


def moderated(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of kick_user and mute_user that say who, where and why."""
    reason = protocol.str_field(data, "reason", required=False, max_length=250)
    return {
        "room_name": protocol.str_field(data, "room", max_length=64),
        "username": protocol.str_field(data, "username", max_length=150),
        "reason": reason or "",
    }


def new_message(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of send_message and private_message that make the message."""
    return {
        "body": protocol.text_field(data, "message"),
        "client_id": protocol.str_field(
            data, "clientId", required=False, max_length=64
        ),
    }


def delivered(sent: services.SentMessage) -> Reply:
    message = sent.message
    return {
        "status": "delivered",
        "messageId": message.pk,
        "room": message.room.name,
        "seq": message.seq,
        "time": payloads.iso(message.created_at),
        "duplicate": not sent.created,
    }
