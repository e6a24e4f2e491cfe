"""Protocol v1's server frames, each shape written once: every server event, the
ack frame and each client event's reply in it. docs/PROTOCOL.md lists the same
(tests/contract checks both ways), and the contract test checks every frame the
suite sends against it (tests/contract/plugin.py).

The shapes are TypedDicts, read by `validate`, a small checker of JSON values:
the protocol's types are few (int, number, str, bool, null, lists, objects, a few
fixed strings and time strings), and a hand-written checker says precisely where
a frame went wrong without a runtime dependency for what only tests run.
"""

import re
import types
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)


@dataclass(frozen=True)
class Pattern:
    """A string's form (for Annotated[str, Pattern(...)])."""

    name: str
    regex: str


# UTC with milliseconds, as chat.domain.payloads.iso and Date.toISOString() write it.
Time = Annotated[str, Pattern("time", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")]
Number = int | float
AckId = str | int | float
RoomKind = Literal["public", "private", "direct", "group"]
# What of a room notifies a member: "default" is "all" in a direct or group
# conversation and "mentions" in a room.
NotifyLevel = Literal["default", "all", "mentions", "nothing"]
MentionKind = Literal["user", "room", "here"]
Role = Literal["member", "moderator", "owner"]
PresenceStatus = Literal["active", "idle", "dnd", "offline"]
# The keys of chat.domain.errors.ChatError.HTTP_STATUS (a test says so).
ErrorCode = Literal[
    "bad_frame",
    "unknown_event",
    "invalid",
    "too_long",
    "not_found",
    "forbidden",
    "rate_limited",
    "server_error",
    "unavailable",
]


# --- Objects inside events ----------------------------------------------------------


class ReactionSummary(TypedDict):
    """One emoji on a message (chat.domain.selectors.reactions)."""

    emoji: str
    count: int
    users: list[str]  # the first 10 to react, oldest first
    me: bool  # the receiving user reacted with it


class Message(TypedDict):
    """chat.domain.payloads.message_object: history, resync and live events."""

    id: int
    room: str
    seq: int  # of the message's latest change
    username: str
    message: str  # "" once deleted
    html: str  # `message` rendered: sanitized HTML ("" once deleted)
    time: Time
    clientId: str | None
    editedAt: Time | None
    deleted: bool
    reactions: list[ReactionSummary]  # [] once deleted
    pinned: bool
    saved: bool  # the receiving user saved it
    # A reply: its thread's root, and whether the room itself shows it too.
    threadId: NotRequired[int]
    alsoToRoom: NotRequired[bool]
    # A message that has had replies: its thread's summary (ThreadSummary).
    replyCount: NotRequired[int]
    lastReplyAt: NotRequired[Time | None]
    lastReplyId: NotRequired[int | None]
    repliers: NotRequired[list[str]]
    # Whom it mentions: members named with @username, then "@room" or "@here"
    # if it used one (chat.domain.mentions). Only when it mentions someone.
    mentions: NotRequired[list[str]]


class ThreadSummary(TypedDict):
    """chat.domain.payloads.thread_summary: a thread's root's replies."""

    replyCount: int  # replies not deleted
    lastReplyAt: Time | None  # None: no reply left
    lastReplyId: int | None
    repliers: list[str]  # the latest 3 distinct repliers, most recent first


# "to": a direct room's other user (direct messages only); "members": a group's
# members, sorted (group messages only). One of the two is always there.
_Direct = TypedDict(
    "_Direct",
    {
        "from": str,
        "to": NotRequired[str],
        "members": NotRequired[list[str]],
        "isSelf": bool,
    },
)


class DirectMessage(Message, _Direct):
    """chat.domain.payloads.conversation_message_object: a direct or group
    message, live."""


# "with": a direct room's other member; None once that account is deleted (its
# membership goes with it). "members": a group's members' usernames, sorted.
_RoomWith = TypedDict(
    "_RoomWith", {"with": NotRequired[str | None], "members": NotRequired[list[str]]}
)


class _Room(TypedDict):
    room: str
    kind: RoomKind
    topic: str
    role: Role
    seq: int
    unread: int
    lastMessageId: int | None  # None: no message that is not deleted
    lastReadId: int | None  # None: never marked
    mentions: int  # unread messages that mention the user
    notify: NotifyLevel
    muted: bool  # no bold, no unread badge: only mentions count


class RoomEntry(_Room, _RoomWith):
    """One of list_rooms' rooms ("with" only for a direct room, "members" only for
    a group)."""


# --- Server events (the `data` of {"event": NAME, "data": ...}) -----------------------


class MessageEdited(TypedDict):
    room: str
    id: int
    message: str
    html: str
    editedAt: Time
    mentions: list[str]  # as Message.mentions, [] for none
    seq: int


class MessageDeleted(TypedDict):
    room: str
    id: int
    seq: int


class _Reaction(TypedDict):
    room: str
    id: int
    emoji: str
    count: int  # 0: nobody has it any more
    users: list[str]  # the first 10 to react, oldest first
    seq: int


class ReactionUpdated(_Reaction):
    by: str  # who reacted (or took theirs off)
    on: bool


class MessagePinned(TypedDict):
    room: str
    id: int
    pinned: bool
    by: str
    seq: int


class MessageSaved(TypedDict):
    room: str
    id: int
    saved: bool


class RoomAdded(TypedDict):
    room: str
    kind: RoomKind
    topic: str
    by: str | None  # who added the user; None: staff, or the site (default rooms)


class RoomLeft(TypedDict):
    room: str


class RoomRead(TypedDict):
    room: str
    lastReadId: int | None
    unread: int
    mentions: int  # unread messages that mention the user


class Mentioned(TypedDict):
    """chat.domain.payloads.mention_object: to each user a new message mentions
    (or an edit newly does), on all their sockets."""

    room: str
    id: int  # the message
    username: str  # its author
    message: str  # its text, at most 300 characters
    kind: MentionKind
    time: Time
    threadId: NotRequired[int]  # a reply: its thread's root


class MentionEntry(Message):
    """One of list_mentions' messages."""

    kind: MentionKind
    read: bool


class MemberMoved(TypedDict):
    """user_joined and user_left."""

    room: str
    username: str
    time: Time


class UserTyping(TypedDict):
    room: str
    username: str
    isTyping: bool
    threadId: NotRequired[int]  # typing in that thread's composer


class ThreadUpdated(ThreadSummary):
    room: str
    id: int  # the root
    seq: int


class ThreadRead(TypedDict):
    """thread_read: how far the user has read a thread (on any of their devices),
    and what is unread after that."""

    room: str
    id: int  # the root
    lastReadId: int  # the latest reply read (0: none)
    unread: int
    lastReplyId: int | None


class ThreadFollowed(ThreadRead):
    following: bool


class RoomUsers(TypedDict):
    room: str
    users: list[str]


class GroupUpdated(TypedDict):
    room: str
    members: list[str]  # sorted


class PresenceUpdate(TypedDict):
    online: list[str]  # every online user, idle ones included
    idle: list[str]  # online with no session in use
    dnd: list[str]  # online, in do-not-disturb


class ReadReceipt(TypedDict):
    """A member of a direct or group conversation read up to `messageId`."""

    room: str
    username: str
    messageId: int


class Kicked(TypedDict):
    room: str
    reason: str
    by: str | None  # None: staff acted


class Muted(TypedDict):
    room: str
    until: Time
    reason: str
    by: str | None  # None: staff acted


class Unmuted(TypedDict):
    room: str


class RoomNotify(TypedDict):
    """room_notify: what a room notifies the user of, and whether it is muted."""

    room: str
    notify: NotifyLevel
    muted: bool


class SettingsChanged(TypedDict):
    """chat.domain.payloads.settings_object: the user's own preferences."""

    desktopNotifications: bool
    emailNotifications: bool
    emailDelay: int  # minutes: the user's, or the site's where they chose none
    dndUntil: Time | None  # do not disturb until then; None: off
    readReceipts: bool


class Error(TypedDict):
    code: ErrorCode
    msg: str
    retryAfter: NotRequired[Number]  # seconds, for rate_limited and unavailable


EVENTS: dict[str, type] = {
    "receive_message": Message,
    "private_message": DirectMessage,
    "message_edited": MessageEdited,
    "message_deleted": MessageDeleted,
    "reaction_updated": ReactionUpdated,
    "message_pinned": MessagePinned,
    "message_saved": MessageSaved,
    "thread_updated": ThreadUpdated,
    "thread_followed": ThreadFollowed,
    "thread_read": ThreadRead,
    "room_added": RoomAdded,
    "room_left": RoomLeft,
    "room_read": RoomRead,
    "mentioned": Mentioned,
    "user_joined": MemberMoved,
    "user_left": MemberMoved,
    "user_typing": UserTyping,
    "room_users": RoomUsers,
    "group_updated": GroupUpdated,
    "presence_update": PresenceUpdate,
    "read_receipt": ReadReceipt,
    "kicked": Kicked,
    "muted": Muted,
    "unmuted": Unmuted,
    "room_notify": RoomNotify,
    "settings_changed": SettingsChanged,
    "error": Error,
}

# --- Ack replies (the `data` of {"event": "ack", "ack": ID, "data": ...}) -----------


class Ok(TypedDict):
    status: Literal["ok"]


class _Failed(TypedDict):
    status: Literal["error"]


class ErrorReply(_Failed, Error):
    """The reply to any client frame that failed (with an ack)."""


class JoinRoomReply(Ok):
    room: str
    kind: RoomKind
    topic: str
    history: list[Message]
    hasMore: bool
    users: list[str]
    seq: int
    pins: list[int]  # pinned messages' ids, the latest pinned first
    # A direct or group conversation's: its other members who send read
    # receipts -> the latest message each has read.
    receipts: NotRequired[dict[str, int]]


class LeaveRoomReply(Ok):
    """leave_room and leave_conversation."""

    room: str


class Delivered(TypedDict):
    """send_message and private_message."""

    status: Literal["delivered"]
    messageId: int
    room: str
    seq: int
    time: Time
    duplicate: bool
    threadId: NotRequired[int]  # a reply: its thread's root


class ChangeReply(Ok):
    """edit_message and delete_message."""

    id: int
    seq: int


class ReactReply(Ok, _Reaction):
    """react: the emoji's state on the message afterwards."""


class Edit(TypedDict):
    """chat.domain.payloads.edit_object: a text a message had before an edit."""

    message: str
    html: str
    time: Time  # when this text was written
    replacedAt: Time
    replacedBy: str | None  # None: that account is gone


class EditsReply(Ok):
    id: int
    edits: list[Edit]  # oldest first


class PinReply(Ok):
    id: int
    pinned: bool
    seq: int


class PinsReply(Ok):
    room: str
    messages: list[Message]  # the latest pinned first


class SaveReply(Ok, MessageSaved):
    """save_message."""


class SavedReply(Ok):
    messages: list[Message]  # the latest saved first
    next: int | None  # `before` for the next page; None: no more


class ThreadReply(Ok):
    """get_thread: a thread's root and a page of its replies."""

    room: str
    root: Message
    messages: list[Message]  # oldest first
    hasMore: bool
    following: bool
    lastReadId: int  # the latest reply the user read (0: none)


class FollowedThread(TypedDict):
    room: str
    root: Message
    unread: int
    lastReadId: int
    following: bool  # always true here


class ThreadsReply(Ok):
    threads: list[FollowedThread]  # the latest replied to first


class FollowReply(Ok, ThreadFollowed):
    """follow_thread: the user's state in the thread afterwards."""


class ThreadReadReply(Ok, ThreadRead):
    """mark_thread_read."""


class HistoryReply(Ok):
    messages: list[Message]
    hasMore: bool


class MarkReadReply(Ok):
    unread: int


class MentionsReply(Ok):
    mentions: list[MentionEntry]  # newest first
    hasMore: bool


class ListRoomsReply(Ok):
    rooms: list[RoomEntry]


class Member(TypedDict):
    """One of list_members' members (chat.domain.selectors.rooms.room_members)."""

    username: str
    role: Role
    online: bool  # online on the site
    status: PresenceStatus
    lastSeen: Time | None  # an offline member's last session's end, if known
    muted: NotRequired[bool]  # only to those who may moderate the room


class ListMembersReply(Ok):
    room: str
    role: Role  # the asking user's
    canModerate: bool  # the asking user may kick and mute here
    total: int  # members in all; `members` holds the first 500
    members: list[Member]  # online first, then by name


class MuteReply(Ok):
    until: Time


class RoomNotifyReply(Ok, RoomNotify):
    """set_room_notify: the room's state afterwards."""


class ReadReceiptsReply(Ok):
    """get_read_receipts."""

    room: str
    messageId: int
    readBy: list[str]  # sorted; the first 500 by name
    total: int


# Every client event of chat.realtime.dispatch.HANDLERS -> its reply when it
# succeeds (a test says they are the same events).
ACKS: dict[str, type] = {
    "join_room": JoinRoomReply,
    "leave_room": LeaveRoomReply,
    "send_message": Delivered,
    "private_message": Delivered,
    "leave_conversation": LeaveRoomReply,
    "edit_message": ChangeReply,
    "delete_message": ChangeReply,
    "react": ReactReply,
    "pin_message": PinReply,
    "get_pins": PinsReply,
    "save_message": SaveReply,
    "list_saved": SavedReply,
    "get_thread": ThreadReply,
    "follow_thread": FollowReply,
    "list_threads": ThreadsReply,
    "mark_thread_read": ThreadReadReply,
    "typing": Ok,
    "get_history": HistoryReply,
    "get_edits": EditsReply,
    "mark_read": MarkReadReply,
    "list_mentions": MentionsReply,
    "list_rooms": ListRoomsReply,
    "list_members": ListMembersReply,
    "kick_user": Ok,
    "mute_user": MuteReply,
    "set_room_notify": RoomNotifyReply,
    "get_read_receipts": ReadReceiptsReply,
    "set_presence": Ok,
    "ping": Ok,
}


# --- Checking a frame ---------------------------------------------------------------


class FrameInvalid(ValueError):
    """A frame that is not in the catalogue; the message says where and why."""


def validate(frame: Any, *, reply_to: str | None = None) -> str:
    """Check a server frame against the catalogue, or raise FrameInvalid; return
    the catalogue entry it matched ("ack(join_room)" for a reply, "ack(error)").

    `reply_to` is the client event an ack answers (a frame does not say): its
    reply is checked against that event's. Without it, any reply will do, and
    what is returned is just "ack" (several replies have the same shape).
    """
    if not isinstance(frame, dict):
        raise FrameInvalid(f"a frame is an object, not {_kind(frame)}")
    event = frame.get("event")
    if event == "ack":
        _keys(frame, {"event", "ack", "data"}, set(), "frame")
        _check(frame["ack"], AckId, "ack")
        replied = _check_reply(frame["data"], reply_to)
        return f"ack({replied})" if replied else "ack"
    if not isinstance(event, str) or event not in EVENTS:
        raise FrameInvalid(f"unknown event {event!r}")
    _keys(frame, {"event", "data"}, set(), "frame")
    _check(frame["data"], EVENTS[event], f"{event}: data")
    return event


def _check_reply(data: Any, reply_to: str | None) -> str | None:
    status = data.get("status") if isinstance(data, dict) else None
    if status == "error":
        _check(data, ErrorReply, "ack: data")
        return "error"
    if reply_to is not None:
        if reply_to not in ACKS:
            raise FrameInvalid(f"ack: {reply_to!r} is answered only with an error")
        _check(data, ACKS[reply_to], f"ack({reply_to}): data")
        return reply_to
    failures = []
    for event, shape in ACKS.items():
        try:
            _check(data, shape, f"ack({event}): data")
        except FrameInvalid as failure:
            failures.append(str(failure))
        else:
            return None
    raise FrameInvalid("ack: data is no reply: " + "; ".join(failures))


def _check(value: Any, shape: Any, path: str) -> None:
    origin = get_origin(shape)
    if shape is Any:
        return
    if origin is Annotated:
        base, *marks = get_args(shape)
        _check(value, base, path)
        for mark in marks:
            if isinstance(mark, Pattern) and not re.fullmatch(mark.regex, value):
                raise FrameInvalid(f"{path}: {value!r} is not a {mark.name}")
        return
    if origin in (Union, types.UnionType):
        if not any(_matches(value, option) for option in get_args(shape)):
            # The first failure that is not one of type says most.
            for option in get_args(shape):
                if _matches_type(value, option):
                    _check(value, option, path)
            raise FrameInvalid(f"{path}: {_kind(value)}, not {describe(shape)}")
        return
    if origin is Literal:
        if not any(_same(value, v) for v in get_args(shape)):
            raise FrameInvalid(f"{path}: {value!r}, not {describe(shape)}")
        return
    if origin is list:
        if not isinstance(value, list):
            raise FrameInvalid(f"{path}: {_kind(value)}, not a list")
        (item,) = get_args(shape)
        for i, element in enumerate(value):
            _check(element, item, f"{path}[{i}]")
        return
    if origin is dict:  # a map: JSON's keys are strings, its values of one type
        if not isinstance(value, dict):
            raise FrameInvalid(f"{path}: {_kind(value)}, not an object")
        _, item = get_args(shape)
        for key, element in value.items():
            _check(element, item, f"{path}[{key!r}]")
        return
    if is_typeddict(shape):
        if not isinstance(value, dict):
            raise FrameInvalid(f"{path}: {_kind(value)}, not an object")
        _keys(value, shape.__required_keys__, shape.__optional_keys__, path)
        hints = get_type_hints(shape, include_extras=True)
        for key, item in value.items():
            _check(item, _unwrap(hints[key]), f"{path}.{key}")
        return
    if not _matches_type(value, shape):
        raise FrameInvalid(f"{path}: {_kind(value)}, not {describe(shape)}")


def _same(value: Any, fixed: Any) -> bool:
    """`value` is the literal `fixed` (a str enum member is its string; True is
    not 1)."""
    same_kind = isinstance(value, type(fixed)) and isinstance(value, bool) == (
        isinstance(fixed, bool)
    )
    return same_kind and value == fixed


def _matches(value: Any, shape: Any) -> bool:
    try:
        _check(value, shape, "")
    except FrameInvalid:
        return False
    return True


def _matches_type(value: Any, shape: Any) -> bool:
    """Whether `value` is of `shape`'s JSON type, not looking inside."""
    origin = get_origin(shape) or shape
    if origin is Annotated:
        return _matches_type(value, get_args(shape)[0])
    if origin is Literal:
        return any(isinstance(value, type(v)) for v in get_args(shape))
    if is_typeddict(origin):
        return isinstance(value, dict)
    if shape is type(None) or shape is None:
        return value is None
    if isinstance(value, bool):  # JSON's true is no number
        return origin is bool
    if origin is float:
        return isinstance(value, int | float)
    return isinstance(origin, type) and isinstance(value, origin)


def _keys(value: dict, required: Any, optional: Any, path: str) -> None:
    if missing := sorted(set(required) - value.keys()):
        raise FrameInvalid(f"{path}: missing {', '.join(missing)}")
    if unknown := sorted(value.keys() - set(required) - set(optional), key=str):
        raise FrameInvalid(f"{path}: unknown {', '.join(map(str, unknown))}")


def _unwrap(shape: Any) -> Any:
    """NotRequired[X] -> X (whether a key must be there is the TypedDict's)."""
    if get_origin(shape) is NotRequired:
        return get_args(shape)[0]
    return shape


def _kind(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


# --- The catalogue as docs/PROTOCOL.md shows it ---------------------------------------

_NAMES = {int: "int", float: "number", str: "str", bool: "bool", type(None): "null"}


def describe(shape: Any) -> str:
    """A type as docs/PROTOCOL.md writes it: int, number, str, bool, null, time,
    "ok", list[...], a or b, an object's name, error code (its table): no `|`,
    which a Markdown table would take for a column."""
    if shape == ErrorCode:
        return "error code"
    origin = get_origin(shape)
    if origin is Annotated:
        pattern = next(m for m in get_args(shape)[1:] if isinstance(m, Pattern))
        return pattern.name
    if origin in (Union, types.UnionType):
        options = get_args(shape)
        if set(options) == {int, float}:
            return "number"
        return " or ".join(
            "number" if o is float and int in options else describe(o)
            for o in options
            if not (o is int and float in options)
        )
    if origin is Literal:
        return " or ".join(f'"{v}"' for v in get_args(shape))
    if origin is list:
        return f"list[{describe(get_args(shape)[0])}]"
    if origin is dict:
        return f"map[{describe(get_args(shape)[1])}]"
    if is_typeddict(shape):
        return shape.__name__
    return _NAMES[shape]


def fields(shape: type) -> str:
    """An object's keys and types as docs/PROTOCOL.md lists them: `key: type`,
    `key?: type` for a key that may be missing."""
    hints = get_type_hints(shape, include_extras=True)
    optional = shape.__optional_keys__
    return ", ".join(
        f"`{key}{'?' if key in optional else ''}: {describe(_unwrap(kind))}`"
        for key, kind in hints.items()
    )


def entries() -> list[str]:
    """Every entry of the catalogue, as `validate` names what it matched."""
    return [*EVENTS, *(f"ack({e})" for e in ACKS), "ack(error)"]
