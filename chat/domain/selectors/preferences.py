"""Reads of a user's notification preferences: their settings, and what each of
their rooms notifies them of."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef

from chat.domain.selectors.rooms import _direct_peers, _group_members
from chat.models import Membership, Notify, Room, RoomBan, UserSettings

User = AbstractBaseUser


def user_settings_of(user: User) -> UserSettings:
    """The user's settings: their row, or an unsaved one holding the defaults
    (a user has no row until they first change something)."""
    return UserSettings.objects.filter(user=user).first() or UserSettings(user=user)


def default_notify(room: Room) -> str:
    """What Notify.DEFAULT stands for in `room`: every message of a direct or
    group conversation (it is addressed to its members), only mentions in a
    room (where most of what is said is not for them)."""
    return Notify.ALL if room.is_conversation else Notify.MENTIONS


@dataclass(frozen=True)
class RoomNotify:
    """One of the user's rooms as the settings page lists it."""

    room_id: int
    room: str  # its name, as the protocol writes it
    kind: str
    label: str  # "#general", "@ana", "ana, ben"
    notify: str  # the stored level (a Notify value)
    default: str  # what DEFAULT stands for here (ALL or MENTIONS)
    muted: bool


def room_notify_levels(*, user: User) -> list[RoomNotify]:
    """The user's rooms (rooms first, by name; then conversations by who they
    are with) with their notification level and mute, in three queries: not
    those the user is banned from, which are not theirs (as in list_rooms)."""
    banned = RoomBan.objects.active().filter(room=OuterRef("room_id"), user=user)
    memberships = list(
        Membership.objects.filter(user=user)
        .exclude(Exists(banned))
        .select_related("room")
    )
    peers = _direct_peers(user, [m.room_id for m in memberships if m.room.is_direct])
    groups = _group_members(
        room_ids=[m.room_id for m in memberships if m.room.is_group]
    )
    me = user.get_username()
    rows = [
        RoomNotify(
            room_id=m.room_id,
            room=m.room.name,
            kind=m.room.kind,
            label=_label(m.room, peers, groups, me),
            notify=m.notify,
            default=default_notify(m.room),
            muted=m.muted,
        )
        for m in memberships
    ]
    rows.sort(key=lambda r: (r.kind in _CONVERSATIONS, r.label.casefold(), r.room))
    return rows


_CONVERSATIONS = (Room.Kind.DIRECT, Room.Kind.GROUP)


def _label(
    room: Room, peers: dict[int, str], groups: dict[int, list[str]], me: str
) -> str:
    if room.is_direct:
        # The other account may be gone (its membership with it).
        return "@" + peers.get(room.pk, "(deleted account)")
    if room.is_group:
        others = [name for name in groups.get(room.pk, []) if name != me]
        return ", ".join(others) or "only you"
    return "#" + room.name
