"""Reads of threads: one thread's replies, the threads a user follows, and what
is unread in them."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from chat.domain.access import thread_root_for_reading
from chat.domain.selectors.messages import message_objects
from chat.models import Membership, Message, RoomBan, ThreadFollow

User = AbstractBaseUser

# The most followed threads list_threads returns (the latest replied to).
THREADS_LISTED = 50


def thread_page(
    *, user: User, message_id: int, before_id: int | None, limit: int
) -> dict[str, Any]:
    """The thread `message_id` is in: its root, and up to `limit` replies older
    than `before_id` (or the newest), oldest first; the user's following and
    read marker."""
    root = thread_root_for_reading(user, message_id)
    replies = root.replies.select_related("author")
    if before_id is not None:
        replies = replies.filter(pk__lt=before_id)
    rows = list(replies.order_by("-id")[: limit + 1])
    entry = ThreadFollow.objects.filter(user=user, root=root).first()
    objects = message_objects([root, *rows[:limit][::-1]], root.room, user.pk)
    return {
        "room": root.room.name,
        "root": objects[0],
        "messages": objects[1:],
        "hasMore": len(rows) > limit,
        "following": entry is not None and entry.following,
        "lastReadId": entry.last_read_id if entry else 0,
    }


def thread_unread(root: Message, user_id: int, last_read_id: int) -> int:
    return _unread_replies(root.pk, user_id, last_read_id).count()


def _unread_replies(root_id: Any, user_id: Any, last_read_id: Any):
    return Message.objects.filter(
        thread_id=root_id, pk__gt=last_read_id, deleted_at__isnull=True
    ).exclude(author_id=user_id)


def followed_threads(*, user: User) -> list[dict[str, Any]]:
    """The threads the user follows in rooms they are still a member of (not
    banned), the latest replied to first, each with its unread replies."""
    unread = (
        _unread_replies(OuterRef("root_id"), user.pk, OuterRef("last_read_id"))
        .values("thread_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    member = Membership.objects.filter(room=OuterRef("root__room"), user=user)
    banned = RoomBan.objects.active().filter(room=OuterRef("root__room"), user=user)
    entries = (
        ThreadFollow.objects.filter(user=user, following=True)
        .filter(Exists(member))
        .exclude(Exists(banned))
        .select_related("root__room", "root__author")
        .annotate(
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))
        )
        .order_by(F("root__last_reply_at").desc(nulls_last=True), "-root_id")
    )
    entries = list(entries[:THREADS_LISTED])
    roots = message_objects([e.root for e in entries], None, user.pk)
    return [
        {
            "room": entry.root.room.name,
            "root": root,
            "unread": entry.unread,
            "lastReadId": entry.last_read_id,
            "following": True,
        }
        for entry, root in zip(entries, roots, strict=True)
    ]
