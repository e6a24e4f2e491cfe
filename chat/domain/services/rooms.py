"""Rooms and memberships: create, join, invite, direct rooms."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
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
    room_name_clean,
    room_ref_clean,
    topic_clean,
)
from chat.models import (
    DIRECT_PREFIX,
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
        .exclude(kind=Room.Kind.DIRECT)
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
    tutorial. Private and direct rooms need an existing membership."""
    ref = room_ref_clean(name)
    refuse_if_site_banned(user)
    room = Room.objects.filter(name=ref).first()
    if room is None:
        if ref.startswith(DIRECT_PREFIX):
            raise no_such_room()  # as for another pair's conversation
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
    if room.is_direct:
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
    if room.is_direct:
        raise ChatError("invalid", "a direct conversation has exactly its two members")
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
