"""Messages: send (one, a batch, to people), edit, delete; each broadcast on commit."""

from collections.abc import Collection
from contextlib import nullcontext
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from chat.domain import events, mentions, payloads, richtext
from chat.domain.access import (
    banned,
    membership_of,
    membership_sanctioned,
    message_for_change,
    refuse_if_muted,
    refuse_if_past_edit_window,
    room_for_member,
)
from chat.domain.errors import ChatError
from chat.domain.rules import (
    client_id_clean,
    message_body_clean,
)
from chat.domain.selectors.rooms import room_member_names
from chat.domain.services import threads
from chat.domain.services.mentions import (
    NOBODY,
    Recipients,
    mentions_resolve,
    mentions_store,
    mentions_update,
)
from chat.domain.services.notifications import messages_stored
from chat.domain.services.rooms import (
    conversation_get_or_create,
    conversation_people,
    room_seq_next,
)
from chat.models import (
    Membership,
    Message,
    MessageEdit,
    ModerationAction,
    Mute,
    Room,
    RoomBan,
)

User = AbstractBaseUser


@dataclass(frozen=True)
class SentMessage:
    message: Message
    # False when the clientId was seen before: the first message is returned and
    # nothing new is stored or broadcast.
    created: bool


def message_send(
    *,
    user: User,
    room_name: str,
    body: str,
    client_id: str | None = None,
    thread_id: int | None = None,
    also_to_room: bool = False,
    online: Collection[str] | None = None,
) -> SentMessage:
    """Store a message in a room the user is a member of, then broadcast it; with
    `thread_id`, a reply in that message's thread (chat.domain.services.threads),
    shown in the room itself too when `also_to_room`. Whom it mentions is
    recorded (chat.domain.services.mentions; `online`: who @here reaches)."""
    body = message_body_clean(body)
    client_id = client_id_clean(client_id)
    with transaction.atomic():
        if (resent := _message_resent(user, client_id)) is not None:
            return resent
        room, membership = room_for_member(user=user, name=room_name)
        refuse_if_muted(room, user, membership)
        recipients = mentions_resolve(
            room=room, author=user, membership=membership, body=body, online=online
        )
        if thread_id is None:
            return _message_store(
                room=room,
                author=user,
                body=body,
                client_id=client_id,
                recipients=recipients,
            )
        root = threads.thread_root_for_reply(room, thread_id)
        sent = _message_store(
            room=room,
            author=user,
            body=body,
            client_id=client_id,
            thread=root,
            also_to_room=also_to_room,
            recipients=recipients,
        )
        if sent.created:
            threads.thread_reply_added(root, sent.message)
    if sent.created:
        threads.thread_followers_add(root, sent.message)
    return sent


@dataclass(frozen=True)
class Draft:
    """A message for a room, waiting for its batch (chat.infra.writer)."""

    author: User
    room_id: int | None  # the room the socket joined; None: find it by name
    room_name: str
    body: str
    client_id: str | None
    thread_id: int | None = None  # a reply in this message's thread
    also_to_room: bool = False


def message_draft(
    *,
    user: User,
    room_id: int | None,
    room_name: str,
    body: str,
    client_id: str | None,
    thread_id: int | None = None,
    also_to_room: bool = False,
) -> Draft:
    """Check a message's text before it waits for a batch: bad text fails alone."""
    return Draft(
        user,
        room_id,
        room_name,
        message_body_clean(body),
        client_id_clean(client_id),
        thread_id,
        also_to_room,
    )


def messages_send_many(drafts: list[Draft]) -> list[SentMessage | ChatError]:
    """Store a batch of room messages, each as `message_send` would.

    On PostgreSQL one statement stores every draft for a known public or private
    room (never a conversation's, which goes to each member's sockets) whose
    author may post there (a member, not banned, not muted), with a clientId not
    seen before. The rest, and every draft on other databases, go through
    `message_send` one by one, which says why it refuses one, or finds the
    earlier message of a retry.
    """
    stored = _messages_store_many(drafts) if connection.vendor == "postgresql" else {}
    results: list[SentMessage | ChatError] = []
    for index, draft in enumerate(drafts):
        if (sent := stored.get(index)) is not None:
            results.append(sent)
            continue
        try:
            sent = message_send(
                user=draft.author,
                room_name=draft.room_name,
                body=draft.body,
                client_id=draft.client_id,
                thread_id=draft.thread_id,
                also_to_room=draft.also_to_room,
            )
        except ChatError as error:
            sent = error
        results.append(sent)
    return results


def _messages_store_many(drafts: list[Draft]) -> dict[int, SentMessage]:
    """Store the drafts that need no more than the rules checked in SQL, in one
    round trip; {index in drafts: SentMessage} for those stored."""
    # Inside a transaction (tests), a savepoint keeps it usable after an error.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard, connection.cursor() as cursor:
            cursor.execute(
                _STORE_MANY_SQL,
                {
                    "n": list(range(len(drafts))),
                    # A reply (its root to lock and update) or a message naming
                    # someone (its mentions to record) takes the one-by-one
                    # path: no room, so SQL stores nothing for it.
                    "room": [None if _one_by_one(d) else d.room_id for d in drafts],
                    "author": [d.author.pk for d in drafts],
                    "body": [d.body for d in drafts],
                    "html": [richtext.render(d.body) for d in drafts],
                    "client": [d.client_id for d in drafts],
                },
            )
            rows = cursor.fetchall()
    except DatabaseError:
        # A clientId raced in from another socket (the unique constraint), or
        # two batches locked the same rooms in opposite orders: nothing of this
        # statement was stored, and each draft takes the one-by-one path.
        return {}
    stored: dict[int, SentMessage] = {}
    rows_stored: list[Message] = []
    for index, message_id, seq, created_at, html, room_name, room_kind in rows:
        draft = drafts[index]
        message = Message(
            id=message_id,
            room=Room(id=draft.room_id, name=room_name, kind=room_kind),
            author=draft.author,
            body=draft.body,
            html=html,
            client_id=draft.client_id,
            seq=seq,
            changed_seq=seq,
            created_at=created_at,
        )
        _emit_new_message(message)
        stored[index] = SentMessage(message, created=True)
        rows_stored.append(message)
    if rows_stored:
        messages_stored(rows_stored)
    return stored


def _one_by_one(draft: Draft) -> bool:
    return draft.thread_id is not None or bool(mentions.names_in(draft.body))


# The rules of message_send for public and private rooms, in SQL: the author is a
# member, not banned, not muted, and the clientId is new. Direct and group
# conversations are left to the one-by-one path (their rooms are not locked, so
# their drafts are not stored here). Each room's seq goes up by its number of new
# messages (rooms locked in id order), and the messages take the seqs in between,
# in the order they came.
_STORE_MANY_SQL = f"""
WITH draft AS (
    SELECT * FROM unnest(
        %(n)s::int[], %(room)s::bigint[], %(author)s::bigint[], %(body)s::text[],
        %(html)s::text[], %(client)s::text[]
    ) AS d(n, room_id, author_id, body, html, client_id)
),
allowed AS (
    SELECT d.* FROM draft d
    JOIN {Membership._meta.db_table} m
        ON m.room_id = d.room_id AND m.user_id = d.author_id
    WHERE NOT EXISTS (
        SELECT 1 FROM {RoomBan._meta.db_table} b
        WHERE b.room_id = d.room_id AND b.user_id = d.author_id
        AND (b.expires_at IS NULL OR b.expires_at > now())
    ) AND NOT EXISTS (
        SELECT 1 FROM {Mute._meta.db_table} u
        WHERE u.room_id = d.room_id AND u.user_id = d.author_id
        AND u.expires_at > now()
    ) AND (d.client_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM {Message._meta.db_table} e
        WHERE e.author_id = d.author_id AND e.client_id = d.client_id
    ))
),
counted AS (
    SELECT room_id, count(*) AS k FROM allowed GROUP BY room_id
),
locked AS (
    SELECT r.id FROM {Room._meta.db_table} r
    WHERE r.id IN (SELECT room_id FROM counted)
    AND r.kind IN ('{Room.Kind.PUBLIC}', '{Room.Kind.PRIVATE}')
    ORDER BY r.id FOR UPDATE
),
bumped AS (
    UPDATE {Room._meta.db_table} r SET last_seq = r.last_seq + c.k
    FROM counted c, locked l
    WHERE r.id = c.room_id AND l.id = c.room_id
    RETURNING r.id, r.name, r.kind, r.last_seq - c.k AS base
),
numbered AS (
    SELECT a.*, b.name, b.kind,
        b.base + row_number() OVER (PARTITION BY a.room_id ORDER BY a.n) AS seq
    FROM allowed a JOIN bumped b ON b.id = a.room_id
),
inserted AS (
    INSERT INTO {Message._meta.db_table}
        (room_id, author_id, body, html, client_id, seq, changed_seq, created_at,
         also_to_room, reply_count, repliers, mentions)
    SELECT room_id, author_id, body, html, client_id, seq, seq, now(),
        false, 0, '[]'::jsonb, '[]'::jsonb
    FROM numbered ORDER BY n
    RETURNING id, room_id, seq, created_at, html
)
SELECT nb.n, i.id, i.seq, i.created_at, i.html, nb.name, nb.kind
FROM inserted i JOIN numbered nb ON nb.room_id = i.room_id AND nb.seq = i.seq
"""


def direct_message_send(
    *, user: User, to_username: str, body: str, client_id: str | None = None
) -> SentMessage:
    """Store a message in the direct room of `user` and `to_username`."""
    return conversation_message_send(
        user=user, to_usernames=[to_username], body=body, client_id=client_id
    )


def conversation_message_send(
    *,
    user: User,
    to_usernames: list[str],
    body: str,
    client_id: str | None = None,
    online: Collection[str] | None = None,
) -> SentMessage:
    """Store a message in the conversation of `user` with `to_usernames`: their
    direct room for one name, else the group room of exactly those people
    (rooms.conversation_get_or_create), then send it to every member's sockets."""
    body = message_body_clean(body)
    client_id = client_id_clean(client_id)
    others = conversation_people(user=user, usernames=to_usernames)
    with transaction.atomic():
        if (resent := _message_resent(user, client_id)) is not None:
            return resent
        room = conversation_get_or_create(user=user, others=others)
        membership = membership_sanctioned(user, room)
        if membership.banned:  # staff banned them from this conversation
            raise banned()
        refuse_if_muted(room, user, membership)
        recipients = mentions_resolve(
            room=room, author=user, membership=membership, body=body, online=online
        )
        return _message_store(
            room=room,
            author=user,
            body=body,
            client_id=client_id,
            recipients=recipients,
        )


def _message_resent(user: User, client_id: str | None) -> SentMessage | None:
    """A retry of a message already stored: broadcast it again, since the first
    broadcast may have been lost with the connection that made it. Sockets drop
    what they have already delivered (by seq)."""
    earlier = _message_by_client_id(user, client_id)
    if earlier is None:
        return None
    if earlier.changed_seq == earlier.seq:  # later changes were broadcast themselves
        _emit_new_message(earlier)
    return SentMessage(earlier, created=False)


def _message_by_client_id(user: User, client_id: str | None) -> Message | None:
    if client_id is None:
        return None
    return (
        Message.objects.select_related("room", "author")
        .filter(author=user, client_id=client_id)
        .first()
    )


def _message_store(
    *,
    room: Room,
    author: User,
    body: str,
    client_id: str | None,
    thread: Message | None = None,
    also_to_room: bool = False,
    recipients: Recipients = NOBODY,
) -> SentMessage:
    # Only a clientId can collide; then a savepoint keeps the transaction usable.
    guard = transaction.atomic() if client_id is not None else nullcontext()
    try:
        with guard:
            seq = room_seq_next(room)
            message = Message.objects.create(
                room=room,
                author=author,
                body=body,
                html=richtext.render(body),
                client_id=client_id,
                seq=seq,
                changed_seq=seq,
                thread=thread,
                also_to_room=also_to_room and thread is not None,
                mentions=recipients.stored,
            )
            mentions_store(message, recipients)
            messages_stored([message])
    except IntegrityError:
        # The same clientId raced in from another socket and won.
        earlier = _message_by_client_id(author, client_id)
        if earlier is None:
            raise
        return SentMessage(earlier, created=False)
    _emit_new_message(message)
    return SentMessage(message, created=True)


def _emit_new_message(message: Message) -> None:
    """Broadcast a new message on commit: to the room, or as a private message to
    every socket of every member of a conversation (each told whether it wrote
    it): with `to` in a direct room, with `members` in a group."""
    room, author = message.room, message.author
    if not room.is_conversation:
        events.emit_on_commit(
            [events.room_group(room.pk)],
            "receive_message",
            payloads.message_object(message),
        )
        return
    if room.is_direct:
        addressed = {"to": _direct_peer(room, author).get_username()}
    else:
        addressed = {"members": room_member_names(room)}
    for user_id in events.conversation_member_ids(room):
        events.emit_on_commit(
            [events.user_group(user_id)],
            "private_message",
            payloads.conversation_message_object(
                message, for_author=user_id == author.pk, **addressed
            ),
        )


def _direct_peer(room: Room, user: User) -> User:
    other_id = next(i for i in room.direct_user_ids if i != user.pk)
    return get_user_model().objects.get(pk=other_id)


def message_edit(
    *,
    user: User,
    message_id: int,
    body: str,
    online: Collection[str] | None = None,
) -> Message:
    """Replace a message's text, keeping the one it had (MessageEdit): its author
    (within CHAT_EDIT_WINDOW), a room moderator or staff only. The same text again
    (a retry) changes nothing. Its mentions are worked out again, as its author
    wrote it (`online`: who @here reaches)."""
    body = message_body_clean(body)
    with transaction.atomic():
        message = message_for_change(user, message_id)
        refuse_if_muted(message.room, user)
        refuse_if_past_edit_window(user, message)
        if body == message.body:
            return message  # a retry, or nothing changed: nothing to keep or send
        recipients = mentions_resolve(
            room=message.room,
            author=message.author,
            membership=membership_of(message.author, message.room),
            body=body,
            online=online,
        )
        now = timezone.now()
        MessageEdit.objects.create(
            message=message,
            body=message.body,
            html=message.html,
            written_at=message.edited_at or message.created_at,
            replaced_at=now,
            replaced_by=user,
        )
        message.body = body
        message.html = richtext.render(body)
        message.edited_at = now
        message.mentions = recipients.stored
        message.changed_seq = room_seq_next(message.room)
        message.save(
            update_fields=["body", "html", "edited_at", "mentions", "changed_seq"]
        )
        mentions_update(message, recipients)
        events.emit_on_commit(
            events.room_audience(message.room),
            "message_edited",
            {
                "room": message.room.name,
                "id": message.pk,
                "message": message.body,
                "html": message.html,
                "editedAt": payloads.iso(message.edited_at),
                "mentions": message.mentions,
                "seq": message.changed_seq,
            },
        )
    return message


def message_delete(*, user: User, message_id: int) -> Message:
    """Soft-delete a message (kept for audit): its author, a moderator or staff."""
    with transaction.atomic():
        message = message_for_change(user, message_id, allow_deleted=True)
        if message.is_deleted:
            return message
        root = threads.thread_root_locked(message)
        message.deleted_at = timezone.now()
        message.deleted_by = user
        message.pinned_at = None  # a deleted message leaves the room's pins
        message.changed_seq = room_seq_next(message.room)
        message.save(
            update_fields=["deleted_at", "deleted_by", "pinned_at", "changed_seq"]
        )
        if message.author_id != user.pk:
            ModerationAction.objects.create(
                actor=user,
                kind=ModerationAction.Kind.DELETE_MESSAGE,
                room=message.room,
                target=message.author,
                message=message,
            )
        events.emit_on_commit(
            events.room_audience(message.room),
            "message_deleted",
            {"room": message.room.name, "id": message.pk, "seq": message.changed_seq},
        )
        if root is not None:
            threads.thread_reply_removed(root, message.room)
    return message
