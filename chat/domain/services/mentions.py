"""Mentions: who a message names, worked out on the server when it is sent or
edited (never taken from the client), stored per recipient (Mention) and told to
each of them; read when their read marker passes it.

Recipients are members of the message's room, active and not banned from it,
never its author: @username names one, @room all of them (only the room's owners,
moderators and staff in a room of over CHAT_ROOM_MENTION_MAX_MEMBERS members),
@here those online when it is sent. A member named both ways counts as named.
"""

from collections.abc import Collection
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Q

from chat.domain import access, events, mentions, payloads
from chat.domain.errors import ChatError
from chat.models import Membership, Mention, Message, Room, RoomBan

User = AbstractBaseUser


@dataclass(frozen=True)
class Recipients:
    """Whom a message mentions: {user id: (username, Mention.Kind)}, and what
    Message.mentions keeps."""

    by_user: dict[int, tuple[str, str]] = field(default_factory=dict)
    stored: list[str] = field(default_factory=list)


NOBODY = Recipients()


def mentions_resolve(
    *,
    room: Room,
    author: User,
    membership: Membership | None,
    body: str,
    online: Collection[str] | None = None,
) -> Recipients:
    """Whom `body`, written by `author` in `room`, mentions. `online`: the usernames
    online now, for @here (None: @here reaches nobody, as from admin). A refused
    @room is a ChatError, so nothing is stored."""
    named = mentions.names_in(body)
    if not named:
        return NOBODY
    members = _members(room, author)
    if named.wildcard == mentions.ROOM:
        _refuse_room_mention(room, author, membership, len(members) + 1)
    by_name = {name: user_id for user_id, name in members}
    folded = {name.casefold(): name for name in by_name}
    explicit = set()
    for written, bare in named.candidates:
        for candidate in (written, bare):
            exact = candidate if candidate in by_name else None
            name = exact or folded.get(candidate.casefold())
            if name is not None:
                explicit.add(name)
                break
    by_user: dict[int, tuple[str, str]] = {}
    if named.wildcard == mentions.ROOM:
        by_user = {uid: (name, Mention.Kind.ROOM) for uid, name in members}
    elif named.wildcard == mentions.HERE:
        here = set(online or ())
        by_user = {
            uid: (name, Mention.Kind.HERE) for uid, name in members if name in here
        }
    for name in explicit:
        by_user[by_name[name]] = (name, Mention.Kind.USER)
    return Recipients(by_user, mentions.stored_list(explicit, named.wildcard))


def _members(room: Room, author: User) -> list[tuple[int, str]]:
    """(user id, username) of the room's members who can be mentioned."""
    banned = RoomBan.objects.active().filter(room=room, user=OuterRef("user"))
    return list(
        Membership.objects.filter(room=room, user__is_active=True)
        .exclude(user=author)
        .exclude(Exists(banned))
        .values_list("user_id", "user__username")
    )


def _refuse_room_mention(
    room: Room, author: User, membership: Membership | None, members: int
) -> None:
    limit = settings.CHAT_ROOM_MENTION_MAX_MEMBERS
    if room.is_conversation or members <= limit:
        return
    if not access.may_moderate(author, membership):
        raise ChatError(
            "forbidden",
            f"only the room's owners and moderators may mention @room "
            f"in a room of over {limit} members",
        )


def mentions_store(message: Message, recipients: Recipients) -> None:
    """Record a new message's mentions (inside its transaction) and tell each
    recipient's sockets once it commits."""
    if not recipients.by_user:
        return
    Mention.objects.bulk_create(
        [
            Mention(message=message, user_id=uid, room_id=message.room_id, kind=kind)
            for uid, (_, kind) in recipients.by_user.items()
        ]
    )
    _tell(message, recipients.by_user)


def mentions_update(message: Message, recipients: Recipients) -> None:
    """After an edit: who is no longer mentioned loses the mention, who newly is
    gets one (and is told); the others keep theirs, read or not."""
    kept = dict(Mention.objects.filter(message=message).values_list("user_id", "kind"))
    gone = set(kept) - set(recipients.by_user)
    Mention.objects.filter(message=message, user_id__in=gone).delete()
    new = {u: r for u, r in recipients.by_user.items() if u not in kept}
    Mention.objects.bulk_create(
        [
            Mention(message=message, user_id=uid, room_id=message.room_id, kind=kind)
            for uid, (_, kind) in new.items()
        ]
    )
    for uid, (_, kind) in recipients.by_user.items():
        if uid in kept and kept[uid] != kind:
            Mention.objects.filter(message=message, user_id=uid).update(kind=kind)
    _tell(message, new)


def _tell(message: Message, by_user: dict[int, tuple[str, str]]) -> None:
    for user_id, (_, kind) in by_user.items():
        events.emit_on_commit(
            [events.user_group(user_id)],
            "mentioned",
            payloads.mention_object(message, kind),
        )


def mentions_mark_read(
    *, user: User, room_id: int, up_to_id: int, thread_id: int | None = None
) -> int:
    """The user has read their room up to `up_to_id` (what the room shows: its
    top-level messages and replies also sent to it), or with `thread_id` that
    thread's replies up to it. How many mentions that read."""
    unread = Mention.objects.filter(
        user=user, room_id=room_id, read=False, message_id__lte=up_to_id
    )
    if thread_id is None:
        unread = unread.filter(
            Q(message__thread__isnull=True) | Q(message__also_to_room=True)
        )
    else:
        unread = unread.filter(message__thread_id=thread_id)
    return unread.update(read=True)


__all__ = [
    "NOBODY",
    "Recipients",
    "mentions_mark_read",
    "mentions_resolve",
    "mentions_store",
    "mentions_update",
]
