"""Read markers: how far each member has read each room."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat.domain import events
from chat.domain.access import (
    membership_of,
    room_for_member,
)
from chat.domain.errors import ChatError
from chat.domain.selectors import mention_counts, unread_count
from chat.domain.services.mentions import mentions_mark_read
from chat.domain.services.receipts import read_receipt_on_commit
from chat.models import (
    Membership,
    Message,
    Room,
)

User = AbstractBaseUser


def room_mark_read(*, user: User, room_name: str, message_id: int) -> int:
    """Move the user's read marker forward to `message_id`; returns what is unread.
    The mentions it passes are read too.

    The user's other sockets are told, so badges clear on every tab and device.
    """
    with transaction.atomic():
        room, membership = room_for_member(user=user, name=room_name)
        if not Message.objects.filter(room=room, pk=message_id).exists():
            raise ChatError("not_found", "no such message in this room")
        if membership.last_read_id is None or membership.last_read_id < message_id:
            membership.last_read_id = message_id
            membership.save(update_fields=["last_read"])
            mentions_mark_read(user=user, room_id=room.pk, up_to_id=message_id)
            read_receipt_on_commit(user=user, room=room, message_id=message_id)
        return _room_read_emit(user, room, membership)


def room_read_announce(user: User, room: Room) -> None:
    """Tell the user's sockets where they are in `room` (its mention count
    changed without its read marker: a thread was read)."""
    membership = membership_of(user, room)
    if membership is not None:
        _room_read_emit(user, room, membership)


def _room_read_emit(user: User, room: Room, membership: Membership) -> int:
    """What is unread now; the user's sockets are told what is unread once this
    commits, counted then: a room's and a thread's markers may move at once (a
    thread's mention opened), and the later count must not be the older one."""

    def tell() -> None:
        events.emit_on_commit(
            [events.user_group(user.pk)],
            "room_read",
            {
                "room": room.name,
                "lastReadId": membership.last_read_id,
                "unread": unread_count(membership),
                "mentions": mention_counts(user=user, room_id=room.pk).get(room.pk, 0),
            },
        )

    transaction.on_commit(tell)
    return unread_count(membership)
