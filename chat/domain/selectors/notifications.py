"""Reads for notifications: who may hear of a new message and with what
preferences (chat.domain.notify decides), and which emailed notices are still
worth sending."""

import math
import time

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from chat.domain.notify import Reason, Recipient
from chat.models import (
    EmailNotice,
    Membership,
    Mention,
    Message,
    Notify,
    RoomBan,
    ThreadFollow,
    UserSettings,
)

# The rooms where a member set "all messages", as read at most
# CHAT_LOUD_ROOMS_TTL seconds ago: (when read, the room ids).
_loud_rooms: tuple[float, frozenset[int]] = (-math.inf, frozenset())


def rooms_notifying_all() -> frozenset[int]:
    """The rooms where a member set "all messages" (the rest notify only those
    their messages mention), read again at most every CHAT_LOUD_ROOMS_TTL
    seconds: asking for every stored batch lengthened the message writer's
    turn enough to double its p99 latency at 20,000 deliveries/s
    (docs/BENCHMARKS.md). A level set to "all" takes that long to count."""
    global _loud_rooms
    read_at, rooms = _loud_rooms
    if time.monotonic() - read_at >= settings.CHAT_LOUD_ROOMS_TTL:
        rooms = frozenset(
            Membership.objects.filter(notify=Notify.ALL)
            .order_by()
            .values_list("room_id", flat=True)
            .distinct()
        )
        _loud_rooms = (time.monotonic(), rooms)
    return rooms


def notify_recipients(message: Message) -> list[Recipient]:
    """Everyone a new message (`room` loaded) may notify, each with why and
    their preferences: in a conversation its members, in a room those it
    mentions and those who want all its messages; never its author, nor a
    member banned from the room or deactivated."""
    room = message.room
    reasons: dict[int, Reason] = {}
    for user_id in Mention.objects.filter(message=message).values_list(
        "user_id", flat=True
    ):
        reasons[user_id] = Reason.MENTION
    members = Membership.objects.filter(room=room, user__is_active=True).exclude(
        user_id=message.author_id
    )
    if not room.is_conversation:
        members = members.filter(Q(user_id__in=list(reasons)) | Q(notify=Notify.ALL))
    banned = RoomBan.objects.active().filter(room=room, user=OuterRef("user"))
    members = members.exclude(Exists(banned)).select_related("user")
    settings_of = {
        s.user_id: s
        for s in UserSettings.objects.filter(user__in=members.values("user"))
    }
    fallback = Reason.DIRECT if room.is_conversation else Reason.ALL
    recipients = []
    for membership in members:
        user = membership.user
        own = settings_of.get(user.pk) or UserSettings(user=user)
        recipients.append(
            Recipient(
                user_id=user.pk,
                username=user.get_username(),
                reason=reasons.get(user.pk, fallback),
                notify=membership.notify,
                muted=membership.muted,
                dnd_until=own.dnd_until,
                desktop_on=own.desktop_notifications,
                email_on=own.email_notifications,
                has_email=bool(user.email),
            )
        )
    return recipients


def notices_still_unread(notices: list[EmailNotice]) -> list[EmailNotice]:
    """The notices (`message`, its `room` loaded) whose message is still there
    and unread: not deleted, the user still a member and not banned, and their
    read marker (of the room, or of the reply's thread) short of it."""
    if not notices:
        return []
    user_id = notices[0].user_id
    markers = dict(
        Membership.objects.filter(
            user_id=user_id, room_id__in={n.message.room_id for n in notices}
        ).values_list("room_id", "last_read_id")
    )
    banned = set(
        RoomBan.objects.active()
        .filter(user_id=user_id, room_id__in=list(markers))
        .values_list("room_id", flat=True)
    )
    thread_read = dict(
        ThreadFollow.objects.filter(
            user_id=user_id,
            root_id__in={n.message.thread_id for n in notices if n.message.thread_id},
        ).values_list("root_id", "last_read_id")
    )
    unread = []
    for notice in notices:
        message = notice.message
        if message.is_deleted or message.room_id not in markers:
            continue
        if message.room_id in banned:
            continue
        if message.thread_id is not None and not message.also_to_room:
            read_up_to = thread_read.get(message.thread_id, 0)
        else:
            read_up_to = markers[message.room_id] or 0
        if message.pk > read_up_to:
            unread.append(notice)
    return unread


def rooms_notifying_all_forget() -> None:
    """Read the rooms again next time: a level changed here (other workers see
    it within CHAT_LOUD_ROOMS_TTL)."""
    global _loud_rooms
    _loud_rooms = (-math.inf, frozenset())
