"""Reads of rooms: a user's rooms with their unread counts, a room's members, and
the directory."""

from collections.abc import Collection
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from chat.domain import access, payloads

# The module: selectors.mentions imports selectors.messages, which imports this.
from chat.domain.selectors import mentions as mention_reads
from chat.domain.selectors.presence import status_of
from chat.models import Membership, Message, Mute, Room, RoomBan

User = AbstractBaseUser


def unread_count(membership: Membership) -> int:
    return _unread_messages(
        room_id=membership.room_id,
        user_id=membership.user_id,
        last_read_id=membership.last_read_id or 0,
    ).count()


def _unread_messages(*, room_id: Any, user_id: Any, last_read_id: Any):
    return (
        Message.objects.shown_in_room()
        .filter(room_id=room_id, pk__gt=last_read_id, deleted_at__isnull=True)
        .exclude(author_id=user_id)
    )


def rooms_of_user(*, user: User) -> list[dict[str, Any]]:
    """The user's rooms with unread counts, unread mentions, last message ids and
    notification preferences, in three queries."""
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
        Message.objects.shown_in_room()
        .filter(room_id=OuterRef("room_id"), deleted_at__isnull=True)
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
    mentions = mention_reads.mention_counts(user=user)
    peers = _direct_peers(user, [m.room_id for m in memberships if m.room.is_direct])
    groups = _group_members(
        room_ids=[m.room_id for m in memberships if m.room.is_group]
    )
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
            "mentions": mentions.get(m.room_id, 0),
            "notify": m.notify,
            "muted": m.muted,
            **({"with": peers.get(m.room_id)} if m.room.is_direct else {}),
            **({"members": groups.get(m.room_id, [])} if m.room.is_group else {}),
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


def _group_members(*, room_ids: list[int]) -> dict[int, list[str]]:
    """For each group room, its members' usernames, sorted, in one query."""
    if not room_ids:
        return {}
    members: dict[int, list[str]] = {}
    rows = Membership.objects.filter(room_id__in=room_ids).values_list(
        "room_id", "user__username"
    )
    for room_id, username in rows:
        members.setdefault(room_id, []).append(username)
    # Sorted as room_member_names sorts (code points, not the database's collation).
    return {room_id: sorted(names) for room_id, names in members.items()}


# The most members room_members lists: a pane's worth; `total` says how many more.
MEMBERS_MAX = 500


def room_members(
    *,
    user: User,
    name: str,
    online: Collection[str] = (),
    active: Collection[str] = (),
) -> dict[str, Any]:
    """The members of room `name`, for one of its members (access.room_for_member:
    an outsider of a private or direct room hears "no such room"): those in
    `online` (the usernames online on the site) first, then by name, at most
    MEMBERS_MAX of them, each with their presence (`active`: the usernames with a
    session in use; do-not-disturb and when an offline one was last seen from
    their settings, in the same query), and whether each is muted for those who
    may moderate the room. Members banned from the room or deactivated are not
    listed, as they are in no list of rooms and cannot be moderated."""
    room, membership = access.room_for_member(user=user, name=name)
    moderates = not room.is_conversation and access.may_moderate(user, membership)
    sanctions = {"room": room, "user": OuterRef("user")}
    members = (
        Membership.objects.filter(room=room, user__is_active=True)
        .exclude(Exists(RoomBan.objects.active().filter(**sanctions)))
        # Not `muted`: a membership's own field (the member muted the room).
        .annotate(mute_now=Exists(Mute.objects.active().filter(**sanctions)))
    )
    rows = list(
        members.values_list(
            "user__username",
            "role",
            "mute_now",
            "user__chat_settings__dnd_until",
            "user__chat_settings__last_seen_at",
        )
    )
    online, active = set(online), set(active)
    rows.sort(key=lambda row: (row[0] not in online, row[0].casefold(), row[0]))
    now = timezone.now()
    return {
        "room": room.name,
        "role": membership.role,
        "canModerate": moderates,
        "total": len(rows),
        "members": [
            {
                "username": username,
                "role": role,
                "online": username in online,
                "status": status_of(
                    online=username in online,
                    active=username in active,
                    dnd_until=dnd_until,
                    now=now,
                ),
                "lastSeen": None
                if username in online or last_seen is None
                else payloads.iso(last_seen),
                # Who is muted is the moderators' business.
                **({"muted": muted} if moderates else {}),
            }
            for username, role, muted, dnd_until, last_seen in rows[:MEMBERS_MAX]
        ],
    }


def room_member_names(room: Room) -> list[str]:
    """The usernames of the room's members, sorted."""
    return sorted(
        Membership.objects.filter(room=room).values_list("user__username", flat=True)
    )


def group_room_of(*, user: User, others: list[User]) -> Room | None:
    """The group room of `user` and `others`, if there is one and `user` is in it."""
    name = Room.group_name([user.pk, *(o.pk for o in others)])
    return Room.objects.filter(name=name, memberships__user=user).first()


def direct_room_between(*, user: User, other: User) -> Room | None:
    return Room.objects.filter(name=Room.direct_name(user.pk, other.pk)).first()


def room_directory(*, user: User, query: str = "") -> list[dict[str, Any]]:
    """Public rooms whose name or topic contains `query`, busiest first: not those
    the user is banned from, and counting no banned member."""
    banned = RoomBan.objects.active()
    rooms = Room.objects.filter(kind=Room.Kind.PUBLIC).exclude(
        Exists(banned.filter(room=OuterRef("pk"), user=user))
    )
    if query := query.strip():
        rooms = rooms.filter(Q(name__icontains=query) | Q(topic__icontains=query))
    members = (
        Membership.objects.filter(room=OuterRef("pk"))
        .exclude(Exists(banned.filter(room=OuterRef("room"), user=OuterRef("user"))))
        .order_by()
        .values("room")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rooms = rooms.annotate(
        member_count=Coalesce(Subquery(members), 0),
        is_member=Exists(Membership.objects.filter(room=OuterRef("pk"), user=user)),
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
