"""Who a new message notifies, and how: the rules, decided per recipient (as
Zulip does) from why they would hear of it, their preferences for its room and
their own, and whether they are at the chat right now.

Pure functions over plain values: chat.jobs.notify gathers the values (from the
database and the presence store) after the message commits, off the socket path.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chat.models import Notify


class Reason(StrEnum):
    """Why a recipient would hear of a message, the strongest first."""

    DIRECT = "direct"  # a direct or group conversation they are in
    MENTION = "mention"  # it mentions them
    ALL = "all"  # their level for the room is "all messages"


@dataclass(frozen=True)
class Recipient:
    user_id: int
    username: str
    reason: Reason
    notify: str  # Membership.notify of the message's room
    muted: bool  # Membership.muted
    dnd_until: datetime | None
    email_on: bool
    has_email: bool


@dataclass(frozen=True)
class Decision:
    push: bool
    email: bool


NOTHING = Decision(push=False, email=False)


def effective_level(notify: str, *, is_conversation: bool) -> str:
    """A stored level with DEFAULT resolved: all in a conversation, mentions in a
    room."""
    if notify != Notify.DEFAULT:
        return notify
    return Notify.ALL if is_conversation else Notify.MENTIONS


def wanted(reason: Reason, notify: str, muted: bool, *, is_conversation: bool) -> bool:
    """Whether the recipient's preferences for the room let `reason` notify them:
    "nothing" lets nothing through, a muted room or "mentions" only mentions."""
    level = effective_level(notify, is_conversation=is_conversation)
    if level == Notify.NOTHING:
        return False
    if reason == Reason.MENTION:
        return True
    # Level ALL: a direct message, or any message of the room, unless muted.
    return not muted and level == Notify.ALL


def decide(
    recipient: Recipient, *, is_conversation: bool, active: bool, now: datetime
) -> Decision:
    """How to reach one recipient who is not at the chat (`active`: a session of
    theirs had input lately, and its tab notifies them itself): a push to their
    devices unless they do not want to be disturbed, and, for a direct message
    or a mention, an email later if it is still unread then."""
    if active or not wanted(
        recipient.reason,
        recipient.notify,
        recipient.muted,
        is_conversation=is_conversation,
    ):
        return NOTHING
    disturb = recipient.dnd_until is None or recipient.dnd_until <= now
    email = (
        recipient.reason in (Reason.DIRECT, Reason.MENTION)
        and recipient.email_on
        and recipient.has_email
    )
    return Decision(push=disturb, email=email)
