"""join_room, leave_room, list_rooms, list_members and ping."""

from typing import Any

from django.conf import settings

from chat.domain import events, selectors, services
from chat.domain.errors import ChatError
from chat.domain.rules import room_ref_clean
from chat.domain.services import activity
from chat.infra import presence
from chat.realtime import protocol
from chat.realtime.dispatch import Reply, handles, rows_cost
from chat.realtime.session import Delivered, Session, announce_room_users


def join_cost(data: dict[str, Any]) -> float:
    # A history page, or a resync of up to CHAT_RESYNC_MAX changes.
    if data.get("after") is None:
        return rows_cost(settings.CHAT_HISTORY_PAGE)
    return rows_cost(settings.CHAT_RESYNC_MAX)


@handles("join_room", cost=join_cost, kind="join")
async def join_room(session: Session, data: dict[str, Any]) -> Reply:
    name = protocol.str_field(data, "room", max_length=64)
    after = protocol.int_field(data, "after", required=False, minimum=0)
    at_cap = len(session.rooms) >= settings.CHAT_MAX_ROOMS_PER_SOCKET
    if at_cap and room_ref_clean(name) not in session.rooms:
        limit = settings.CHAT_MAX_ROOMS_PER_SOCKET
        raise ChatError("invalid", f"a socket can be in at most {limit} rooms")
    room, joined = await session.call(room_join_addressed, user=session.user, name=name)
    first_here = await session.enter_room(joined)
    # The session is in the room's group before history is read: nothing falls
    # between the two, and the floor drops what both would deliver.
    sync = await session.call(
        selectors.room_sync, user=session.user, room=room, after=after
    )
    session.delivered[room.name] = Delivered(sync.seq)
    users = await room_users(joined, sync.members)
    if first_here:
        await events.send(
            activity.member_joined(
                room=joined, user_id=session.user_id, username=session.username
            )
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
        "pins": sync.pins,
        # A conversation's: how far its other members have read it.
        **({"receipts": sync.receipts} if sync.receipts is not None else {}),
    }


def room_join_addressed(*, user: Any, name: str) -> tuple[Any, events.RoomRef]:
    """services.room_join, and the room as the live path addresses it: read in the
    same database thread (a group's audience is its memberships)."""
    room = services.room_join(user=user, name=name)
    return room, events.room_ref(room)


async def room_users(joined: events.RoomRef, members: list[str]) -> list[str]:
    """Who is in the room now; for a conversation, which of its members are online."""
    if joined.is_conversation:
        online = set(await presence.store().members(presence.SITE))
        return [name for name in members if name in online]
    return await presence.store().members(presence.room_scope(joined.id))


@handles("leave_room")
async def leave_room(session: Session, data: dict[str, Any]) -> Reply:
    name = room_ref_clean(protocol.str_field(data, "room", max_length=64))
    joined = session.rooms.get(name)
    if joined is not None:
        await session.exit_room(joined)
    return {"status": "ok", "room": name}


@handles("list_rooms", cost=rows_cost(100))
async def list_rooms(session: Session, data: dict[str, Any]) -> Reply:
    rooms = await session.call(selectors.rooms_of_user, user=session.user)
    return {"status": "ok", "rooms": rooms}


# A member row is a name and a role, lighter than list_rooms' rows: a full list
# costs what list_rooms does, so a client may refresh it as people come and go.
@handles("list_members", cost=rows_cost(100))
async def list_members(session: Session, data: dict[str, Any]) -> Reply:
    name = protocol.str_field(data, "room", max_length=64)
    store = presence.store()
    online = await store.members(presence.SITE)
    active = await store.members(presence.ACTIVE)
    members = await session.call(
        selectors.room_members,
        user=session.user,
        name=name,
        online=online,
        active=active,
    )
    return {"status": "ok", **members}


@handles("ping")
async def ping(session: Session, data: dict[str, Any]) -> Reply:
    return {"status": "ok"}
