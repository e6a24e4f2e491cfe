"""Threads: replies under a room's top-level message, its summary, and who
follows it and how far they have read.

A reply is a Message with `thread` set (chat.domain.services.messages stores it);
here the root is found and locked before the reply is stored, and its summary
kept after. Locks go reply, then root, then room (room_seq_next), in every path.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat.domain import events, payloads
from chat.domain.access import no_such_message, thread_root_for_member
from chat.domain.errors import ChatError
from chat.domain.selectors.threads import thread_unread
from chat.domain.services.mentions import mentions_mark_read
from chat.domain.services.reads import room_read_announce
from chat.domain.services.rooms import room_seq_next
from chat.models import Mention, Message, Room, ThreadFollow

User = AbstractBaseUser

# The distinct latest repliers a root's summary names.
REPLIERS_SHOWN = 3


def thread_root_for_reply(room: Room, thread_id: int) -> Message:
    """The root a reply to `thread_id` in `room` attaches to, locked (inside a
    transaction): that message, or the root of that reply. A deleted root, or one
    in another room, is not_found."""
    target = _locked(thread_id)
    if target is not None and target.thread_id is not None:
        target = _locked(target.thread_id)  # a reply to a reply: to its root
    if target is None or target.room_id != room.pk or target.is_deleted:
        raise no_such_message()
    return target


def _locked(message_id: int) -> Message | None:
    # Of the joined rows, only the message's is locked.
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("room", "author")
        .filter(pk=message_id)
        .first()
    )


def thread_reply_added(root: Message, reply: Message) -> None:
    """After `reply` is stored under `root` (locked): the root's summary grows,
    taking the room's next seq. Then, once that is committed, thread_followers_add."""
    root.reply_count += 1
    root.last_reply_at = reply.created_at
    root.last_reply_id = reply.pk
    name = reply.author.get_username()
    root.repliers = [name, *(n for n in root.repliers if n != name)][:REPLIERS_SHOWN]
    root.changed_seq = room_seq_next(reply.room)
    _summary_save(root, reply.room)


def thread_followers_add(root: Message, reply: Message) -> None:
    """The replier follows the thread, again even after an unfollow (as Slack
    does), having read it up to their own reply; the root's author follows from
    its first reply, and whoever the reply names (@username) from then on. In a
    transaction of its own, after the reply's: the room's row, which every write
    to the room waits on, is not held for this."""
    with transaction.atomic():
        _follow_set(reply.author, root, following=True, read_up_to=reply.pk)
        if root.author_id != reply.author_id:
            _follow_start(root.author, root)
        named = Mention.objects.filter(message=reply, kind=Mention.Kind.USER)
        for user in (
            get_user_model()
            .objects.filter(pk__in=named.values("user_id"))
            .exclude(pk=root.author_id)
        ):
            _follow_start(user, root)


def thread_reply_removed(root: Message, room: Room) -> None:
    """After a reply under `root` (locked) was deleted: its summary, counted again."""
    replies = root.replies.filter(deleted_at__isnull=True).select_related("author")
    latest = list(replies.order_by("-id")[:50])
    root.reply_count = replies.count()
    root.last_reply_at = latest[0].created_at if latest else None
    root.last_reply_id = latest[0].pk if latest else None
    names: list[str] = []
    for reply in latest:
        if (name := reply.author.get_username()) not in names:
            names.append(name)
    root.repliers = names[:REPLIERS_SHOWN]
    root.changed_seq = room_seq_next(room)
    _summary_save(root, room)


def thread_root_locked(message: Message) -> Message | None:
    """A reply's root, locked (before the room is: see the module's doc)."""
    if message.thread_id is None:
        return None
    return _locked(message.thread_id)


def _summary_save(root: Message, room: Room) -> None:
    root.save(
        update_fields=[
            "reply_count",
            "last_reply_at",
            "last_reply_id",
            "repliers",
            "changed_seq",
        ]
    )
    events.emit_on_commit(
        events.room_audience(room),
        "thread_updated",
        {
            "room": room.name,
            "id": root.pk,
            **payloads.thread_summary(root),
            "seq": root.changed_seq,
        },
    )


def thread_follow(*, user: User, root_id: int, follow: bool) -> dict[str, Any]:
    """Follow or unfollow a thread of a room the user is a member of; its state
    for them (as thread_followed gives it)."""
    with transaction.atomic():
        root = thread_root_for_member(user, root_id)
        entry = _follow_set(user, root, following=follow)
        return _follow_state(entry, root, following=True)


def thread_mark_read(*, user: User, root_id: int, message_id: int) -> dict[str, Any]:
    """Move the user's read marker in a thread forward to `message_id` (one of its
    replies); every socket of theirs is told. Its state for them (thread_read)."""
    with transaction.atomic():
        root = thread_root_for_member(user, root_id)
        if not root.replies.filter(pk=message_id).exists():
            raise ChatError("not_found", "no such reply in this thread")
        entry, _ = ThreadFollow.objects.select_for_update().get_or_create(
            user=user, root=root, defaults={"following": False}
        )
        if entry.last_read_id < message_id:
            entry.last_read_id = message_id
            entry.save(update_fields=["last_read_id"])
        state = _follow_state(entry, root)
        _emit_to_user(user, "thread_read", state)
        read = mentions_mark_read(
            user=user, room_id=root.room_id, up_to_id=message_id, thread_id=root.pk
        )
        if read:  # the room's mention count went down
            room_read_announce(user, root.room)
    return state


def _follow_start(user: User, root: Message) -> None:
    """The root's author follows from the first reply, unless they unfollowed."""
    entry, created = ThreadFollow.objects.get_or_create(user=user, root=root)
    if created:
        _emit_to_user(user, "thread_followed", _follow_state(entry, root, True))


def _follow_set(
    user: User, root: Message, *, following: bool, read_up_to: int = 0
) -> ThreadFollow:
    entry, created = ThreadFollow.objects.select_for_update().get_or_create(
        user=user,
        root=root,
        defaults={"following": following, "last_read_id": read_up_to},
    )
    changed = created or entry.following != following
    if not created and (changed or entry.last_read_id < read_up_to):
        entry.following = following
        entry.last_read_id = max(entry.last_read_id, read_up_to)
        entry.save(update_fields=["following", "last_read_id"])
    if changed:
        _emit_to_user(user, "thread_followed", _follow_state(entry, root, True))
    return entry


def _follow_state(
    entry: ThreadFollow, root: Message, following: bool = False
) -> dict[str, Any]:
    """A user's state in a thread: how far they read it and what is unread after
    that (and with `following`, whether they follow it)."""
    state: dict[str, Any] = {"room": root.room.name, "id": root.pk}
    if following:
        state["following"] = entry.following
    state["lastReadId"] = entry.last_read_id
    state["unread"] = thread_unread(root, entry.user_id, entry.last_read_id)
    state["lastReplyId"] = root.last_reply_id
    return state


def _emit_to_user(user: User, event: str, state: dict[str, Any]) -> None:
    """To every socket of the user (thread_followed, thread_read)."""
    events.emit_on_commit([events.user_group(user.pk)], event, state)
