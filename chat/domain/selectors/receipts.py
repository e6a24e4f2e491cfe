"""Reads of read receipts: who of a room's members has read a message, and how
far each member of a direct or group conversation has read it. Built on the
members' read markers (Membership.last_read); a member who turned receipts off
(UserSettings.send_read_receipts) is never shown."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef

from chat.domain import access
from chat.models import (
    Membership,
    Message,
    Room,
    RoomBan,
    ThreadFollow,
    UserSettings,
)

User = AbstractBaseUser

# The most readers get_read_receipts names (the first by name); `total` says
# how many there are.
READERS_MAX = 500


def sends_read_receipts(user: User) -> bool:
    """Whether others may see what `user` has read (no settings yet: yes)."""
    setting = (
        UserSettings.objects.filter(user=user)
        .values_list("send_read_receipts", flat=True)
        .first()
    )
    return setting is not False


def message_readers(*, user: User, room_name: str, message_id: int) -> dict[str, Any]:
    """Who has read the message `message_id` of room `room_name`, for a member of
    the room (access.room_for_member: an outsider of a private or direct room
    hears "no such room", a banned member is refused): the members other than its
    author whose read marker is at or past it, who send receipts, active and not
    banned from the room; the first READERS_MAX by name, sorted, and how many."""
    room, _ = access.room_for_member(user=user, name=room_name)
    message = (
        Message.objects.filter(room=room, pk=message_id, deleted_at__isnull=True)
        .values("author_id", "thread_id", "also_to_room")
        .first()
    )
    if message is None:
        raise access.no_such_message()
    banned = RoomBan.objects.active().filter(room=room, user=OuterRef("user"))
    readers = (
        Membership.objects.filter(room=room, user__is_active=True)
        .exclude(user_id=message["author_id"])
        .exclude(Exists(banned))
        .exclude(Exists(_quiet(OuterRef("user"))))
    )
    if message["thread_id"] is not None and not message["also_to_room"]:
        # A reply only its thread shows: read where the reader's marker in that
        # thread passed it (the room's says nothing of the thread).
        readers = readers.filter(
            Exists(
                ThreadFollow.objects.filter(
                    user=OuterRef("user"),
                    root_id=message["thread_id"],
                    last_read_id__gte=message_id,
                )
            )
        )
    else:
        readers = readers.filter(last_read_id__gte=message_id)
    names = list(
        readers.order_by("user__username").values_list("user__username", flat=True)[
            :READERS_MAX
        ]
    )
    total = len(names) if len(names) < READERS_MAX else readers.count()
    return {
        "room": room.name,
        "messageId": message_id,
        # Sorted as everywhere else (code points, not the database's collation).
        "readBy": sorted(names),
        "total": total,
    }


def conversation_markers(
    room: Room, viewer_id: int
) -> tuple[list[str], dict[str, int]]:
    """A direct or group conversation's members' usernames, sorted, and how far
    each of the others who send receipts has read it (username -> the id of the
    latest message they read; those who never marked it are left out), in one
    query."""
    rows = Membership.objects.filter(room=room).values_list(
        "user_id",
        "user__username",
        "user__is_active",
        "last_read_id",
        "user__chat_settings__send_read_receipts",
    )
    members: list[str] = []
    receipts: dict[str, int] = {}
    for user_id, username, is_active, last_read_id, sends in rows:
        members.append(username)
        shown = user_id != viewer_id and is_active and sends is not False
        if shown and last_read_id is not None:
            receipts[username] = last_read_id
    return sorted(members), receipts


def _quiet(user: Any):
    """The settings of `user` if they turned read receipts off."""
    return UserSettings.objects.filter(user=user, send_read_receipts=False)
