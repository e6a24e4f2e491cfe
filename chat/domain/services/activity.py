"""Events that record nothing: who is typing, who came into or left a room's live
audience, who is online, active, idle or not to be disturbed. Built here like
every other event, so every transport sends the same; the caller sends them at
once (there is no transaction to wait for) with chat.domain.events.send.

And the one record presence keeps: when a user was last seen (their last
session ended)."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.utils import timezone

from chat.domain import payloads
from chat.domain.errors import ChatError
from chat.domain.events import (
    PRESENCE_GROUP,
    Broadcast,
    RoomRef,
    control_on_commit,
    user_group,
)
from chat.models import UserSettings


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


def online_changed(
    *, online: list[str], idle: list[str], dnd: list[str]
) -> list[Broadcast]:
    """Who is online (idle ones included), which of them are idle, and which do
    not want to be disturbed: complete lists."""
    data = {"online": online, "idle": idle, "dnd": dnd}
    return [Broadcast(PRESENCE_GROUP, "presence_update", data)]


# set_presence's statuses -> whether the session is in use.
PRESENCE_STATUSES = {"active": True, "idle": False}


def presence_status_active(status: str) -> bool:
    """Whether set_presence's `status` means the client is in use; else invalid."""
    if status not in PRESENCE_STATUSES:
        raise ChatError("invalid", '\'status\' must be "active" or "idle"')
    return PRESENCE_STATUSES[status]


def presence_changed_on_commit(*, user_id: int) -> None:
    """Have the user's sessions announce who is online again once this commits:
    what presence_update says of them changed in the database (do not disturb).
    Each worker with a session of theirs announces once (coalesced)."""
    control_on_commit([user_group(user_id)], "presence")


def users_seen_last(*, usernames: Iterable[str]) -> None:
    """Record that these users' last sessions ended now ("last seen")."""
    names = list(usernames)
    if not names:
        return
    now = timezone.now()
    user_ids = get_user_model().objects.filter(username__in=names)
    UserSettings.objects.bulk_create(
        [
            UserSettings(user_id=pk, last_seen_at=now)
            for pk in user_ids.values_list("pk", flat=True)
        ],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["last_seen_at"],
    )


def _to_room(
    room: RoomRef, event: str, data: dict, skip_user_id: int | None = None
) -> list[Broadcast]:
    return [Broadcast(group, event, data, skip_user_id) for group in room.audience]
