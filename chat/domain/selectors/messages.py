"""Reads of a room's messages: history pages and the resync of a joining client."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, F, OuterRef, Q

from chat.domain import payloads
from chat.domain.access import message_for_member, room_for_reading
from chat.domain.selectors.reactions import reaction_summaries
from chat.domain.selectors.receipts import conversation_markers
from chat.models import (
    Membership,
    Message,
    MessageEdit,
    Room,
    RoomBan,
    SavedMessage,
)

User = AbstractBaseUser


def _messages_of(room: Room):
    return Message.objects.filter(room=room).select_related("author")


def history_page(
    *, user: User, room_name: str, before_id: int | None, limit: int
) -> dict[str, Any]:
    """Up to `limit` messages older than `before_id` (or the newest), oldest first."""
    room = room_for_reading(user=user, name=room_name)
    messages = _messages_of(room).shown_in_room()
    if before_id is not None:
        messages = messages.filter(pk__lt=before_id)
    rows = list(messages.order_by("-id")[: limit + 1])
    return {
        "messages": message_objects(rows[:limit][::-1], room, user.pk),
        "hasMore": len(rows) > limit,
    }


def message_objects(
    rows: list[Message], room: Room | None, viewer_id: int | None
) -> list[dict[str, Any]]:
    """The message objects of `rows` (in that order) as `viewer_id` sees them:
    their reactions, and which of them the viewer saved. `room`: theirs, when
    they are all in one (else each row's `room` must be loaded)."""
    ids = [m.pk for m in rows]
    reactions = reaction_summaries(ids, viewer_id)
    saved = set(
        SavedMessage.objects.filter(user_id=viewer_id, message_id__in=ids).values_list(
            "message_id", flat=True
        )
    )
    name = room.name if room is not None else None
    return [
        payloads.message_object(m, name, reactions.get(m.pk), saved=m.pk in saved)
        for m in rows
    ]


@dataclass(frozen=True)
class RoomSync:
    messages: list[dict[str, Any]]
    has_more: bool
    # The client has every change up to this seq; later ones reach it as events.
    seq: int
    # A direct or group conversation's members' usernames, sorted ([] for a room).
    members: list[str]
    # The ids of the room's pinned messages, the latest pinned first.
    pins: list[int]
    # A conversation's other members who send read receipts -> the latest
    # message each has read (None for a room).
    receipts: dict[str, int] | None = None


def room_sync(*, user: User, room: Room, after: int | None) -> RoomSync:
    """What a socket of `user` that just joined `room` needs: the newest history
    page, or with `after`, every change since that seq (paged; ask again from
    `seq`).

    `room.last_seq` must have been read before the socket joined the room's group.
    Each query reads the room's seq in the same statement as the messages, so the
    two agree and the consumer can drop broadcasts the reply already holds.
    """
    messages = _messages_of(room).annotate(room_seq=F("room__last_seq"))
    if after is None:
        limit = settings.CHAT_HISTORY_PAGE
        rows = list(messages.shown_in_room().order_by("-id")[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit][::-1]
        seq = rows[-1].room_seq if rows else room.last_seq
    else:
        limit = settings.CHAT_RESYNC_MAX
        rows = list(
            messages.filter(changed_seq__gt=after).order_by("changed_seq")[: limit + 1]
        )
        has_more = len(rows) > limit
        rows = rows[:limit]
        kept = _within_reply_budget(rows)
        has_more = has_more or kept < len(rows)
        rows = rows[:kept]
        if has_more:
            seq = rows[-1].changed_seq
        else:
            # Below `after` only if the server's history was reset (see PROTOCOL).
            seq = rows[-1].room_seq if rows else room.last_seq
    members, receipts = (
        conversation_markers(room, user.pk) if room.is_conversation else ([], None)
    )
    return RoomSync(
        messages=message_objects(rows, room, user.pk),
        has_more=has_more,
        seq=seq,
        members=members,
        pins=list(_pinned(room).values_list("pk", flat=True)),
        receipts=receipts,
    )


# A resync page of long messages stays under this many bytes of text (clients
# page on with `seq`): 200 messages of 8 kB would be 1.6 MB in one frame, past
# the 1 MiB that WebSocket libraries accept by default.
RESYNC_MAX_BYTES = 512 * 1024


def _within_reply_budget(rows: list[Message]) -> int:
    """How many of `rows` (at least one) fit RESYNC_MAX_BYTES."""
    total = 0
    for kept, row in enumerate(rows):
        # Its text twice (as written, and rendered: about as long, escaping
        # aside), and the message object's other fields.
        text = len(row.body.encode())
        total += text + (len(row.html.encode()) if row.html else text) + 200
        if total > RESYNC_MAX_BYTES and kept:
            return kept
    return len(rows)


# The most of a message's earlier texts get_edits returns (the latest ones).
EDITS_MAX = 50


def message_edits(*, user: User, message_id: int) -> list[dict[str, Any]]:
    """The texts a message had before its edits, oldest first (the latest
    EDITS_MAX): for the room's members, and staff."""
    message, _ = message_for_member(user, message_id, staff_too=True)
    rows = (
        MessageEdit.objects.filter(message=message)
        .select_related("replaced_by")
        .order_by("-id")[:EDITS_MAX]
    )
    return [payloads.edit_object(edit) for edit in reversed(rows)]


def room_pins(*, user: User, room_name: str) -> list[dict[str, Any]]:
    """The room's pinned messages, the latest pinned first, for whoever may read it."""
    room = room_for_reading(user=user, name=room_name)
    return message_objects(list(_pinned(room).select_related("author")), room, user.pk)


def _pinned(room: Room):
    return Message.objects.filter(
        room=room, pinned_at__isnull=False, deleted_at__isnull=True
    ).order_by("-pinned_at", "-id")


# A page of the Saved view.
SAVED_PAGE = 50


def saved_page(*, user: User, before: int | None) -> dict[str, Any]:
    """The user's saved messages, the latest saved first, that they may still read
    (not deleted; a public room's, or one they are a member of; not banned). Page
    on with `before` = the reply's `next` (None: no more)."""
    member = Membership.objects.filter(room=OuterRef("message__room"), user=user)
    banned = RoomBan.objects.active().filter(room=OuterRef("message__room"), user=user)
    entries = (
        SavedMessage.objects.filter(user=user, message__deleted_at__isnull=True)
        .filter(Q(message__room__kind=Room.Kind.PUBLIC) | Exists(member))
        .exclude(Exists(banned))
        .select_related("message__room", "message__author")
        .order_by("-id")
    )
    if before is not None:
        entries = entries.filter(pk__lt=before)
    rows = list(entries[: SAVED_PAGE + 1])
    page = rows[:SAVED_PAGE]
    return {
        "messages": message_objects([e.message for e in page], None, user.pk),
        "next": page[-1].pk if len(rows) > SAVED_PAGE else None,
    }
