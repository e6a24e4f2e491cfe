"""Pins: a room's owners and moderators (any member of a direct or group
conversation, which has no moderators) pin messages to its header."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat.domain import events
from chat.domain.access import may_moderate, message_for_member, refuse_if_muted
from chat.domain.errors import ChatError
from chat.domain.services.rooms import room_seq_next
from chat.models import Message

User = AbstractBaseUser

# Pinned messages in one room: a header lists them all.
PINS_MAX = 50


def message_pin(*, user: User, message_id: int, pinned: bool) -> Message:
    """Pin the message to its room (`pinned`) or unpin it, and broadcast
    message_pinned. Asking for the state it has changes nothing.

    A change advances the room's seq and the message's, as an edit does.
    """
    with transaction.atomic():
        message, membership = message_for_member(
            user, message_id, lock=True, staff_too=True
        )
        room = message.room
        if not room.is_conversation and not may_moderate(user, membership):
            raise ChatError(
                "forbidden", "only the room's owner and moderators can pin messages"
            )
        if membership is not None:
            refuse_if_muted(room, user, membership)
        if (message.pinned_at is not None) == pinned:
            return message
        if pinned and _pin_count(room) >= PINS_MAX:
            raise ChatError("invalid", f"a room has at most {PINS_MAX} pinned messages")
        message.pinned_at = timezone.now() if pinned else None
        message.pinned_by = user if pinned else None
        message.changed_seq = room_seq_next(room)
        message.save(update_fields=["pinned_at", "pinned_by", "changed_seq"])
        events.emit_on_commit(
            events.room_audience(room),
            "message_pinned",
            {
                "room": room.name,
                "id": message.pk,
                "pinned": pinned,
                "by": user.get_username(),
                "seq": message.changed_seq,
            },
        )
    return message


def _pin_count(room: object) -> int:
    return Message.objects.filter(
        room=room, pinned_at__isnull=False, deleted_at__isnull=True
    ).count()
