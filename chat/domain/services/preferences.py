"""Notification preferences: the user's own (UserSettings: desktop and email
notifications, the email delay, do-not-disturb, read receipts) and each room's
(Membership.notify and muted). Every change is told to all the user's sockets
(settings_changed, room_notify), so their other tabs and devices follow."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat.domain import events, payloads
from chat.domain.access import room_for_member
from chat.domain.errors import ChatError
from chat.domain.selectors.notifications import rooms_notifying_all_forget
from chat.domain.services import activity
from chat.domain.unsubscribe import user_for_token
from chat.models import Membership, Notify, UserSettings

User = AbstractBaseUser

# The email delay a user may choose, in minutes: up to a day.
EMAIL_DELAY_MIN = 1
EMAIL_DELAY_MAX = 1440
_SWITCHES = ("desktop_notifications", "email_notifications", "send_read_receipts")
SETTINGS_FIELDS = (*_SWITCHES, "email_delay", "dnd_until")


# --- The user's own settings ----------------------------------------------------------


def user_settings_update(*, user: User, **fields: Any) -> UserSettings:
    """Change some of the user's settings (SETTINGS_FIELDS, by name): the switches
    true or false, `email_delay` minutes (EMAIL_DELAY_MIN to EMAIL_DELAY_MAX) or
    None for the site's, `dnd_until` an aware time or None (one that is past
    turns do-not-disturb off). Every socket of the user gets settings_changed;
    asking for what is already set changes nothing and sends nothing."""
    wanted = _settings_clean(fields)
    with transaction.atomic():
        row, _ = UserSettings.objects.select_for_update().get_or_create(user=user)
        changed = [
            name for name, value in wanted.items() if getattr(row, name) != value
        ]
        if changed:
            for name in changed:
                setattr(row, name, wanted[name])
            row.save(update_fields=changed)
            events.emit_on_commit(
                [events.user_group(user.pk)],
                "settings_changed",
                payloads.settings_object(row),
            )
            if "dnd_until" in changed:  # others see the do-not-disturb dot
                activity.presence_changed_on_commit(user_id=user.pk)
    return row


def _settings_clean(fields: dict[str, Any]) -> dict[str, Any]:
    if unknown := sorted(set(fields) - set(SETTINGS_FIELDS)):
        raise ChatError("invalid", f"no setting named '{unknown[0]}'")
    for name in _SWITCHES:
        if name in fields and not isinstance(fields[name], bool):
            raise ChatError("invalid", f"'{name}' must be true or false")
    cleaned = dict(fields)
    if "email_delay" in fields:
        cleaned["email_delay"] = email_delay_clean(fields["email_delay"])
    if "dnd_until" in fields:
        cleaned["dnd_until"] = dnd_until_clean(fields["dnd_until"])
    return cleaned


def email_delay_clean(minutes: Any) -> int | None:
    """Minutes a DM or mention waits before it is emailed, or None (the site's)."""
    if minutes is None:
        return None
    whole = isinstance(minutes, int) and not isinstance(minutes, bool)
    if not whole or not EMAIL_DELAY_MIN <= minutes <= EMAIL_DELAY_MAX:
        raise ChatError(
            "invalid",
            f"the email delay is {EMAIL_DELAY_MIN} to {EMAIL_DELAY_MAX} minutes",
        )
    return minutes


def dnd_until_clean(until: Any) -> datetime | None:
    """The end of do-not-disturb: None, or a time with its zone; a time that is
    past already is None (do-not-disturb off)."""
    if until is None:
        return None
    if not isinstance(until, datetime) or timezone.is_naive(until):
        raise ChatError("invalid", "do-not-disturb ends at a time with a time zone")
    return until if until > timezone.now() else None


def email_unsubscribe(*, token: str) -> User:
    """Turn email notifications off for the user of an unsubscribe link's token
    (chat.domain.unsubscribe), who need not be logged in; not_found for a token
    that is not one."""
    user = user_for_token(token)
    user_settings_update(user=user, email_notifications=False)
    return user


# --- Each room's ---------------------------------------------------------------------


def room_notify_set(
    *,
    user: User,
    room_name: str,
    notify: str | None = None,
    muted: bool | None = None,
) -> dict[str, Any]:
    """Set what the room `room_name` notifies its member `user` of (a Notify
    value) and/or whether it is muted for them; returns the room's state then,
    `{room, notify, muted}`, which every socket of the user gets as room_notify
    when it changed. not_found / forbidden as for any member's act
    (access.room_for_member)."""
    if notify is None and muted is None:
        raise ChatError("invalid", "give 'notify', 'muted' or both")
    if notify is not None and notify not in Notify.values:
        raise ChatError("invalid", "'notify' is one of " + ", ".join(Notify.values))
    with transaction.atomic():
        room, found = room_for_member(user=user, name=room_name)
        # Locked: two devices changing one field each both see the other's.
        membership = Membership.objects.select_for_update().get(pk=found.pk)
        wanted = {"notify": notify, "muted": muted}
        changed = [
            name
            for name, value in wanted.items()
            if value is not None and getattr(membership, name) != value
        ]
        for name in changed:
            setattr(membership, name, wanted[name])
        state = {
            "room": room.name,
            "notify": membership.notify,
            "muted": membership.muted,
        }
        if changed:
            membership.save(update_fields=changed)
            events.emit_on_commit([events.user_group(user.pk)], "room_notify", state)
            if "notify" in changed:
                transaction.on_commit(rooms_notifying_all_forget)
    return state


# --- The settings page: all at once -------------------------------------------------


@dataclass(frozen=True)
class RoomNotifyChange:
    room: str  # the room's name
    notify: str | None = None
    muted: bool | None = None


def notification_preferences_save(
    *,
    user: User,
    settings: dict[str, Any],
    rooms: list[RoomNotifyChange],
    email: str | None = None,
) -> None:
    """The settings page's save: the user's `settings` (as user_settings_update
    takes them), each room's level and mute, and the address notification
    emails go to (`email`; None: unchanged, "": none), all or nothing. Each
    change is told as it would be alone, once everything is committed."""
    with transaction.atomic():
        if email is not None and email != user.email:
            user.email = email
            user.save(update_fields=["email"])
        user_settings_update(user=user, **settings)
        for change in rooms:
            room_notify_set(
                user=user,
                room_name=change.room,
                notify=change.notify,
                muted=change.muted,
            )
