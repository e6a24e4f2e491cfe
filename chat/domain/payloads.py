"""One marshaller per object: the shape a message (and what else clients are
sent) has in history, resync, live events and, later, the API. Times are UTC
ISO strings with milliseconds, as JavaScript's Date.toISOString() writes them."""

import json
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.utils import timezone

from chat.domain import richtext


def now() -> str:
    return iso(timezone.now())


def iso(moment: datetime | None) -> str | None:
    """UTC, millisecond precision, as JavaScript's Date.toISOString() writes it."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_object(
    message: Any,
    room_name: str | None = None,
    reactions: list[dict[str, Any]] | None = None,
    *,
    saved: bool = False,
) -> dict[str, Any]:
    """A stored message (`author` loaded; `room` too unless `room_name` is given),
    with its `reactions` summary (chat.domain.selectors.reactions; none for a new
    message) and whether the receiving user `saved` it.

    `seq` is the room sequence number of the message's latest change, so a client
    that keeps the highest seq it has seen can resync with join_room {after}.
    `html` is the text rendered (chat.domain.richtext): sanitized, for clients
    to show as it is. A deleted message keeps its place but loses its text,
    html and reactions.

    A reply carries `threadId` (its root) and `alsoToRoom`; a message that has
    had replies, its thread_summary.
    """
    deleted = message.deleted_at is not None
    shown = {
        "id": message.id,
        "room": room_name if room_name is not None else message.room.name,
        "seq": message.changed_seq,
        "username": message.author.get_username(),
        "message": "" if deleted else message.body,
        # Rendered when written; a row from before rendering existed, when read.
        "html": "" if deleted else message.html or richtext.render(message.body),
        "time": iso(message.created_at),
        "clientId": message.client_id,
        "editedAt": iso(message.edited_at),
        "deleted": deleted,
        "reactions": [] if deleted or reactions is None else reactions,
        "pinned": not deleted and message.pinned_at is not None,
        "saved": saved,
    }
    # Thread fields only where they say something: a plain message's frame,
    # the one every fan-out carries, stays as it was.
    if message.thread_id is not None:
        shown["threadId"] = message.thread_id
        shown["alsoToRoom"] = message.also_to_room
    if message.last_reply_id is not None:
        shown.update(thread_summary(message))
    if message.mentions and not deleted:
        shown["mentions"] = message.mentions
    return shown


# How much of a message's text a `mentioned` event (and a notification) carries.
MENTION_TEXT_MAX = 300


def mention_object(message: Any, kind: str) -> dict[str, Any]:
    """A message (`room` and `author` loaded) mentioning the receiving user, as
    the `mentioned` event tells them: enough to badge, notify and open it."""
    shown = {
        "room": message.room.name,
        "id": message.pk,
        "username": message.author.get_username(),
        "message": message.body[:MENTION_TEXT_MAX],
        "kind": kind,
        "time": iso(message.created_at),
    }
    if message.thread_id is not None:
        shown["threadId"] = message.thread_id
    return shown


def thread_summary(root: Any) -> dict[str, Any]:
    """A thread's root's summary: its replies not deleted, the latest one, and
    the latest few distinct repliers (most recent first)."""
    return {
        "replyCount": root.reply_count,
        "lastReplyAt": iso(root.last_reply_at),
        "lastReplyId": root.last_reply_id,
        "repliers": root.repliers,
    }


def edit_object(edit: Any) -> dict[str, Any]:
    """A text a message had before an edit (a MessageEdit, `replaced_by` loaded):
    when it was written, and when and by whom it was replaced (None: that account
    is gone)."""
    replaced_by = edit.replaced_by
    return {
        "message": edit.body,
        "html": edit.html or richtext.render(edit.body),
        "time": iso(edit.written_at),
        "replacedAt": iso(edit.replaced_at),
        "replacedBy": replaced_by.get_username() if replaced_by else None,
    }


def conversation_message_object(
    message: Any,
    *,
    for_author: bool,
    to: str | None = None,
    members: list[str] | None = None,
) -> dict[str, Any]:
    """A direct or group message as its members' sockets get it live: the
    message, who it is from (`isSelf`: the receiving user wrote it), and either
    whom it is `to` (a direct room's other user) or a group's `members` (every
    username, sorted)."""
    addressed = {"to": to} if members is None else {"members": members}
    return {
        **message_object(message),
        "from": message.author.get_username(),
        **addressed,
        "isSelf": for_author,
    }


def settings_object(user_settings: Any) -> dict[str, Any]:
    """A user's UserSettings as their clients get them (settings_changed, the app
    page's "chat-settings" data): the email delay in effect (the site's
    CHAT_EMAIL_DELAY where the user chose none), and do-not-disturb's end only
    while it is ahead."""
    dnd_until = user_settings.dnd_until
    if dnd_until is not None and dnd_until <= timezone.now():
        dnd_until = None
    delay = user_settings.email_delay
    return {
        "desktopNotifications": user_settings.desktop_notifications,
        "emailNotifications": user_settings.email_notifications,
        "emailDelay": settings.CHAT_EMAIL_DELAY if delay is None else delay,
        "dndUntil": iso(dnd_until),
        "readReceipts": user_settings.send_read_receipts,
    }


def event_frame(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """A server event as every transport sends it."""
    return {"event": event, "data": data}


def encode(frame: dict[str, Any]) -> str:
    """A frame's JSON text: encoded once per broadcast, however many receive it."""
    try:
        # JSON equal to the json.dumps below, several times faster: every
        # broadcast and ack is encoded here.
        return orjson.dumps(frame).decode()
    except TypeError:
        # What orjson refuses (a lone surrogate, a key that is not a string).
        return json.dumps(
            frame, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
