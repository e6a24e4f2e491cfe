"""Rooms and memberships: create, join, invite; direct and group conversations."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, models, transaction
from django.utils import timezone

from chat.domain import events
from chat.domain.access import (
    may_moderate,
    no_such_room,
    refuse_if_banned,
    refuse_if_site_banned,
    room_for_member,
    user_by_username,
)
from chat.domain.errors import ChatError
from chat.domain.rules import (
    conversation_usernames_clean,
    room_name_clean,
    room_ref_clean,
    topic_clean,
)
from chat.domain.selectors.rooms import room_member_names
from chat.models import (
    DIRECT_PREFIX,
    GROUP_PREFIX,
    Membership,
    Room,
)

User = AbstractBaseUser


@transaction.atomic
def room_create(
    *, user: User, name: str, kind: str = Room.Kind.PUBLIC, topic: str = ""
) -> Room:
    """Create a public or private room owned by `user`."""
    refuse_if_site_banned(user)
    if kind not in (Room.Kind.PUBLIC, Room.Kind.PRIVATE):
        raise ChatError("invalid", "a room is public or private")
    topic = topic_clean(topic)
    name = room_name_clean(name)
    refuse_if_over_room_quota(user)
    room, created = Room.objects.get_or_create(
        name=name, defaults={"kind": kind, "topic": topic, "created_by": user}
    )
    if not created:
        raise ChatError("invalid", f"a room named '{name}' already exists")
    Membership.objects.create(room=room, user=user, role=Membership.Role.OWNER)
    return room


def refuse_if_over_room_quota(user: User) -> None:
    """At most CHAT_ROOMS_PER_HOUR new rooms by a member in any hour (staff are
    trusted). Counted from the rooms, so it holds across workers and restarts."""
    if user.is_staff:
        return
    # Creations by one user wait for each other here, so parallel requests
    # cannot all see room for one more.
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
    limit = settings.CHAT_ROOMS_PER_HOUR
    window = timedelta(hours=1)
    now = timezone.now()
    recent = list(
        Room.objects.filter(created_by=user, created_at__gt=now - window)
        # Conversations are not counted: they are made by writing to people.
        .filter(kind__in=(Room.Kind.PUBLIC, Room.Kind.PRIVATE))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return
    # A place frees up when the limit-th newest room leaves the window.
    retry_after = max(1, round((recent[-1] + window - now).total_seconds()))
    raise ChatError(
        "rate_limited",
        f"you can create at most {limit} rooms an hour;"
        f" try again in {-(-retry_after // 60)} minutes",
        retryAfter=retry_after,
    )


@transaction.atomic
def room_join(*, user: User, name: str) -> Room:
    """Make `user` a member of the room, creating a missing public room as in the
    tutorial. Private rooms and conversations need an existing membership."""
    ref = room_ref_clean(name)
    refuse_if_site_banned(user)
    room = Room.objects.filter(name=ref).first()
    if room is None:
        if ref.startswith((DIRECT_PREFIX, GROUP_PREFIX)):
            raise no_such_room()  # as for other people's conversation
        try:
            with transaction.atomic():
                return room_create(user=user, name=ref)
        except ChatError:
            # Created by someone else a moment ago: join it like any other. Any
            # other refusal (over the room quota) is the answer.
            room = Room.objects.filter(name=ref).first()
            if room is None:
                raise
    refuse_if_banned(room, user)
    if Membership.objects.filter(room=room, user=user).exists():
        return room
    if room.is_conversation:
        raise no_such_room()
    if room.kind != Room.Kind.PUBLIC:
        # Its name is taken, which creating it would tell anyway; nothing more.
        raise ChatError("forbidden", "this room is private: a member has to add you")
    Membership.objects.get_or_create(room=room, user=user)
    return room


@transaction.atomic
def membership_add(
    *,
    room: Room,
    user: User,
    role: str = Membership.Role.MEMBER,
    by: User | None = None,
) -> Membership:
    """Add `user` to a public or private room (an invitation, or staff in admin);
    their open sockets hear of it (room_added), so the room shows at once."""
    if room.is_conversation:
        # Adding people to a group starts a new conversation (PROTOCOL.md): what
        # was said before they came stays between those who were there.
        raise ChatError(
            "invalid", "a conversation keeps the people it was started with"
        )
    membership, created = Membership.objects.get_or_create(
        room=room, user=user, defaults={"role": role}
    )
    if created:
        events.emit_on_commit(
            [events.user_group(user.pk)],
            "room_added",
            {
                "room": room.name,
                "kind": room.kind,
                "topic": room.topic,
                "by": by.get_username() if by is not None else None,
            },
        )
    return membership


def default_rooms_join(*, user: User) -> list[Room]:
    """Make a new user a member of the site's default rooms (CHAT_DEFAULT_ROOMS),
    each created public on first use, with no owner (staff moderate it), so that
    nobody starts with an empty sidebar. A default name that is not a room name,
    or that a private room took, is skipped."""
    joined = []
    for name in settings.CHAT_DEFAULT_ROOMS:
        try:
            name = room_name_clean(name)
        except ChatError:
            continue
        room, _ = Room.objects.get_or_create(
            name=name, defaults={"kind": Room.Kind.PUBLIC}
        )
        if room.kind == Room.Kind.PUBLIC:
            membership_add(room=room, user=user)
            joined.append(room)
    return joined


def room_invite(*, user: User, room_name: str, username: str) -> Membership:
    """Add `username` to a room: its owner, a moderator or staff only."""
    refuse_if_site_banned(user)
    room, membership = room_for_member(user=user, name=room_name)
    if not may_moderate(user, membership):
        raise ChatError(
            "forbidden", "only the room's owner or a moderator can add people"
        )
    invitee = user_by_username(username)
    return membership_add(room=room, user=invitee, by=user)


def direct_room_get_or_create(*, user: User, other: User) -> Room:
    """The direct room of two users, created with both memberships on first use."""
    name = Room.direct_name(user.pk, other.pk)
    with transaction.atomic():
        room, created = Room.objects.get_or_create(
            name=name, defaults={"kind": Room.Kind.DIRECT, "created_by": user}
        )
        if created:
            Membership.objects.bulk_create(
                [Membership(room=room, user=user), Membership(room=room, user=other)]
            )
    return room


def conversation_people(*, user: User, usernames: list[str]) -> list[User]:
    """The others of a conversation `user` writes to: 1 to 8 distinct active users,
    not `user` (invalid); an unknown or deactivated name is not_found alike."""
    names = conversation_usernames_clean(usernames, me=user.get_username())
    return [user_by_username(name) for name in names]


def conversation_get_or_create(*, user: User, others: list[User]) -> Room:
    """The conversation of `user` with `others` (conversation_people): their direct
    room for one other, else the group room of exactly these people, created with
    every membership on first use. A sender who had left the group is a member
    again; others who left it are not brought back."""
    if len(others) == 1:
        return direct_room_get_or_create(user=user, other=others[0])
    people = [user, *others]
    with transaction.atomic():
        room, created = Room.objects.get_or_create(
            name=Room.group_name(p.pk for p in people),
            defaults={"kind": Room.Kind.GROUP, "created_by": user},
        )
        if created:
            Membership.objects.bulk_create(
                [Membership(room=room, user=p) for p in people]
            )
        elif Membership.objects.get_or_create(room=room, user=user)[1]:
            _group_members_changed(room)
    return room


@transaction.atomic
def conversation_leave(*, user: User, room_name: str) -> Room:
    """Take `user` out of a group conversation, or a public or private room, for
    good: they get nothing more of it. A group's members (and the user's other
    sockets) get group_updated; a room's owner who leaves hands the room over
    (owner_hand_over), and the user's sockets leave it and hear room_left."""
    with transaction.atomic():
        room, membership = room_for_member(user=user, name=room_name)
        if room.is_direct:
            raise ChatError("invalid", "a direct conversation cannot be left")
        membership.delete()
        if room.is_group:
            _group_members_changed(room, left=user)
            return room
        if membership.role == Membership.Role.OWNER:
            owner_hand_over(room)
        events.control_on_commit([events.user_group(user.pk)], "left", room=room.name)
    return room


def owner_hand_over(room: Room) -> Membership | None:
    """Make the room's longest-standing moderator its owner, or else its
    longest-standing member; None when nobody is left (staff moderate it)."""
    heir = (
        Membership.objects.filter(room=room)
        .exclude(role=Membership.Role.OWNER)
        .order_by(
            # Moderators first, each group by seniority.
            models.Case(models.When(role=Membership.Role.MODERATOR, then=0), default=1),
            "joined_at",
            "pk",
        )
        .first()
    )
    if (
        heir is not None
        and not Membership.objects.filter(
            room=room, role=Membership.Role.OWNER
        ).exists()
    ):
        heir.role = Membership.Role.OWNER
        heir.save(update_fields=["role"])
    return heir


def _group_members_changed(room: Room, *, left: User | None = None) -> None:
    """Tell a group's members (and one who `left`) who is in it now, and move its
    live audience (what its sockets send, such as typing) to them, on commit."""
    audience = events.room_audience(room)
    told = [*audience, *([events.user_group(left.pk)] if left else [])]
    data = {"room": room.name, "members": room_member_names(room)}
    events.emit_on_commit(told, "group_updated", data)
    events.control_on_commit(told, "audience", room=room.name, audience=audience)


def room_seq_next(room: Room) -> int:
    """Advance the room's sequence number; holds the room row's lock until commit,
    which orders the room's changes."""
    # UPDATE ... RETURNING: one round trip (PostgreSQL, and SQLite >= 3.35).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + 1"
            " WHERE id = %s RETURNING last_seq",
            [room.pk],
        )
        (room.last_seq,) = cursor.fetchone()
    return room.last_seq
