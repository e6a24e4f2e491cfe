"""Moderation: kicks, bans, mutes and site bans, from admin or from the chat.

Like chat.domain.services, each function checks who may act, writes in a transaction and
then reaches the live sockets (on every worker, through the target's user group).
Every action is recorded as a ModerationAction.
"""

import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat.domain import events, payloads
from chat.domain.access import (
    may_moderate,
    membership_of,
    no_such_room,
    room_named,
    user_by_username,
)
from chat.domain.errors import ChatError
from chat.models import Membership, ModerationAction, Mute, Room, RoomBan, SiteBan

User = AbstractBaseUser
REASON_MAX = 250
MUTE_MAX_MINUTES = 7 * 24 * 60

Kind = ModerationAction.Kind
logger = logging.getLogger(__name__)


@transaction.atomic
def room_kick(*, actor: User, room_name: str, username: str, reason: str = "") -> None:
    """Take the user out of the room now; they may come back to a public room."""
    room, target = _moderated(actor, room_name, username, reason)
    Membership.objects.filter(room=room, user=target).delete()
    _kick_sockets(room, target, reason, actor)
    _record(actor, Kind.KICK, room=room, target=target, reason=reason)


@transaction.atomic
def room_ban(
    *,
    actor: User,
    room_name: str,
    username: str,
    reason: str = "",
    expires_at: datetime | None = None,
) -> RoomBan:
    """Keep the user out of the room (until `expires_at`, if given)."""
    room, target = _moderated(actor, room_name, username, reason)
    ban, _ = RoomBan.objects.update_or_create(
        room=room,
        user=target,
        defaults={"reason": reason, "expires_at": expires_at, "created_by": actor},
    )
    _kick_sockets(room, target, reason or "banned from this room", actor)
    _record(
        actor, Kind.BAN, room=room, target=target, reason=reason, expires_at=expires_at
    )
    return ban


@transaction.atomic
def room_unban(*, actor: User, room_name: str, username: str) -> None:
    room, target = _moderated(actor, room_name, username, "")
    RoomBan.objects.filter(room=room, user=target).delete()
    _record(actor, Kind.UNBAN, room=room, target=target)


@transaction.atomic
def room_mute(
    *, actor: User, room_name: str, username: str, until: datetime, reason: str = ""
) -> Mute:
    """Let the user read the room but not post until `until`."""
    room, target = _moderated(actor, room_name, username, reason)
    if until <= timezone.now():
        raise ChatError("invalid", "a mute must end in the future")
    mute, _ = Mute.objects.update_or_create(
        room=room,
        user=target,
        defaults={"reason": reason, "expires_at": until, "created_by": actor},
    )
    events.emit_on_commit(
        [events.user_group(target.pk)],
        "muted",
        {
            "room": room.name,
            "until": payloads.iso(until),
            "reason": reason,
            "by": _signed(actor),
        },
    )
    _record(actor, Kind.MUTE, room=room, target=target, reason=reason, expires_at=until)
    return mute


def room_mute_for(
    *, actor: User, room_name: str, username: str, minutes: int, reason: str = ""
) -> Mute:
    if not 1 <= minutes <= MUTE_MAX_MINUTES:
        raise ChatError("invalid", f"'minutes' must be 1 to {MUTE_MAX_MINUTES}")
    until = timezone.now() + timedelta(minutes=minutes)
    return room_mute(
        actor=actor, room_name=room_name, username=username, until=until, reason=reason
    )


@transaction.atomic
def room_unmute(*, actor: User, room_name: str, username: str) -> None:
    room, target = _moderated(actor, room_name, username, "")
    Mute.objects.filter(room=room, user=target).delete()
    events.emit_on_commit(
        [events.user_group(target.pk)], "unmuted", {"room": room.name}
    )
    _record(actor, Kind.UNMUTE, room=room, target=target)


@transaction.atomic
def site_ban(
    *, actor: User, username: str, reason: str = "", expires_at: datetime | None = None
) -> SiteBan:
    """Staff only: close every socket of the user and refuse new ones."""
    target = _staff_over(actor, username, reason)
    ban, _ = SiteBan.objects.update_or_create(
        user=target,
        defaults={"reason": reason, "expires_at": expires_at, "created_by": actor},
    )
    events.user_sessions_end(target.pk, events.END_REFUSED)
    _record(actor, Kind.SITE_BAN, target=target, reason=reason, expires_at=expires_at)
    return ban


@transaction.atomic
def site_unban(*, actor: User, username: str) -> None:
    target = _staff_over(actor, username, "")
    SiteBan.objects.filter(user=target).delete()
    _record(actor, Kind.SITE_UNBAN, target=target)


# --- Who may act on whom -------------------------------------------------------------


def _moderated(
    actor: User, room_name: str, username: str, reason: str
) -> tuple[Room, User]:
    """The room and the target, if `actor` may moderate that target there.

    Answers reveal no more than the actor could see: a private room they are not
    in is "no such room", a user who is not a member (unknown, deactivated, or
    never joined) is "no such member", and staff and the room's moderators are
    refused alike."""
    _check_reason(reason)
    room = room_named(room_name)
    if room.is_conversation:
        raise no_such_room()
    actor_membership = membership_of(actor, room)
    if not may_moderate(actor, actor_membership):
        if actor_membership is None and room.kind != Room.Kind.PUBLIC:
            raise no_such_room()
        raise ChatError("forbidden", "only the room's moderators can do this")
    # Staff (in admin) may also name someone who is not a member, to ban them
    # before they come.
    target = user_by_username(username, member_of=None if actor.is_staff else room)
    if target.pk == actor.pk:
        raise ChatError("invalid", "you cannot moderate yourself")
    if not actor.is_staff and may_moderate(target, membership_of(target, room)):
        raise ChatError("forbidden", "you cannot moderate this member")
    return room, target


def _staff_over(actor: User, username: str, reason: str) -> User:
    _check_reason(reason)
    if not actor.is_staff:
        raise ChatError("forbidden", "only staff can ban from the site")
    target = user_by_username(username, include_inactive=True)
    if target.pk == actor.pk:
        raise ChatError("invalid", "you cannot moderate yourself")
    return target


def _check_reason(reason: str) -> None:
    if len(reason) > REASON_MAX:
        raise ChatError("too_long", f"a reason is at most {REASON_MAX} characters")


def _kick_sockets(room: Room, target: User, reason: str, actor: User) -> None:
    # The reason is the moderator's words: the member is told whose.
    events.control_on_commit(
        [events.user_group(target.pk)],
        "kick",
        room=room.name,
        reason=reason,
        by=_signed(actor),
    )


def _signed(actor: User) -> str | None:
    """Who a moderated member is told acted: a room moderator by name, staff as
    the site's moderators (None), so that no reply says which accounts are staff."""
    return None if actor.is_staff else actor.get_username()


def _record(actor: User, kind: str, **details: object) -> None:
    action = ModerationAction.objects.create(actor=actor, kind=kind, **details)
    # The reason is the moderator's text: it stays in the audit log, not the logs.
    logger.info(
        "moderation %s by %s: target=%s room=%s",
        kind,
        actor.get_username(),
        getattr(action, "target", None),
        getattr(action, "room", None),
    )
