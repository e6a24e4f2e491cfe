"""Channel-layer group names and the one way to broadcast a frame.

Group names are built from ids only, never from user text (channel layers accept
ASCII letters, digits, '.', '_' and '-', under 100 characters).

Services call `emit_on_commit`: the frame goes out only once the transaction that
made the change commits, so no client sees a change that was rolled back. A caller
on the event loop (the consumer) runs a service under `collecting` and awaits
`send` itself; any other caller (admin, views, commands) gets the frames sent
synchronously at commit.
"""

import asyncio
import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from chat.domain import payloads
from chat.models import Membership

PRESENCE_GROUP = "presence"
# The channel-layer message types; the consumer's handlers are `chat_event` and
# `chat_control`.
EVENT_TYPE = "chat.event"
CONTROL_TYPE = "chat.control"


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


@dataclass(frozen=True)
class Broadcast:
    group: str
    event: str
    data: dict[str, Any]
    # Every socket of this user skips the frame (e.g. their own typing).
    skip_user_id: int | None = None

    def frame(self) -> dict[str, Any]:
        return payloads.event_frame(self.event, self.data)

    def layer_message(self) -> dict[str, Any]:
        # Encoded once here rather than once per receiving socket.
        return {
            "type": EVENT_TYPE,
            "text": payloads.encode(self.frame()),
            "room": self.data.get("room"),
            "seq": self.data.get("seq"),
            "skip_user": self.skip_user_id,
        }


@dataclass(frozen=True)
class Control:
    """An order to sockets rather than a frame for clients: the consumer acts on it
    (leave a room, close)."""

    group: str
    action: str
    data: dict[str, Any]

    def layer_message(self) -> dict[str, Any]:
        return {"type": CONTROL_TYPE, "action": self.action, **self.data}


def session_group(session_key: str) -> str:
    """The sockets opened with one login session (the key itself stays secret)."""
    return f"session.{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"


_outbox = threading.local()


def emit_on_commit(
    groups: Iterable[str],
    event: str,
    data: dict[str, Any],
    *,
    skip_user_id: int | None = None,
) -> None:
    """Broadcast `event` to `groups` once the current transaction commits."""
    for group in groups:
        broadcast = Broadcast(group, event, data, skip_user_id)
        transaction.on_commit(lambda b=broadcast: _dispatch(b))


# Why a user's sessions end (the transports close them with their own codes):
# the account may no longer chat (deactivated, banned from the site), or the
# login session ended (logged out, a new password).
END_REFUSED = "refused"
END_LOGGED_OUT = "logged_out"


def user_sessions_end(user_id: int, why: str) -> None:
    """End every live session (socket, long-poll) of the user, on every worker,
    once this commits."""
    control_on_commit([user_group(user_id)], "close", why=why)


def control_on_commit(groups: Iterable[str], action: str, **data: Any) -> None:
    """Order the sockets in `groups` to `action` once the transaction commits."""
    for group in groups:
        control = Control(group, action, data)
        transaction.on_commit(lambda c=control: _dispatch(c))


def _dispatch(broadcast: Broadcast | Control) -> None:
    collected = getattr(_outbox, "items", None)
    if collected is not None:
        collected.append(broadcast)
    else:
        async_to_sync(send)([broadcast])


P = ParamSpec("P")
R = TypeVar("R")


def collecting(
    fn: Callable[P, R],
) -> Callable[P, tuple[R, list[Broadcast | Control]]]:
    """Run `fn` and return its result with the broadcasts it committed, unsent."""

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> tuple[R, list[Broadcast | Control]]:
        _outbox.items = []
        try:
            result = fn(*args, **kwargs)
            return result, _outbox.items
        finally:
            _outbox.items = None

    return run


async def send(broadcasts: Iterable[Broadcast | Control]) -> None:
    """Publish in order; all at once, so the layer can pipeline them."""
    layer = get_channel_layer()
    sends = [layer.group_send(b.group, b.layer_message()) for b in broadcasts]
    if len(sends) == 1:
        await sends[0]
    elif sends:
        await asyncio.gather(*sends)


async def broadcast(
    groups: Iterable[str],
    event: str,
    data: dict[str, Any],
    *,
    skip_user_id: int | None = None,
) -> None:
    """Send a frame that records nothing (typing, presence) straight away."""
    await send(Broadcast(g, event, data, skip_user_id) for g in groups)


@dataclass(frozen=True)
class RoomRef:
    """A room as the live path keeps it while a client is in it: no query needed
    to address its events."""

    id: int
    name: str
    # A direct or group conversation: heard through its members' user groups,
    # with no room group and no room presence of its own.
    is_conversation: bool
    audience: list[str]  # the groups that hear this room's events


def room_ref(room: Any) -> RoomRef:
    return RoomRef(room.pk, room.name, room.is_conversation, room_audience(room))


def room_audience(room: Any) -> list[str]:
    """The groups that hear a room's changes: its group, or each member's of a
    direct or group conversation.

    Conversation changes go to the users' groups so that every socket of every
    member gets them whether or not it has joined the conversation. A group's
    members are read from its memberships (one query): they change as people
    leave, while its name stays that of the people it began with.
    """
    if room.is_conversation:
        return [user_group(user_id) for user_id in conversation_member_ids(room)]
    return [room_group(room.id)]


def conversation_member_ids(room: Any) -> list[int]:
    """The members' user ids of a direct or group conversation ([] for a room)."""
    if room.is_direct:
        return list(room.direct_user_ids)
    if room.is_group:
        return sorted(
            Membership.objects.filter(room_id=room.pk).values_list("user_id", flat=True)
        )
    return []
