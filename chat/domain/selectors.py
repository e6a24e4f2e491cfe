"""Every read of rooms and messages, with the access rules that guard it.

Results are shaped for the protocol (chat.realtime.protocol.message_data) so that the
consumer and the views present the same thing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from chat.domain.confusables import username_keys
from chat.domain.errors import ChatError, SiteBanned
from chat.domain.rules import room_ref_clean
from chat.models import Membership, Message, Mute, Room, RoomBan, SiteBan, UsernameKey
from chat.realtime import protocol

User = AbstractBaseUser


def room_for_member(*, user: User, name: str) -> tuple[Room, Membership]:
    """The room `name` and the user's membership in it, or not_found / forbidden."""
    room = _room_named(name)
    # One query for the membership and the sanctions on it: this is every send's path.
    sanctions = {"room": room, "user": user}
    membership = (
        Membership.objects.filter(room=room, user=user)
        .annotate(
            banned=Exists(RoomBan.objects.active().filter(**sanctions)),
            muted_until=Subquery(
                Mute.objects.active().filter(**sanctions).values("expires_at")[:1]
            ),
        )
        .first()
    )
    if membership is None:
        refuse_if_banned(room, user)
        if room.kind == Room.Kind.PUBLIC:
            raise ChatError("forbidden", "join the room first")
        raise no_such_room()
    if membership.banned:
        raise banned()
    return room, membership


def room_for_reading(*, user: User, name: str) -> Room:
    """A public room, or a private or direct one the user is a member of."""
    room = _room_named(name)
    refuse_if_banned(room, user)
    is_member = Membership.objects.filter(room=room, user=user).exists
    if room.kind != Room.Kind.PUBLIC and not is_member():
        raise no_such_room()
    return room


# What an outsider hears of a private or direct room: the same as of a room that
# does not exist, so errors reveal no private room's name.
def no_such_room() -> ChatError:
    return ChatError("not_found", "no such room")


def banned() -> ChatError:
    return ChatError("forbidden", "you are banned from this room")


def refuse_if_banned(room: Room, user: User) -> None:
    if RoomBan.objects.active().filter(room=room, user=user).exists():
        raise banned()


def refuse_if_muted(
    room: Room, user: User, membership: Membership | None = None
) -> None:
    """`membership` from room_for_member carries its mute already: no query."""
    if membership is not None:
        until = membership.muted_until
    else:
        mute = Mute.objects.active().filter(room=room, user=user).first()
        until = mute.expires_at if mute else None
    if until is not None:
        when = protocol.iso(until)
        raise ChatError("forbidden", f"you are muted in this room until {when}")


def user_is_site_banned(user: User) -> bool:
    return SiteBan.objects.active().filter(user=user).exists()


def users_refused(user_ids: Iterable[int]) -> set[int]:
    """Those of `user_ids` who may no longer chat: deactivated (by any path: a
    QuerySet.update or a script sends no signal), gone, or banned from the site."""
    wanted = set(user_ids)
    allowed = (
        get_user_model()
        .objects.filter(pk__in=wanted, is_active=True)
        .exclude(Exists(SiteBan.objects.active().filter(user=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
    return wanted - set(allowed)


def refuse_if_site_banned(user: User) -> None:
    """A site ban closes the user's sockets, but their session still reaches the
    pages: every service acting on the site's rooms asks here first."""
    if user_is_site_banned(user):
        raise SiteBanned()


def username_looks_taken(username: str, *, excluding: Any = None) -> bool:
    """Whether another user's name (not user `excluding`'s) looks like `username`:
    the same but for case, compatibility forms or confusable characters."""
    keys = UsernameKey.objects.filter(key__in=username_keys(username))
    if excluding is not None:
        keys = keys.exclude(user_id=excluding)
    return keys.exists()


def _room_named(name: str) -> Room:
    room = Room.objects.filter(name=room_ref_clean(name)).first()
    if room is None:
        raise no_such_room()
    return room


def _messages_of(room: Room):
    return Message.objects.filter(room=room).select_related("author")


def history_page(
    *, user: User, room_name: str, before_id: int | None, limit: int
) -> dict[str, Any]:
    """Up to `limit` messages older than `before_id` (or the newest), oldest first."""
    room = room_for_reading(user=user, name=room_name)
    messages = _messages_of(room)
    if before_id is not None:
        messages = messages.filter(pk__lt=before_id)
    rows = list(messages.order_by("-id")[: limit + 1])
    return {
        "messages": [
            protocol.message_data(m, room.name) for m in reversed(rows[:limit])
        ],
        "hasMore": len(rows) > limit,
    }


@dataclass(frozen=True)
class RoomSync:
    messages: list[dict[str, Any]]
    has_more: bool
    # The client has every change up to this seq; later ones reach it as events.
    seq: int
    # A direct room's two usernames (empty for other rooms).
    direct_members: list[str]


def room_sync(*, room: Room, after: int | None) -> RoomSync:
    """What a socket that just joined `room` needs: the newest history page, or with
    `after`, every change since that seq (paged; ask again from `seq`).

    `room.last_seq` must have been read before the socket joined the room's group.
    Each query reads the room's seq in the same statement as the messages, so the
    two agree and the consumer can drop broadcasts the reply already holds.
    """
    messages = _messages_of(room).annotate(room_seq=F("room__last_seq"))
    if after is None:
        limit = settings.CHAT_HISTORY_PAGE
        rows = list(messages.order_by("-id")[: limit + 1])
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
        if has_more:
            seq = rows[-1].changed_seq
        else:
            # Below `after` only if the server's history was reset (see PROTOCOL).
            seq = rows[-1].room_seq if rows else room.last_seq
    return RoomSync(
        messages=[protocol.message_data(m, room.name) for m in rows],
        has_more=has_more,
        seq=seq,
        direct_members=_member_names(room) if room.is_direct else [],
    )


def _member_names(room: Room) -> list[str]:
    return sorted(
        Membership.objects.filter(room=room).values_list("user__username", flat=True)
    )


def unread_count(membership: Membership) -> int:
    return _unread_messages(
        room_id=membership.room_id,
        user_id=membership.user_id,
        last_read_id=membership.last_read_id or 0,
    ).count()


def _unread_messages(*, room_id: Any, user_id: Any, last_read_id: Any):
    return Message.objects.filter(
        room_id=room_id, pk__gt=last_read_id, deleted_at__isnull=True
    ).exclude(author_id=user_id)


def rooms_of_user(*, user: User) -> list[dict[str, Any]]:
    """The user's rooms with unread counts and last message ids, in two queries."""
    unread = (
        _unread_messages(
            room_id=OuterRef("room_id"),
            user_id=OuterRef("user_id"),
            last_read_id=Coalesce(OuterRef("last_read_id"), Value(0)),
        )
        .values("room_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_message = (
        Message.objects.filter(room_id=OuterRef("room_id"), deleted_at__isnull=True)
        .order_by("-pk")
        .values("pk")[:1]
    )
    banned = RoomBan.objects.active().filter(room=OuterRef("room_id"), user=user)
    memberships = (
        Membership.objects.filter(user=user)
        # A room the user is banned from is not theirs, even with a membership.
        .exclude(Exists(banned))
        .select_related("room")
        .annotate(
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
            last_message_id=Subquery(last_message, output_field=IntegerField()),
        )
        .order_by("room__kind", "room__name")
    )
    memberships = list(memberships)
    peers = _direct_peers(user, [m.room_id for m in memberships if m.room.is_direct])
    return [
        {
            "room": m.room.name,
            "kind": m.room.kind,
            "topic": m.room.topic,
            "role": m.role,
            "seq": m.room.last_seq,
            "unread": m.unread,
            "lastMessageId": m.last_message_id,
            "lastReadId": m.last_read_id,
            **({"with": peers.get(m.room_id)} if m.room.is_direct else {}),
        }
        for m in memberships
    ]


def _direct_peers(user: User, room_ids: list[int]) -> dict[int, str]:
    """For each direct room, the other member's username."""
    if not room_ids:
        return {}
    rows = (
        Membership.objects.filter(room_id__in=room_ids)
        .filter(~Q(user=user))
        .values_list("room_id", "user__username")
    )
    return dict(rows)


def direct_room_between(*, user: User, other: User) -> Room | None:
    return Room.objects.filter(name=Room.direct_name(user.pk, other.pk)).first()


def room_directory(*, user: User, query: str = "") -> list[dict[str, Any]]:
    """Public rooms whose name or topic contains `query`, busiest first."""
    rooms = Room.objects.filter(kind=Room.Kind.PUBLIC)
    if query := query.strip():
        rooms = rooms.filter(Q(name__icontains=query) | Q(topic__icontains=query))
    rooms = rooms.annotate(
        member_count=Count("memberships"),
        is_member=Count("memberships", filter=Q(memberships__user=user)),
    ).order_by("-member_count", "name")[:200]
    return [
        {
            "name": room.name,
            "topic": room.topic,
            "members": room.member_count,
            "is_member": bool(room.is_member),
        }
        for room in rooms
    ]
