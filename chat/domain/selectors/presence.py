"""Reads for presence: who of the online users does not want to be disturbed, and
a member's status as list_members shows it. Who is online and active is the
presence store's (chat.infra.presence); what the database adds is here."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.utils import timezone

from chat.models import UserSettings

Status = Literal["active", "idle", "dnd", "offline"]


@dataclass(frozen=True)
class DoNotDisturb:
    usernames: list[str]  # sorted
    # The soonest of their do-not-disturb ends: the list is wrong after it.
    first_end: datetime | None


def users_in_dnd(*, usernames: Collection[str]) -> DoNotDisturb:
    """Which of `usernames` are in do-not-disturb now (UserSettings.dnd_until in
    the future), in one query."""
    if not usernames:
        return DoNotDisturb([], None)
    rows = UserSettings.objects.filter(
        user__username__in=list(usernames), dnd_until__gt=timezone.now()
    ).values_list("user__username", "dnd_until")
    rows = list(rows)
    return DoNotDisturb(
        usernames=sorted(name for name, _ in rows),
        first_end=min((until for _, until in rows), default=None),
    )


def status_of(
    *, online: bool, active: bool, dnd_until: datetime | None, now: datetime
) -> Status:
    """One user's presence: offline, else do-not-disturb, else active or idle."""
    if not online:
        return "offline"
    if dnd_until is not None and dnd_until > now:
        return "dnd"
    return "active" if active else "idle"
