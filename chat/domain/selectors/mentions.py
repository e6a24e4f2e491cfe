"""Reads of mentions: how many each room holds unread for a user, and the user's
latest mentions across their rooms (the Mentions view)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef

from chat.domain.selectors.messages import message_objects
from chat.models import Membership, Mention, RoomBan

User = AbstractBaseUser

MENTIONS_PAGE = 50  # list_mentions' default and largest page: 100


def mention_counts(*, user: User, room_id: int | None = None) -> dict[int, int]:
    """{room id: the user's unread mentions there}, of messages not deleted."""
    unread = Mention.objects.filter(
        user=user, read=False, message__deleted_at__isnull=True
    )
    if room_id is not None:
        unread = unread.filter(room_id=room_id)
    rows = unread.order_by().values("room_id").annotate(n=Count("pk"))
    return {row["room_id"]: row["n"] for row in rows}


def mentions_page(
    *, user: User, before: int | None = None, limit: int = MENTIONS_PAGE
) -> dict[str, Any]:
    """The messages mentioning the user, newest first, older than message id
    `before`: in rooms they are still a member of and not banned from, not
    deleted. Each message object also says the mention's `kind` and `read`."""
    member = Membership.objects.filter(room=OuterRef("room"), user=user)
    banned = RoomBan.objects.active().filter(room=OuterRef("room"), user=user)
    entries = (
        Mention.objects.filter(user=user, message__deleted_at__isnull=True)
        .filter(Exists(member))
        .exclude(Exists(banned))
        .select_related("message__room", "message__author")
        .order_by("-message_id")
    )
    if before is not None:
        entries = entries.filter(message_id__lt=before)
    rows = list(entries[: limit + 1])
    page = rows[:limit]
    objects = message_objects([m.message for m in page], None, user.pk)
    for shown, mention in zip(objects, page, strict=True):
        shown.update(kind=mention.kind, read=mention.read)
    return {"mentions": objects, "hasMore": len(rows) > limit}
