"""Every "may this user see or do that" rule, once. Services and selectors find
and authorise through here, then act.

What an outsider hears of a private or direct room is what they hear of a room
that does not exist, and the same for messages and members: answers never tell
"exists but not yours" from "does not exist".
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from chat.domain import payloads
from chat.domain.errors import ChatError, SiteBanned
from chat.domain.rules import room_ref_clean
from chat.models import Membership, Message, Mute, Room, RoomBan, SiteBan

User = AbstractBaseUser


def no_such_room() -> ChatError:
    return ChatError("not_found", "no such room")


def banned() -> ChatError:
    return ChatError("forbidden", "you are banned from this room")


# --- Rooms ----------------------------------------------------------------------------


def room_named(name: str) -> Room:
    """The room called `name` (a reference as clients write it), or not_found."""
    room = Room.objects.filter(name=room_ref_clean(name)).first()
    if room is None:
        raise no_such_room()
    return room


def membership_of(user: User, room: Room) -> Membership | None:
    return Membership.objects.filter(room=room, user=user).first()


def room_for_member(*, user: User, name: str) -> tuple[Room, Membership]:
    """The room `name` and the user's membership in it, or not_found / forbidden."""
    room = room_named(name)
    membership = membership_sanctioned(user, room)
    if membership is None:
        refuse_if_banned(room, user)
        if room.kind == Room.Kind.PUBLIC:
            raise ChatError("forbidden", "join the room first")
        raise no_such_room()
    if membership.banned:
        raise banned()
    return room, membership


def membership_sanctioned(user: User, room: Room) -> Membership | None:
    """The user's membership in `room` with its sanctions (`banned`, `muted_until`),
    in one query: this is every send's path."""
    sanctions = {"room": room, "user": user}
    return (
        Membership.objects.filter(room=room, user=user)
        .annotate(
            banned=Exists(RoomBan.objects.active().filter(**sanctions)),
            muted_until=Subquery(
                Mute.objects.active().filter(**sanctions).values("expires_at")[:1]
            ),
        )
        .first()
    )


def room_for_reading(*, user: User, name: str) -> Room:
    """A public room, or a private or direct one the user is a member of."""
    room = room_named(name)
    refuse_if_banned(room, user)
    is_member = Membership.objects.filter(room=room, user=user).exists
    if room.kind != Room.Kind.PUBLIC and not is_member():
        raise no_such_room()
    return room


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
        when = payloads.iso(until)
        raise ChatError("forbidden", f"you are muted in this room until {when}")


def may_moderate(user: User, membership: Membership | None) -> bool:
    """Staff anywhere; a room's owner and moderators (by `membership`) in it."""
    return user.is_staff or (membership is not None and membership.can_moderate)


# --- Users ----------------------------------------------------------------------------


def user_by_username(
    username: str, *, member_of: Room | None = None, include_inactive: bool = False
) -> Any:
    """The user called `username`: active ones only unless `include_inactive`
    (staff lifting a ban), and with `member_of`, only a member of that room.
    Anyone else is not_found, so the answer does not tell a deactivated account
    from one that never existed."""
    users = get_user_model().objects.filter(username=username)
    if not include_inactive:
        users = users.filter(is_active=True)
    if member_of is not None:
        users = users.filter(memberships__room=member_of)
    user = users.first()
    if user is None:
        if member_of is not None:
            raise ChatError("not_found", f"no member named '{username}' in this room")
        raise ChatError("not_found", f"no user named '{username}'")
    return user


def user_is_site_banned(user: User) -> bool:
    return SiteBan.objects.active().filter(user=user).exists()


def refuse_if_site_banned(user: User) -> None:
    """A site ban closes the user's sockets, but their session still reaches the
    pages: every service acting on the site's rooms asks here first."""
    if user_is_site_banned(user):
        raise SiteBanned()


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


# --- Messages -------------------------------------------------------------------------


def message_for_change(
    user: User, message_id: int, *, allow_deleted: bool = False
) -> Message:
    """The message, locked for a change by `user` (call inside a transaction),
    or not_found / forbidden.

    Someone who cannot read the room gets not_found, so ids reveal nothing.
    """
    message = _message_locked(message_id)
    if message is None or (message.is_deleted and not allow_deleted):
        raise no_such_message()
    membership = membership_of(user, message.room)
    readable = membership is not None or message.room.kind == Room.Kind.PUBLIC
    if not readable and not user.is_staff:
        raise no_such_message()
    # A ban refuses everything in the room, their own old messages included.
    refuse_if_banned(message.room, user)
    if message.author_id != user.pk and not may_moderate(user, membership):
        raise ChatError("forbidden", "only the author or a moderator can change this")
    return message


def message_for_member(
    user: User, message_id: int, *, lock: bool = False, staff_too: bool = False
) -> tuple[Message, Membership | None]:
    """The message (`lock`: locked, inside a transaction) and `user`'s membership in
    its room (with its sanctions), for a member who is not banned; else not_found
    / forbidden. `staff_too`: staff may act without being a member (membership
    None).

    A public room's non-member is told to join first; anyone who cannot read the
    room hears what they would of a message that does not exist.
    """
    message = _message_locked(message_id) if lock else _message(message_id)
    if message is None or message.is_deleted:
        raise no_such_message()
    return message, _membership_for_acting(user, message.room, staff_too=staff_too)


def _membership_for_acting(
    user: User, room: Room, *, staff_too: bool = False
) -> Membership | None:
    """`user`'s membership in the room of a message they act on (with its
    sanctions): see message_for_member."""
    membership = membership_sanctioned(user, room)
    if membership is None:
        if staff_too and user.is_staff:
            return None
        if room.kind != Room.Kind.PUBLIC:
            raise no_such_message()
        refuse_if_banned(room, user)
        raise ChatError("forbidden", "join the room first")
    if membership.banned:
        raise banned()
    return membership


def message_for_reading(user: User, message_id: int) -> Message:
    """The message, for someone who may read its room (a public room's, or a
    member's); else not_found (forbidden when banned from the room)."""
    message = _message(message_id)
    if message is None or message.is_deleted:
        raise no_such_message()
    _refuse_unless_reader(user, message.room)
    return message


def _refuse_unless_reader(user: User, room: Room) -> None:
    if room.kind != Room.Kind.PUBLIC and membership_of(user, room) is None:
        raise no_such_message()
    refuse_if_banned(room, user)


def thread_root_for_reading(user: User, message_id: int) -> Message:
    """The root of the thread `message_id` belongs to (that message, or a reply's
    root), for someone who may read its room. A deleted root stays readable while
    replies remain under it."""
    root = _message(message_id)
    if root is not None and root.thread_id is not None:
        root = _message(root.thread_id)
    if root is None or (root.is_deleted and not root.reply_count):
        raise no_such_message()
    _refuse_unless_reader(user, root.room)
    return root


def thread_root_for_member(user: User, message_id: int) -> Message:
    """As thread_root_for_reading, for a member of its room who is not banned
    (following, read markers)."""
    root = thread_root_for_reading(user, message_id)
    _membership_for_acting(user, root.room)
    return root


def message_for_reacting(user: User, message_id: int) -> Message:
    """The message, locked, for a reaction by `user` (call inside a transaction):
    reacting is posting, so banned and muted members may not."""
    message, membership = message_for_member(user, message_id, lock=True)
    refuse_if_muted(message.room, user, membership)
    return message


def refuse_if_past_edit_window(user: User, message: Message) -> None:
    """Authors edit within CHAT_EDIT_WINDOW seconds of sending (0: any time); the
    room's moderators and staff at any time."""
    window = settings.CHAT_EDIT_WINDOW
    if not window or timezone.now() - message.created_at <= timedelta(seconds=window):
        return
    if may_moderate(user, membership_of(user, message.room)):
        return
    span = f"{window // 60} minutes" if window % 60 == 0 else f"{window} seconds"
    raise ChatError(
        "forbidden", f"a message can be edited only in the {span} after it was sent"
    )


def no_such_message() -> ChatError:
    return ChatError("not_found", "no such message")


def _message(message_id: int) -> Message | None:
    return (
        Message.objects.select_related("room", "author").filter(pk=message_id).first()
    )


def _message_locked(message_id: int) -> Message | None:
    # Only the message's row: the room's is locked when its seq is taken
    # (room_seq_next), late in the transaction, since every write to the room
    # (the writer's batches included) waits on it.
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("room", "author")
        .filter(pk=message_id)
        .first()
    )
