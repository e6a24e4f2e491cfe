"""Events that record nothing: who is typing, who came into or left a room's live
audience, who is online. Built here like every other event, so every transport
sends the same; the caller sends them at once (there is no transaction to wait
for) with chat.domain.events.send."""

from chat.domain import payloads
from chat.domain.events import PRESENCE_GROUP, Broadcast, RoomRef


def typing_changed(
    *,
    room: RoomRef,
    user_id: int,
    username: str,
    is_typing: bool,
    thread_id: int | None = None,
) -> list[Broadcast]:
    """In the room, or in the composer of one of its threads (`thread_id`)."""
    data = {"room": room.name, "username": username, "isTyping": is_typing}
    if thread_id is not None:
        data["threadId"] = thread_id
    return _to_room(room, "user_typing", data, skip_user_id=user_id)


def member_joined(*, room: RoomRef, user_id: int, username: str) -> list[Broadcast]:
    """The user's first session came into the room (their others hear nothing)."""
    data = {"room": room.name, "username": username, "time": payloads.now()}
    return _to_room(room, "user_joined", data, skip_user_id=user_id)


def member_left(*, room: RoomRef, user_id: int, username: str) -> list[Broadcast]:
    """The user's last session left the room."""
    data = {"room": room.name, "username": username, "time": payloads.now()}
    return _to_room(room, "user_left", data, skip_user_id=user_id)


def room_users_changed(*, room: RoomRef, users: list[str]) -> list[Broadcast]:
    return _to_room(room, "room_users", {"room": room.name, "users": users})


def online_changed(*, online: list[str]) -> list[Broadcast]:
    return [Broadcast(PRESENCE_GROUP, "presence_update", {"online": online})]


def _to_room(
    room: RoomRef, event: str, data: dict, skip_user_id: int | None = None
) -> list[Broadcast]:
    return [Broadcast(group, event, data, skip_user_id) for group in room.audience]
